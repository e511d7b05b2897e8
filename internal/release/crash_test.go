package release_test

// The fault battery's crash axis (issue 12): the process dies at every
// step of a delivery — before and after each call to the identity
// provider, the mailer and the store — and the batch comes again, the way
// Lambda retries a function that died: at once, after a few seconds, or
// after its backoff, each time in a fresh invocation; or, in local mode,
// the process restarts and takes over its predecessor's claims.
//
// A crash is not an error. The dying delivery does nothing more: it does
// not give its claim up, reports nothing, and no later call of it reaches
// anything (the rig cancels its context at the step and fails its later
// calls without effect; see kill). That is deterministic — the delivery
// runs on the test's goroutine, and what it does after the step is thrown
// away — where abandoning a goroutine mid-call would leave it racing the
// retry. The claim it held stays in progress until it runs out: the dying
// invocation's remaining time plus the margin (DESIGN.md §10).
//
// Every case must end as a run without the crash: one login per user, the
// last email's password signing in, nobody in releasing, no claim in
// progress, one audit entry per version, and one more email only when
// the process died between sending and recording. A retry that finds the
// dead delivery's claim waits for it within its own time and then does
// the work; only when the claim outlives what the retry can wait does it
// report the record, once, and the next retry finishes.
//
// The table: every crash point of two stories × three retry timings;
// where the dying delivery left a claim in progress, also × two deadlines
// of the dying invocation (its claim runs out within a retry's time, or
// outlives what a retry at once can wait) and local mode's restart.
// Without a claim in progress the dying invocation's deadline and a
// restart's take-over have nothing to act on, so those run once per
// timing. Dying after a call and before the next call of the same
// delivery is one point: only reads lie between.

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/mail/outbox"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/user"
)

// The worker's claim timing (release.Config's defaults) and Lambda's.
const (
	claimMargin = 5 * time.Second
	claimWork   = 10 * time.Second
	// invocationTimeout is the function's timeout: the time a retry has.
	invocationTimeout = 60 * time.Second
	// pollSlack is how far past a claim's end a waiting delivery may look
	// again (the worker's longest poll).
	pollSlack = 2 * time.Second
)

// crashRetry is when the batch of a delivery that died comes again.
type crashRetry struct {
	name  string
	after time.Duration
}

var crashRetries = []crashRetry{
	{"retried at once", 0},
	{"retried after 5s", 5 * time.Second},
	{"retried after Lambda's backoff (1m)", time.Minute},
}

// crashDeadline is the time the dying invocation had left: a claim it
// took is held that long plus the margin.
type crashDeadline struct {
	name string
	left time.Duration
}

// noClaim names the cases whose dying delivery left no claim in progress.
const noClaim = "no claim left"

var crashDeadlines = []crashDeadline{
	{"dying with 20s left", 20 * time.Second}, // its claim runs out within a retry's time
	{"dying with 60s left", 60 * time.Second}, // its claim outlives what a retry at once can wait
}

// crashStory is a part of the lifecycle whose calls are the crash points:
// setup runs without a crash, then run with one.
type crashStory struct {
	name       string
	setup, run func(r *rig)
	want       func() map[string]outcome
}

