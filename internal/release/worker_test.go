package release_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/user"
)

var _ release.Outcomes = (*onboarding.Service)(nil)

// world is the service, the worker and its fakes on a real embedded store.
type world struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	store *embedded.Store
	svc   *onboarding.Service
	// system is the service as the worker and the sign-in trigger reach
	// it: on the store with the world's faults.
	system   *onboarding.Service
	actor    onboarding.Actor
	worker   *release.Worker
	identity *fakeIdentity
	mail     *fakeMailer
	notes    *fakeNotifier
	now      time.Time
	logs     *bytes.Buffer
	mu       sync.Mutex
	// storeFaults fail the worker's own writes: "Complete", "UpdateUser"
	// (the service's, recording what the worker did).
	storeFaults []*fault
}

// faultyStore is the embedded store with the world's faults on the
// worker's writes.
type faultyStore struct {
	*embedded.Store
	w *world
}

func (f faultyStore) Complete(ctx context.Context, key string, now time.Time) error {
	if err := f.w.storeFault("Complete"); err != nil {
		return err
	}
	return f.Store.Complete(ctx, key, now)
}

func (f faultyStore) UpdateUser(ctx context.Context, u user.User, v int64, a onboarding.AuditEntry) error {
	if err := f.w.storeFault("UpdateUser"); err != nil {
		return err
	}
	return f.Store.UpdateUser(ctx, u, v, a)
}

func (w *world) storeFault(method string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return takeFault(w.storeFaults, method, false)
}

