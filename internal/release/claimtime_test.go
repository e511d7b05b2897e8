package release_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/user"
)

// invocation is a Lambda invocation's context: its deadline is remaining
// from now, on the wall clock, as Lambda sets it.
func invocation(t *testing.T, remaining time.Duration) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(remaining))
	t.Cleanup(cancel)
	return ctx
}

// sleeper waits on the world's clock, not the wall's, and counts.
type sleeper struct {
	w     *world
	slept time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.slept += d
	s.w.advance(d)
	return nil
}

// A delivery that died after sending, in Lambda: its claim is held for
// what was left of its invocation plus a small margin, not for a fixed
// span; the retry that finds it waits for it within its own time, takes
// it over and finishes, instead of failing in a burst.
func TestRetryWaitsForTheDeadDeliverysClaim(t *testing.T) {
	s := &sleeper{}
	w := newWorld(t, func(c *release.Config) {
		c.ClaimHold = time.Hour // what an invocation with a deadline must not use
		c.Sleep = func(ctx context.Context, d time.Duration) error { return s.sleep(ctx, d) }
	})
	s.w = w
	u, ev := releasedBatch(t, w)
	w.storeFaults = append(w.storeFaults, &fault{method: "UpdateUser", err: errTransient, times: 1})
	if resp, _ := edge(w.worker)(invocation(t, 20*time.Second), ev); len(resp.BatchItemFailures) == 0 {
		t.Fatal("the lost status write was not reported")
	}
	// Lambda retries at once with a fresh invocation of up to 60 s.
	resp, _ := edge(w.worker)(invocation(t, 60*time.Second), ev)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the retry gave up after waiting %v: %+v", s.slept, resp)
	}
	// The dead claim was held for at most its 20 s and the margin: the
	// retry waited about that long, not the hour of the fixed hold.
	if s.slept < 20*time.Second || s.slept > 30*time.Second {
		t.Errorf("the retry waited %v for a claim held for 20 s and the margin", s.slept)
	}
	msgs := w.mail.to(u.Email)
	if len(msgs) != 2 || w.get(u.ID).Status != user.StatusInvited {
		t.Fatalf("%d emails, status %s; want 2 and invited", len(msgs), w.get(u.ID).Status)
	}
	if err := w.identity.signIn(u.Email, passwordIn(t, msgs[1])); err != nil {
		t.Errorf("the last email's password: %v", err)
	}
}

// deadDelivery is a released user whose first delivery will send the
// email and die before recording it, leaving its claim in progress, in a
// world whose worker sleeps on the world's clock.
func deadDelivery(t *testing.T) (*world, *sleeper, events.DynamoDBEvent) {
	s := &sleeper{}
	w := newWorld(t, func(c *release.Config) {
		c.Sleep = func(ctx context.Context, d time.Duration) error { return s.sleep(ctx, d) }
	})
	s.w = w
	_, ev := releasedBatch(t, w)
	w.storeFaults = append(w.storeFaults, &fault{method: "UpdateUser", err: errTransient, times: 1})
	return w, s, ev
}

// A retry with too little time left to do the work after the claim
// frees reports the record failed without waiting past what it has.
func TestRetryWithoutTimeToWaitReportsFailure(t *testing.T) {
	w, s, ev := deadDelivery(t)
	edge(w.worker)(invocation(t, 50*time.Second), ev)
	resp, _ := edge(w.worker)(invocation(t, 12*time.Second), ev)
	if len(resp.BatchItemFailures) == 0 {
		t.Fatal("a retry that could not wait long enough took the live claim")
	}
	if s.slept > 2*time.Second {
		t.Errorf("waited %v with 12 s left and 10 s of work to do", s.slept)
	}
}

// Without a deadline (local mode's pump) a busy claim is reported at
// once: the pump retries, and local mode takes its predecessor's claims
// over when it starts.
func TestBusyClaimWithoutDeadlineIsReportedAtOnce(t *testing.T) {
	w, s, ev := deadDelivery(t)
	edge(w.worker)(w.ctx, ev)
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) == 0 || s.slept != 0 {
		t.Errorf("busy claim without a deadline: %+v after sleeping %v", resp, s.slept)
	}
}