var crashStories = []crashStory{
	{
		// Invitations, and a release whose address the mail service
		// refuses (its login is disabled).
		name: "release",
		setup: func(r *rig) {
			r.create("ann", "ann@example.com")
			r.create("carol", "carol@"+outbox.RejectDomain)
			r.deliver()
		},
		run: func(r *rig) {
			r.act("release", "ann", "carol")
			r.deliver()
		},
		want: func() map[string]outcome {
			return map[string]outcome{
				"ann": invitedOutcome(1, "staff", "invited"),
				"carol": {status: user.StatusReleaseFailed, reason: outbox.ReasonRejected, login: release.LoginForceChangePassword,
					enabled: false, group: "staff", audit: []string{"create", "release", "release_failed"}},
			}
		},
	},
	{
		// Suspensions, a re-enable of a login with its own password, and
		// a new invitation for one that never signed in.
		name: "hold and release again",
		setup: func(r *rig) {
			r.create("ann", "ann@example.com")
			r.create("bob", "bob@example.com")
			r.deliver()
			r.act("release", "ann", "bob")
			r.deliver()
			r.firstSignIn("ann")
			r.deliver()
		},
		run: func(r *rig) {
			r.act("hold", "ann", "bob")
			r.deliver()
			r.act("release", "ann", "bob")
			r.deliver()
		},
		want: func() map[string]outcome {
			return map[string]outcome{
				"ann": {status: user.StatusActive, emails: 1, login: release.LoginConfirmed, enabled: true, group: "staff",
					audit: []string{"create", "release", "invited", "activated", "hold", "release", "active"}},
				"bob": {status: user.StatusInvited, emails: 2, login: release.LoginForceChangePassword, enabled: true, group: "staff",
					audit: []string{"create", "release", "invited", "hold", "release", "invited"}},
			}
		},
	},
}

// crashPoint is a step of a delivery at which the process dies: before
// the call c, or after it.
type crashPoint struct {
	c     call
	nth   int // c is the nth call of its method in the story's run
	after bool
	// prev is the call of the same delivery just before c: dying after it
	// is dying before c, since nothing but reads lies between them.
	prev *call
	// live: a claim taken by the dying delivery is in progress.
	live bool
	// resends: the process died between sending and recording; the
	// retry sends one more email, whose password replaces the first's.
	resends bool
}

func (p crashPoint) String() string {
	name := func(c call) string {
		s := c.method
		if c.detail != "" {
			s += " " + c.detail
		}
		return s + " (" + subjectName(c.subject) + ")"
	}
	switch {
	case p.after:
		return "after " + name(p.c)
	case p.prev != nil:
		return "after " + name(*p.prev) + ", before " + name(p.c)
	}
	return "before " + name(p.c)
}

// crashPoints runs the story without a crash, as Lambda delivers, and
// returns every step of it: before and after each call. Dying after a
// call and dying before the next one of the same delivery leave the same
// world (between them the worker only reads), so they are one point.
func crashPoints(t *testing.T, s crashStory) []crashPoint {
	t.Helper()
	r := newRig(t, delivery{lambda: invocationTimeout})
	s.setup(r)
	start := r.faults.mark()
	s.run(r)
	r.check(expect{users: s.want()})
	if t.Failed() {
		t.FailNow()
	}
	calls := r.faults.calls(start)
	var points []crashPoint
	nth := map[string]int{}
	claims, unrecorded := 0, 0 // claims in progress, emails sent and not recorded
	for i, c := range calls {
		nth[c.method]++
		p := crashPoint{c: c, nth: nth[c.method], live: claims > 0, resends: unrecorded > 0}
		if i > 0 && calls[i-1].delivery == c.delivery {
			p.prev = &calls[i-1]
		}
		points = append(points, p)
		switch {
		case c.method == "Claim":
			claims++
		case c.method == "Complete":
			claims--
		case c.method == "Send" && !c.failed:
			unrecorded++
		case c.method == "UpdateUser" && c.detail == string(user.StatusInvited):
			unrecorded--
		}
		if i == len(calls)-1 || calls[i+1].delivery != c.delivery {
			points = append(points, crashPoint{c: c, nth: nth[c.method], after: true, live: claims > 0, resends: unrecorded > 0})
		}
	}
	if claims != 0 || unrecorded != 0 {
		t.Fatalf("the story left %d claims in progress and %d emails unrecorded", claims, unrecorded)
	}
	return points
}

// crashCase is one scenario: a crash point, how the dying delivery was
// invoked and when its batch comes again.
type crashCase struct {
	point    crashPoint
	mode     delivery
	deadline string
	retry    string
	// firstRetryWins: the first delivery after the crash finishes the
	// batch; otherwise it reports the dead claim's record once.
	firstRetryWins bool
	// held is how long after the crash the dead claim is held (none
	// when 0).
	held time.Duration
}