func newWorld(t *testing.T, opts ...func(*release.Config)) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), dir: t.TempDir(), identity: newFakeIdentity(), mail: &fakeMailer{}, notes: &fakeNotifier{},
		now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), logs: &bytes.Buffer{}}
	clock := func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }
	var err error
	if w.store, err = embedded.Open(filepath.Join(w.dir, "opsos.db"), embedded.WithClock(clock)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.store.Close() })
	ids := 0
	w.svc = onboarding.New(w.store, access.DefaultCatalogue(), onboarding.Config{}, clock, func() string { ids++; return fmt.Sprintf("u-%04d", ids) })
	w.system = onboarding.New(faultyStore{w.store, w}, access.DefaultCatalogue(), onboarding.Config{}, clock, func() string { panic("the worker creates nobody") })
	admin, _, err := w.svc.Bootstrap(w.ctx, "admin@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if w.actor, err = w.svc.Authorize(w.ctx, onboarding.Identity{UserID: admin.ID, Source: onboarding.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	n := 0
	var pmu sync.Mutex
	passwords := func() (string, error) {
		pmu.Lock()
		defer pmu.Unlock()
		n++
		return fmt.Sprintf("Temp-Pass-%04d!", n), nil
	}
	compose := func(inv release.Invitation) (release.Message, error) {
		return release.Message{Subject: "Welcome to OpsOS, " + inv.FirstName,
			Text: fmt.Sprintf("%s invited you. Username: %s\nTemporary password: %s\nExpires %s\n", inv.InviterName, inv.Username, inv.TemporaryPassword, inv.ExpiresAt.Format(time.RFC3339)),
			HTML: "<p>" + inv.TemporaryPassword + "</p>"}, nil
	}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: w.logs, mu: &w.mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := release.Config{LoginURL: "https://login.example.com", TemporaryPasswordValidity: 7 * 24 * time.Hour, ClaimHold: time.Minute,
		Notifier: w.notes, NotifyTimeout: 50 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	w.worker = release.New(release.Deps{Store: faultyStore{w.store, w}, Outcomes: w.system, Identity: w.identity, Mailer: w.mail, Compose: compose, Passwords: passwords, Now: clock, Log: log}, cfg)
	w.pump() // the administrator's creation asks for nothing
	return w
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (w *world) advance(d time.Duration) { w.mu.Lock(); w.now = w.now.Add(d); w.mu.Unlock() }

// pump hands the feed to the worker until it is drained or stuck.
func (w *world) pump() error {
	w.t.Helper()
	var last error
	for range 20 {
		n, err := w.store.PumpOnce(w.ctx, edge(w.worker))
		last = err
		if n == 0 && err == nil {
			return nil
		}
	}
	return last
}

func (w *world) create(email string, hold bool) user.User {
	w.t.Helper()
	u, _, err := w.svc.Create(w.ctx, w.actor, user.Draft{FirstName: "Priya", LastName: "Shah", Email: email, Role: "staff", HoldInvite: &hold}, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) get(id string) user.User {
	w.t.Helper()
	u, err := w.store.GetUser(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// passwordIn reads the temporary password out of an invitation.
func passwordIn(t *testing.T, m release.Message) string {
	t.Helper()
	_, after, ok := strings.Cut(m.Text, "Temporary password: ")
	if !ok {
		t.Fatalf("no password in %q", m.Text)
	}
	return strings.SplitN(after, "\n", 2)[0]
}

func TestIntroductionModeAsksForNothing(t *testing.T) {
	w := newWorld(t)
	u := w.create("priya@example.com", true)
	if err := w.pump(); err != nil {
		t.Fatal(err)
	}
	if len(w.mail.to(u.Email)) != 0 || w.identity.logins[u.Email] != nil {
		t.Error("a user in Introduction Mode got a login or an email")
	}
	role := "planner"
	if _, err := w.svc.Edit(w.ctx, w.actor, u.ID, 0, user.Patch{Role: &role}); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if w.identity.calls["SetGroup"] != 0 {
		t.Error("a role change in Introduction Mode reached the identity provider")
	}
}

func TestReleaseInvitesOnce(t *testing.T) {
	w := newWorld(t)
	u := w.create("priya@example.com", true)
	w.pump()
	if _, err := w.svc.Release(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.pump(); err != nil {
		t.Fatal(err)
	}
	got := w.get(u.ID)
	if got.Status != user.StatusInvited || !got.InvitedAt.Equal(w.now) || got.StatusReason != "" {
		t.Errorf("after release: status %s invitedAt %v", got.Status, got.InvitedAt)
	}
	msgs := w.mail.to(u.Email)
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want 1", len(msgs))
	}
	pw := passwordIn(t, msgs[0])
	if err := w.identity.signIn(u.Email, pw); err != nil {
		t.Errorf("the emailed password does not open the login: %v", err)
	}
	lg := w.identity.logins[u.Email]
	if lg.Group != "staff" || lg.UserID != u.ID || lg.FirstName != "Priya" {
		t.Errorf("login: %+v", lg.Login)
	}
	if !strings.Contains(msgs[0].Text, "OpsOS Administrator invited you") || !strings.Contains(msgs[0].Text, "Expires 2026-12-05T09:00:00Z") {
		t.Errorf("invitation text: %s", msgs[0].Text)
	}
	h, _ := w.svc.History(w.ctx, w.actor, u.ID, 0, "")
	last := h.Entries[len(h.Entries)-1]
	if last.Action != "invited" || last.Source != onboarding.SourceRelease || last.ActorEmail != release.Actor {
		t.Errorf("audit entry of the invitation: %+v", last)
	}
}

func TestCreateWithHoldOffInvitesAtOnce(t *testing.T) {
	w := newWorld(t)
	u := w.create("sam@example.com", false)
	w.pump()
	if got := w.get(u.ID); got.Status != user.StatusInvited || len(w.mail.to(u.Email)) != 1 {
		t.Errorf("status %s, %d emails", got.Status, len(w.mail.to(u.Email)))
	}
}

// releasedBatch releases a user and returns the feed's records, unhandled.
func releasedBatch(t *testing.T, w *world) (user.User, events.DynamoDBEvent) {
	t.Helper()
	u := w.create("priya@example.com", true)
	w.pump()
	if _, err := w.svc.Release(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	cp, _ := w.store.Checkpoint(w.ctx)
	ev, _, err := w.store.ReadFeed(w.ctx, cp, 100)
	if err != nil || len(ev.Records) == 0 {
		t.Fatalf("feed: %v %v", len(ev.Records), err)
	}
	return u, ev
}

func TestSameBatchThreeTimesSequentially(t *testing.T) {
	w := newWorld(t)
	u, ev := releasedBatch(t, w)
	for i := range 3 {
		resp, err := edge(w.worker)(w.ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: %+v %v", i, resp, err)
		}
	}
	if n := len(w.mail.to(u.Email)); n != 1 || w.identity.calls["Provision"] != 1 {
		t.Errorf("%d emails, %d provisions; want 1 each", n, w.identity.calls["Provision"])
	}
}

func TestSameBatchThreeTimesConcurrently(t *testing.T) {
	w := newWorld(t)
	u, ev := releasedBatch(t, w)
	var wg sync.WaitGroup
	failed := make([]int, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := edge(w.worker)(w.ctx, ev)
			failed[i] = len(resp.BatchItemFailures)
		}()
	}
	wg.Wait()
	// Copies that found the work claimed ask to be retried; the retries
	// find it done.
	for i := range 3 {
		if failed[i] > 0 {
			if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) != 0 {
				t.Errorf("retry still failing: %+v", resp)
			}
		}
	}
	if n := len(w.mail.to(u.Email)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
	if got := w.get(u.ID); got.Status != user.StatusInvited {
		t.Errorf("status %s", got.Status)
	}
}

var errTransient = errors.New("service unavailable")

func TestFaultsAfterEachStep(t *testing.T) {
	tests := []struct {
		name       string
		inject     func(w *world)
		wantEmails int
	}{
		{"identity fails before creating", func(w *world) { w.identity.inject("Provision", false, errTransient, 1) }, 1},
		{"identity fails after creating", func(w *world) { w.identity.inject("Provision", true, errTransient, 1) }, 1},
		{"mail fails before sending", func(w *world) { w.mail.inject(false, errTransient, 2) }, 1},
		// Sent, but the worker never learned it: at most one more email,
		// and the last one holds the working password.
		{"mail fails after sending", func(w *world) { w.mail.inject(true, errTransient, 1) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			u, _ := releasedBatch(t, w)
			tt.inject(w)
			if err := w.pump(); err != nil {
				t.Fatalf("never recovered: %v", err)
			}
			msgs := w.mail.to(u.Email)
			if len(msgs) != tt.wantEmails {
				t.Fatalf("%d emails, want %d", len(msgs), tt.wantEmails)
			}
			if err := w.identity.signIn(u.Email, passwordIn(t, msgs[len(msgs)-1])); err != nil {
				t.Errorf("the last email's password does not work: %v", err)
			}
			if len(w.identity.logins) != 2-1 { // only this user has a login
				t.Errorf("%d logins", len(w.identity.logins))
			}
			if got := w.get(u.ID); got.Status != user.StatusInvited {
				t.Errorf("stuck in %s", got.Status)
			}
		})
	}
}

// A delivery that died after recording the status but before completing
// its claim: the retry sees the user invited and sends nothing.
func TestCrashBeforeCompletingTheClaim(t *testing.T) {
	w := newWorld(t)
	u, ev := releasedBatch(t, w)
	w.storeFaults = append(w.storeFaults, &fault{method: "Complete", err: errTransient, times: 1})
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) == 0 {
		t.Fatal("the lost completion was not reported")
	}
	w.advance(2 * time.Minute) // the dead delivery's claim runs out
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) != 0 {
		t.Errorf("retry failed: %+v", resp)
	}
	if n := len(w.mail.to(u.Email)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// A delivery that died between sending and recording the status: the
// retry, once the claim runs out, sends one more email whose password is
// the one that works, and the user is invited.
func TestCrashBetweenSendingAndRecording(t *testing.T) {
	w := newWorld(t)
	u, ev := releasedBatch(t, w)
	w.storeFaults = append(w.storeFaults, &fault{method: "UpdateUser", err: errTransient, times: 1})
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) == 0 {
		t.Fatal("the lost status write was not reported")
	}
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) == 0 {
		t.Error("a retry inside the claim's hold must wait, not send again")
	}
	w.advance(2 * time.Minute)
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry after the hold: %+v", resp)
	}
	msgs := w.mail.to(u.Email)
	if len(msgs) != 2 || w.get(u.ID).Status != user.StatusInvited {
		t.Fatalf("%d emails, status %s", len(msgs), w.get(u.ID).Status)
	}
	if err := w.identity.signIn(u.Email, passwordIn(t, msgs[1])); err != nil {
		t.Errorf("the last email's password: %v", err)
	}
}

func TestPermanentFailureEndsInReleaseFailed(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.mail.inject(false, release.Permanent("the email address was rejected by the mail service", errors.New("MessageRejected")), 1)
	if err := w.pump(); err != nil {
		t.Fatal(err)
	}
	got := w.get(u.ID)
	if got.Status != user.StatusReleaseFailed || got.StatusReason != "the email address was rejected by the mail service" {
		t.Fatalf("status %s reason %q", got.Status, got.StatusReason)
	}
	// Fix the address and resend: a new login for the new address, one email.
	email := "priya.shah@example.com"
	if _, err := w.svc.Edit(w.ctx, w.actor, u.ID, 0, user.Patch{Email: &email}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Resend(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if got := w.get(u.ID); got.Status != user.StatusInvited || len(w.mail.to(email)) != 1 {
		t.Errorf("after fixing: status %s, %d emails", got.Status, len(w.mail.to(email)))
	}
}

func TestHoldSuspendsAndReleaseReenables(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.pump()
	w.identity.setOwnPassword(u.Email, "My-Own-Password-1")
	if err := w.system.Activate(w.ctx, u.ID, u.Email); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if got := w.get(u.ID); got.Status != user.StatusActive || got.ActivatedAt.IsZero() {
		t.Fatalf("after first sign-in: %s", got.Status)
	}
	if _, err := w.svc.Hold(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if lg := w.identity.logins[u.Email]; lg.enabled || lg.signedOut != 1 || w.get(u.ID).Status != user.StatusSuspended {
		t.Fatalf("hold: enabled=%v signedOut=%d", lg.enabled, lg.signedOut)
	}
	if err := w.identity.signIn(u.Email, "My-Own-Password-1"); err == nil {
		t.Error("a suspended user signed in")
	}
	if _, err := w.svc.Release(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if got := w.get(u.ID); got.Status != user.StatusActive {
		t.Errorf("re-enabled user: status %s", got.Status)
	}
	if err := w.identity.signIn(u.Email, "My-Own-Password-1"); err != nil {
		t.Errorf("own password after re-enable: %v", err)
	}
	if n := len(w.mail.to(u.Email)); n != 1 {
		t.Errorf("%d emails, want only the first invitation", n)
	}
}

func TestReenableOfUserWhoNeverSignedInSendsNewPassword(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.pump()
	w.svc.Hold(w.ctx, w.actor, u.ID, 0)
	w.pump()
	w.svc.Release(w.ctx, w.actor, u.ID, 0)
	w.pump()
	msgs := w.mail.to(u.Email)
	if len(msgs) != 2 || w.get(u.ID).Status != user.StatusInvited {
		t.Fatalf("%d emails, status %s", len(msgs), w.get(u.ID).Status)
	}
	if w.identity.signIn(u.Email, passwordIn(t, msgs[0])) == nil || w.identity.signIn(u.Email, passwordIn(t, msgs[1])) != nil {
		t.Error("only the newest temporary password may work")
	}
}

func TestResendIssuesANewPassword(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.pump()
	w.advance(time.Hour)
	if _, err := w.svc.Resend(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	w.pump()
	msgs := w.mail.to(u.Email)
	if len(msgs) != 2 {
		t.Fatalf("%d emails", len(msgs))
	}
	if w.identity.signIn(u.Email, passwordIn(t, msgs[0])) == nil {
		t.Error("the first temporary password still works after a resend")
	}
	if err := w.identity.signIn(u.Email, passwordIn(t, msgs[1])); err != nil {
		t.Errorf("the new one does not: %v", err)
	}
	if got := w.get(u.ID); got.Status != user.StatusInvited || !got.InvitedAt.Equal(w.now) {
		t.Errorf("status %s invitedAt %v", got.Status, got.InvitedAt)
	}
}

func TestRoleChangeMovesTheGroup(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.pump()
	role := "Planner"
	if _, err := w.svc.Edit(w.ctx, w.actor, u.ID, 0, user.Patch{Role: &role}); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if g := w.identity.logins[u.Email].Group; g != "planner" {
		t.Errorf("group %q", g)
	}
}

func TestPoisonRecordAloneIsReported(t *testing.T) {
	w := newWorld(t)
	u, ev := releasedBatch(t, w)
	poison := events.DynamoDBEventRecord{EventName: "MODIFY", EventID: "bad"}
	poison.Change.SequenceNumber = "000000000000000000001"
	poison.Change.NewImage = map[string]events.DynamoDBAttributeValue{
		"entity": events.NewStringAttribute("user"), "version": events.NewStringAttribute("not a number")}
	ev.Records = append([]events.DynamoDBEventRecord{poison}, ev.Records...)
	resp, err := edge(w.worker)(w.ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != poison.Change.SequenceNumber {
		t.Fatalf("failures %+v %v", resp.BatchItemFailures, err)
	}
	if len(w.mail.to(u.Email)) != 1 {
		t.Error("the good records after the poison one were not handled")
	}
}

func TestTemporaryPasswordIsNowhereButTheEmail(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	// Keep the feed: read it before the pump trims it.
	w.pump()
	w.svc.Resend(w.ctx, w.actor, u.ID, 0)
	cp, _ := w.store.Checkpoint(w.ctx)
	pending, _, _ := w.store.ReadFeed(w.ctx, cp, 1000)
	w.pump()
	w.store.Close()
	var passwords []string
	for _, m := range w.mail.to(u.Email) {
		passwords = append(passwords, passwordIn(t, m))
	}
	feed, _ := json.Marshal(pending)
	var files [][]byte
	filepath.Walk(w.dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(path)
			files = append(files, b)
		}
		return nil
	})
	for _, pw := range passwords {
		notices := []byte(fmt.Sprintf("%+v", w.notes.of(u.ID)))
		for _, hay := range append(files, feed, w.logs.Bytes(), notices) {
			if bytes.Contains(hay, []byte(pw)) {
				t.Errorf("temporary password %q found outside the email", pw)
			}
		}
	}
	if len(passwords) != 2 || w.logs.Len() == 0 || len(w.notes.of(u.ID)) != 2 {
		t.Fatalf("%d passwords, %d bytes of logs, %d notices", len(passwords), w.logs.Len(), len(w.notes.of(u.ID)))
	}
}

func TestPostAuthenticationTriggerActivates(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.pump()
	var ev events.CognitoEventUserPoolsPostAuthentication
	ev.TriggerSource = "PostAuthentication_Authentication"
	ev.Request.UserAttributes = map[string]string{"custom:opsos_user_id": u.ID, "email": u.Email, "email_verified": "true"}
	w.advance(time.Hour)
	trigger := cognito.PostAuthentication{Activator: w.system, Log: slog.New(slog.DiscardHandler)}
	out, err := trigger.Handle(w.ctx, ev)
	if err != nil || out.Request.UserAttributes["email"] != u.Email {
		t.Fatalf("trigger: %v", err)
	}
	got := w.get(u.ID)
	if got.Status != user.StatusActive || !got.ActivatedAt.Equal(w.now) {
		t.Errorf("status %s activatedAt %v", got.Status, got.ActivatedAt)
	}
	// Every later sign-in fires the trigger too: nothing changes.
	w.advance(time.Hour)
	trigger.Handle(w.ctx, ev)
	if again := w.get(u.ID); again.Version != got.Version {
		t.Error("a later sign-in wrote the user again")
	}
	// Found by email when the attribute is missing.
	v := w.create("kim@example.com", false)
	w.pump()
	ev.Request.UserAttributes = map[string]string{"email": "kim@example.com"}
	trigger.Handle(w.ctx, ev)
	if w.get(v.ID).Status != user.StatusActive {
		t.Error("activation by email")
	}
}

// The sample stream event in events/stream, as Lambda would deliver it
// for a release: the worker invites the user it names.
func TestSampleStreamEvent(t *testing.T) {
	w := newWorld(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "stream", "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var it item.User
	if err := item.FromImage(ev.Records[0].Change.NewImage, &it); err != nil {
		t.Fatal(err)
	}
	u, err := it.Domain()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.CreateUser(w.ctx, u, onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: u.Version, Action: "seed"}}, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := edge(w.worker)(w.ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	if got := w.get(u.ID); got.Status != user.StatusInvited || len(w.mail.to("priya.shah@example.com")) != 1 {
		t.Errorf("status %s, %d emails", got.Status, len(w.mail.to("priya.shah@example.com")))
	}
}
