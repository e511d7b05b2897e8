// Package release is the stream worker: it takes the changes of users
// that the table's stream carries, decoded at the edge (stream.Edge),
// decides from each user's old and new state what the change asks for
// (DESIGN.md §6) — create the login and email the temporary password,
// suspend, re-enable, move the role group, or nothing — and does it,
// once, however often the record is delivered.
//
// Exactly-once effects under at-least-once delivery come from claims:
// a record's work is claimed under a key naming the user and the version
// that caused it, done, recorded on the user (status invited or
// release_failed), and completed. A copy that finds the claim completed
// does nothing; one that finds it busy is retried; a claim whose worker
// died runs out and the work is done again, with a new temporary password
// that resets the login, so the last email sent always holds the password
// that works.
//
// Outcomes (invited, release failed, suspended, re-enabled) are told to a
// Notifier, a Slack channel, when the status change that records them
// comes back on the stream; see announce.
package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/stream"
	"github.com/opsos/onboarding/internal/user"
	"github.com/opsos/onboarding/internal/wait"
)

// Store is what the worker reads of the table, and its claims.
type Store interface {
	Claims
	GetUser(ctx context.Context, id string) (user.User, error)
	ListUsers(ctx context.Context, q onboarding.ListQuery) (onboarding.Page, error)
}

// Outcomes records on a user what the worker did for a change: the
// onboarding service, which writes users. changed is the user as the
// change left them; a user who has moved on since (held again, sent a
// new invitation, recorded by an earlier copy of the change) is left
// alone, and that is no error.
type Outcomes interface {
	// Invited records that the invitation was emailed at sent.
	Invited(ctx context.Context, changed user.User, sent time.Time) error
	// ReleaseFailed records that the release gave up, for reason.
	ReleaseFailed(ctx context.Context, changed user.User, reason string) error
	// ReEnabled records that the login of a user who had set their own
	// password is enabled again.
	ReEnabled(ctx context.Context, changed user.User) error
}

// Invitation is what the invitation email says.
type Invitation struct {
	To                string
	FirstName         string
	FullName          string
	InviterName       string
	InviterEmail      string
	LoginURL          string
	Username          string
	TemporaryPassword string
	ExpiresAt         time.Time
	// Resend is true when an earlier invitation's password stops working.
	Resend bool
}

// Composer turns an invitation into an email.
type Composer func(Invitation) (Message, error)

// Config holds the worker's settings.
type Config struct {
	// LoginURL is where invited users sign in (Cognito managed login).
	LoginURL string
	// TemporaryPasswordValidity is how long the user pool accepts a
	// temporary password.
	TemporaryPasswordValidity time.Duration
	// ClaimHold bounds how long one delivery may work on a record before
	// another may take over, when the delivery has no deadline of its own
	// (local mode's pump, which takes its predecessor's claims over at
	// start); it must exceed a slow provision plus send. A delivery with a
	// deadline (a Lambda invocation) holds its claims for its remaining
	// time plus ClaimMargin instead: no longer than it can live.
	ClaimHold time.Duration
	// ClaimMargin is added to a delivery's remaining time: the clocks of
	// two invocations may differ a little. 5 seconds when zero.
	ClaimMargin time.Duration
	// ClaimWork is the time a delivery needs after taking a claim to do
	// the work (provision and send); one that finds a live claim waits for
	// it only while that much time would be left. 10 seconds when zero.
	ClaimWork time.Duration
	// Sleep waits between looks at a busy claim; a timer honouring ctx
	// when nil. Tests pass one that does not sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Notifier is told each outcome (invited, release failed, suspended,
	// re-enabled); nil tells nobody.
	Notifier Notifier
	// NotifyTimeout bounds one notice, so that a slow or unreachable chat
	// service cannot hold up the batch; 5 seconds when zero.
	NotifyTimeout time.Duration
	// SendRate paces invitation emails, per second, so that a bulk release
	// stays within the mail service's sending quota; zero does not pace.
	// It holds per worker process (in Lambda, per concurrent invocation).
	SendRate float64
}