func crashCases(p crashPoint) []crashCase {
	var cases []crashCase
	deadlines := crashDeadlines
	if !p.live {
		// No claim outlives the dying delivery: its deadline is moot.
		deadlines = []crashDeadline{{noClaim, invocationTimeout}}
	}
	for _, d := range deadlines {
		for _, rt := range crashRetries {
			c := crashCase{point: p, deadline: d.name, retry: rt.name, firstRetryWins: true,
				mode: delivery{lambda: invocationTimeout, dyingLeft: d.left, restart: rt.after}}
			if p.live {
				// The dead claim is held for the dying delivery's time and
				// the margin; a retry waits for it while it would still
				// have the time to do the work.
				c.held = d.left + claimMargin
				c.firstRetryWins = c.held-rt.after <= invocationTimeout-claimWork
			}
			cases = append(cases, c)
		}
	}
	if p.live {
		// Local mode: the process restarts and takes over at once the
		// claim it left. (Without a claim in progress a restart is a
		// retry at once.)
		cases = append(cases, crashCase{point: p, deadline: "local mode", retry: "restarted at once", firstRetryWins: true})
	}
	return cases
}

// crashEnds tallies how the cases of each deadline and retry ended.
type crashEnds struct {
	mu   sync.Mutex
	ends map[string]*crashEnd
}

type crashEnd struct {
	cases, firstRetry, secondRetry, extraEmail int
	// waited is the longest wait of a retry that finished the batch;
	// gaveUp that of one that reported the dead claim's record.
	waited, gaveUp time.Duration
}

func (e *crashEnds) add(c crashCase, first, winner handling, extra bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ends == nil {
		e.ends = map[string]*crashEnd{}
	}
	k := c.deadline + ", " + c.retry
	end, ok := e.ends[k]
	if !ok {
		end = &crashEnd{}
		e.ends[k] = end
	}
	end.cases++
	if c.firstRetryWins {
		end.firstRetry++
	} else {
		end.secondRetry++
		end.gaveUp = max(end.gaveUp, first.slept)
	}
	if extra {
		end.extraEmail++
	}
	end.waited = max(end.waited, winner.slept)
}

// String is the table of ends, in the battery's order.
func (e *crashEnds) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var keys []string
	for _, d := range append(crashDeadlines, crashDeadline{name: noClaim}) {
		for _, rt := range crashRetries {
			keys = append(keys, d.name+", "+rt.name)
		}
	}
	keys = append(keys, "local mode, restarted at once")
	var b strings.Builder
	for _, k := range keys {
		end, ok := e.ends[k]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "\n  %-60s %2d cases, %d with one more email: ", k+":", end.cases, end.extraEmail)
		if end.firstRetry > 0 {
			fmt.Fprintf(&b, "%d finished by the first retry, which waited at most %v", end.firstRetry, end.waited)
		}
		if end.secondRetry > 0 {
			fmt.Fprintf(&b, "%d reported once by the first retry after it waited up to %v, then finished by the second, which waited at most %v",
				end.secondRetry, end.gaveUp, end.waited)
		}
	}
	return b.String()
}