// Worker is the release worker.
type Worker struct {
	store     Store
	outcomes  Outcomes
	identity  Identity
	mailer    Mailer
	compose   Composer
	passwords func() (string, error)
	now       func() time.Time
	log       *slog.Logger
	cfg       Config
	// sends paces emails when Config.SendRate is set.
	sends *rate.Limiter
}

// Actor names the worker where its outcomes are told (Slack notices);
// the service records them under the same name.
const Actor = onboarding.ReleaseWorkerID

// Deps is what the worker works with: the table, where outcomes are
// recorded, the identity provider, the mail service, how an invitation is
// written, and where passwords, time and logs come from.
type Deps struct {
	Store Store
	// Outcomes records what the worker did on the user (the onboarding
	// service).
	Outcomes Outcomes
	Identity Identity
	Mailer   Mailer
	Compose  Composer
	// Passwords makes temporary passwords (from crypto/rand in production).
	Passwords func() (string, error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log receives the worker's log lines; they are dropped when nil.
	Log *slog.Logger
}

// New returns a worker on d with the settings cfg.
func New(d Deps, cfg Config) *Worker {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ClaimHold <= 0 {
		cfg.ClaimHold = 2 * time.Minute
	}
	if cfg.ClaimMargin <= 0 {
		cfg.ClaimMargin = 5 * time.Second
	}
	if cfg.ClaimWork <= 0 {
		cfg.ClaimWork = 10 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = wait.Sleep
	}
	if cfg.TemporaryPasswordValidity <= 0 {
		cfg.TemporaryPasswordValidity = 7 * 24 * time.Hour
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 5 * time.Second
	}
	w := &Worker{store: d.Store, outcomes: d.Outcomes, identity: d.Identity, mailer: d.Mailer, compose: d.Compose, passwords: d.Passwords,
		now: func() time.Time { return d.Now().UTC() }, log: d.Log, cfg: cfg}
	if cfg.SendRate > 0 {
		w.sends = rate.NewLimiter(rate.Limit(cfg.SendRate), 1)
	}
	return w
}

// errBusy means another delivery of the same record holds its claim.
var errBusy = errors.New("another delivery of this change is being handled")

// Changes is the stream entry point (a stream.Core): Lambda's event
// source mapping, the local feed pump, the DynamoDB Local poller and make
// invoke all reach it through stream.Edge, which decodes their records
// with item.DecodeChange, so the worker knows users, not the table. It
// does what each change of a user asks for, in order, and returns the
// sequence numbers of the changes to retry. Changes that fail for a
// reason a retry may fix are retried; so are the changes of the same user
// after them, so that a user's changes keep their order; so is a record
// that could not be read. A change whose work is done is then announced
// (see announce).
func (w *Worker) Changes(ctx context.Context, changes []stream.Change) (retry []string) {
	blocked := map[string]bool{}
	for _, c := range changes {
		if bad := c.Unreadable; bad != nil {
			w.log.ErrorContext(ctx, "unreadable change record", "eventId", bad.EventID, "sequence", c.Sequence, "userId", bad.UserID, "error", bad.Err.Error())
			// It holds back none of the user's later changes: a record
			// that cannot be read stays unreadable, so Lambda retries it
			// until it gives up on it, and would give up on every change
			// held behind it too. The fault battery's poison record.
			retry = append(retry, c.Sequence)
			continue
		}
		id := userID(c.Old, c.New)
		if blocked[id] {
			retry = append(retry, c.Sequence)
			continue
		}
		if err := w.process(ctx, c.Old, c.New); err != nil {
			w.log.WarnContext(ctx, "change will be retried", "userId", id, "sequence", c.Sequence, "error", err.Error())
			blocked[id] = true
			retry = append(retry, c.Sequence)
			continue
		}
		w.announce(ctx, c.Old, c.New)
	}
	return retry
}

func userID(old, cur *user.User) string {
	if cur != nil {
		return cur.ID
	}
	return old.ID
}

func (w *Worker) process(ctx context.Context, old, cur *user.User) error {
	a := decide(old, cur)
	if a == none {
		return nil
	}
	log := w.log.With("userId", cur.ID, "action", a.String(), "version", cur.Version)
	switch a {
	case invite:
		return w.invite(ctx, log, *cur, old != nil && old.InviteGeneration > 0 && old.InviteGeneration != cur.InviteGeneration)
	case reenable:
		return w.reenable(ctx, log, *cur)
	case suspend:
		// Act on the user as they are now: a copy of a hold that arrives
		// after the user was released again (a batch retried from an
		// earlier record replays the records after it, successes
		// included) must not lock out the login that release let in.
		now, err := w.store.GetUser(ctx, cur.ID)
		if err != nil || !now.HoldInvite {
			return user.IgnoreNotFound(err)
		}
		err = w.identity.Suspend(ctx, cur.Email)
		if errors.Is(err, ErrNoLogin) {
			return nil // released and held before the login existed
		}
		if err == nil {
			log.InfoContext(ctx, "login suspended")
		}
		return err
	case moveGroup:
		// The role the user has now, not this change's: a copy of an
		// older role change must not move the login back.
		now, err := w.store.GetUser(ctx, cur.ID)
		if err != nil {
			return user.IgnoreNotFound(err)
		}
		err = w.identity.SetGroup(ctx, now.Email, now.Role)
		if errors.Is(err, ErrNoLogin) {
			return nil
		}
		if err == nil {
			log.InfoContext(ctx, "login moved to the role's group", "group", now.Role)
		}
		return err
	}
	return nil
}

// InviteKey names the claim on inviting a user for the change that made
// version of them.
func InviteKey(userID string, version int64) string {
	return fmt.Sprintf("invite:%s:v%d", userID, version)
}

// invite creates or resets the login with a new temporary password and
// emails it, once per change; changed is the user as the change left
// them.
func (w *Worker) invite(ctx context.Context, log *slog.Logger, changed user.User, resend bool) error {
	key := InviteKey(changed.ID, changed.Version)
	switch st, err := w.claim(ctx, key); {
	case err != nil:
		return err
	case st == ClaimDone:
		return nil
	case st == ClaimBusy:
		return errBusy
	}
	u, err := w.store.GetUser(ctx, changed.ID)
	if err != nil && !errors.Is(err, user.ErrNotFound) {
		if aerr := w.store.Abandon(ctx, key); aerr != nil {
			log.WarnContext(ctx, "abandon claim", "error", aerr.Error())
		}
		return err
	}
	if err != nil || !user.StillReleasing(u, changed) {
		// Nothing is left to do: the user has moved on, or a delivery
		// recorded the outcome and died before completing its claim.
		// Completing says so, and leaves no claim in progress.
		return w.store.Complete(ctx, key, w.now())
	}
	record, err := w.sendInvitation(ctx, log, u, resend)
	if err != nil {
		if aerr := w.store.Abandon(ctx, key); aerr != nil {
			log.WarnContext(ctx, "abandon claim", "error", aerr.Error())
		}
		return err
	}
	if err := record(ctx, changed); err != nil {
		// The email is out; a retry after the claim runs out sends a new
		// one whose password replaces this one's.
		return err
	}
	return w.store.Complete(ctx, key, w.now())
}

// Polling a busy claim: the first wait, and the longest.
const (
	claimPollFirst = 250 * time.Millisecond
	claimPollMax   = 2 * time.Second
)

// claim takes key's claim for as long as this delivery can live. A claim
// another delivery holds is waited for while this one would still have
// the time to do the work: in Lambda, a retry that arrives while its
// timed-out predecessor's claim runs out then takes it over, instead of
// burning the retries in a burst. Without a deadline there is no time to
// count on, so a busy claim is reported at once and the pump retries.
func (w *Worker) claim(ctx context.Context, key string) (ClaimState, error) {
	deadline, timed := ctx.Deadline()
	left := time.Until(deadline)
	delay := claimPollFirst
	for {
		hold := w.cfg.ClaimHold
		if timed {
			hold = max(left, 0) + w.cfg.ClaimMargin
		}
		st, err := w.store.Claim(ctx, key, w.now(), hold)
		if err != nil || st != ClaimBusy || !timed || left-delay < w.cfg.ClaimWork {
			return st, err
		}
		if err := w.cfg.Sleep(ctx, delay); err != nil {
			return ClaimBusy, nil
		}
		left = min(left-delay, time.Until(deadline))
		delay = min(2*delay, claimPollMax)
	}
}

// outcome records what an invitation came to, for the change that left
// the user as changed.
type outcome func(ctx context.Context, changed user.User) error

// sendInvitation provisions the login and sends the email. It returns how
// to record the outcome; permanent failures become release_failed.
func (w *Worker) sendInvitation(ctx context.Context, log *slog.Logger, u user.User, resend bool) (outcome, error) {
	failed := func(reason string) (outcome, error) {
		// No enabled login outlives a failed release (DESIGN.md §10): a
		// temporary password may have been emailed before the address
		// was rejected. Disabled rather than deleted, so that the login
		// keeps its identity and a resend's Provision turns it back on.
		if err := w.identity.Suspend(ctx, u.Email); err != nil && !errors.Is(err, ErrNoLogin) {
			return nil, fmt.Errorf("disable the login of a failed release: %w", err)
		}
		log.WarnContext(ctx, "release failed", "reason", reason)
		return func(ctx context.Context, changed user.User) error {
			return w.outcomes.ReleaseFailed(ctx, changed, reason)
		}, nil
	}
	pw, err := w.passwords()
	if err != nil {
		return nil, err
	}
	login := Login{Email: u.Email, UserID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Group: u.Role}
	if err := w.identity.Provision(ctx, login, pw); err != nil {
		if reason, ok := IsPermanent(err); ok {
			return failed(reason)
		}
		return nil, fmt.Errorf("provision login: %w", err)
	}
	sent := w.now()
	inv := Invitation{
		To: u.Email, FirstName: u.FirstName, FullName: u.Name(), InviterEmail: u.UpdatedBy, InviterName: w.nameOf(ctx, u.UpdatedBy),
		LoginURL: w.cfg.LoginURL, Username: u.Email, TemporaryPassword: pw,
		ExpiresAt: sent.Add(w.cfg.TemporaryPasswordValidity), Resend: resend,
	}
	msg, err := w.compose(inv)
	if err != nil {
		return nil, fmt.Errorf("compose invitation: %w", err)
	}
	msg.To = u.Email
	if w.sends != nil {
		if err := w.sends.Wait(ctx); err != nil {
			return nil, fmt.Errorf("wait for the send rate: %w", err)
		}
	}
	id, err := w.mailer.Send(ctx, msg)
	if err != nil {
		if reason, ok := IsPermanent(err); ok {
			return failed(reason)
		}
		return nil, fmt.Errorf("send invitation: %w", err)
	}
	log.InfoContext(ctx, "invitation sent", "messageId", id, "resend", resend)
	return func(ctx context.Context, changed user.User) error { return w.outcomes.Invited(ctx, changed, sent) }, nil
}

// nameOf returns the name of the manager with email, or the email.
func (w *Worker) nameOf(ctx context.Context, email string) string {
	p, err := w.store.ListUsers(ctx, onboarding.ListQuery{Email: email, Limit: 1})
	if err != nil || len(p.Users) == 0 {
		return email
	}
	return p.Users[0].Name()
}

// reenable turns a suspended login back on. A user who had set their own
// password gets no new one; one who never signed in is invited anew.
// changed is the user as the change left them.
func (w *Worker) reenable(ctx context.Context, log *slog.Logger, changed user.User) error {
	u, err := w.store.GetUser(ctx, changed.ID)
	if err != nil {
		return user.IgnoreNotFound(err)
	}
	if !user.StillReleasing(u, changed) {
		// Done, or moved past. If it was done by inviting anew, that
		// delivery may have died before completing its claim: invite
		// completes it, sending nothing.
		return w.invite(ctx, log, changed, false)
	}
	st, err := w.identity.State(ctx, u.Email)
	if err != nil {
		return fmt.Errorf("login state: %w", err)
	}
	if st.Status != LoginConfirmed {
		return w.invite(ctx, log, changed, st.Status != LoginNone)
	}
	if err := w.identity.Enable(ctx, u.Email); err != nil {
		return fmt.Errorf("enable login: %w", err)
	}
	if err := w.identity.SetGroup(ctx, u.Email, u.Role); err != nil {
		return fmt.Errorf("restore group: %w", err)
	}
	log.InfoContext(ctx, "login enabled again")
	return w.outcomes.ReEnabled(ctx, changed)
}