// TestFaultBatteryCrash kills the delivery at every step of a release and
// of a hold and release again, and checks that every retry timing ends as
// a run without the crash.
func TestFaultBatteryCrash(t *testing.T) {
	ends := &crashEnds{}
	total := 0
	for _, s := range crashStories {
		points := crashPoints(t, s)
		live, n := 0, 0
		for _, p := range points {
			if p.live {
				live++
			}
			n += len(crashCases(p))
		}
		total += n
		t.Logf("%s: %d crash points: %d with a claim in progress × (%d deadlines × %d retry timings + local mode's restart), %d without × %d retry timings = %d scenarios",
			s.name, len(points), live, len(crashDeadlines), len(crashRetries), len(points)-live, len(crashRetries), n)
		t.Run(s.name, func(t *testing.T) {
			for _, p := range points {
				t.Run(p.String(), func(t *testing.T) {
					for _, c := range crashCases(p) {
						t.Run(c.deadline+", "+c.retry, func(t *testing.T) {
							t.Parallel()
							runCrash(t, s, c, ends)
						})
					}
				})
			}
		})
	}
	t.Cleanup(func() {
		if !t.Failed() {
			t.Logf("%d crash scenarios ended:%s", total, ends)
		}
	})
}

// subjectName names the story's user a call is about (ids are given in
// creation order: u-0001 is the administrator).
func subjectName(subject string) string {
	if at := strings.Index(subject, "@"); at > 0 {
		return subject[:at]
	}
	return subject
}

func runCrash(t *testing.T, s crashStory, c crashCase, ends *crashEnds) {
	r := newRig(t, c.mode)
	s.setup(r)
	start := len(r.handled)
	r.faults.crash(c.point.c.method, c.point.after, c.point.nth)
	s.run(r)
	want := expect{users: s.want(), extra: map[string]int{}}
	if c.point.resends {
		want.extra[r.nameOf(c.point.c.subject)]++
	}
	r.check(want)
	if f := r.faults.firedCount(); f != 1 {
		t.Fatalf("the crash happened %d times, want once", f)
	}
	for _, x := range r.faults.calls(0) {
		if x.method == "Abandon" {
			t.Errorf("a claim was abandoned (%s): a dying delivery gives nothing up, and no other failed", x.subject)
		}
	}
	h := r.handled[start:]
	died := slices.IndexFunc(h, func(x handling) bool { return x.died })
	if died < 0 {
		t.Fatal("no delivery died")
	}
	for i, x := range h[:died] {
		if len(x.failed) > 0 || x.slept > 0 {
			t.Errorf("delivery %d before the crash: reported %v, waited %v", i+1, x.failed, x.slept)
		}
	}
	after := h[died+1:]
	if len(after) == 0 {
		t.Fatal("the batch never came again")
	}
	// The winning retry waits for what is left of the dead claim: held
	// from the crash for the dying delivery's time and the margin.
	retries, first, elapsed := 1, after[0], c.mode.restart
	if !c.firstRetryWins {
		// The dead claim outlives what the retry can wait: it waits as
		// long as it can still do the work, then reports the record.
		if len(first.failed) == 0 {
			t.Errorf("the first retry took over a claim still live")
		}
		// (Its time runs on the wall clock too: a slow machine may end
		// the wait a poll early.)
		if most := invocationTimeout - claimWork; first.slept > most || first.slept < most-2*pollSlack {
			t.Errorf("the first retry waited %v, want about %v: as long as it could", first.slept, most)
		}
		after, retries = after[1:], 2
		elapsed += first.slept + c.mode.restart
		if len(after) == 0 {
			t.Fatal("the batch never came again after the first retry")
		}
	}
	winner := after[0]
	if len(winner.failed) > 0 {
		t.Errorf("retry %d reported %v", retries, winner.failed)
	}
	if wait := max(c.held-elapsed, 0); wait > 0 {
		if winner.slept < wait-time.Second || winner.slept > wait+pollSlack {
			t.Errorf("retry %d waited %v for a dead claim with %v left", retries, winner.slept, wait)
		}
	} else if winner.slept != 0 {
		t.Errorf("retry %d waited %v with no live claim to wait for", retries, winner.slept)
	}
	for i, x := range after[1:] {
		if len(x.failed) > 0 || x.slept > 0 || x.died {
			t.Errorf("delivery %d after the recovery: reported %v, waited %v, died %v", i+1, x.failed, x.slept, x.died)
		}
	}
	if !t.Failed() {
		ends.add(c, first, winner, c.point.resends)
	}
}
