package release_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

// With a send rate, an email that would have to wait past the batch's
// deadline is not sent: its record is reported for a retry, and nothing
// is lost. (How long sends are spaced is measured by make bench, not
// timed here.)
func TestSendRateDefersWhatCannotWaitAndLosesNothing(t *testing.T) {
	w := newWorld(t)
	paced := release.New(release.Deps{Store: faultyStore{w.store, w}, Outcomes: w.system, Identity: w.identity, Mailer: w.mail, Compose: func(inv release.Invitation) (release.Message, error) {
		return release.Message{Subject: "Welcome", Text: inv.TemporaryPassword}, nil
	}, Passwords: func() (string, error) { return "Temp-Pass-0001!", nil }, Now: func() time.Time { return w.now }, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}, release.Config{LoginURL: "https://login.example.com", ClaimHold: time.Minute, SendRate: 0.001})
	a, b := w.create("a@example.com", false), w.create("b@example.com", false)
	ev, _, err := w.store.ReadFeed(w.ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(w.ctx, time.Minute) // Lambda's remaining time
	defer cancel()
	resp, err := edge(paced)(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.mail.sent); n != 1 {
		t.Fatalf("%d emails sent, want 1: the second must wait 1,000 s for the rate", n)
	}
	if len(resp.BatchItemFailures) == 0 {
		t.Fatal("the email that could not be sent in time was not reported for a retry")
	}
	sent, waiting := a, b
	if w.mail.sent[0].To == b.Email {
		sent, waiting = b, a
	}
	if got := w.get(sent.ID).Status; got != user.StatusInvited {
		t.Errorf("the user emailed is %s, want invited", got)
	}
	if got := w.get(waiting.ID).Status; got != user.StatusReleasing {
		t.Errorf("the user still waiting is %s, want releasing (to be retried)", got)
	}
	// The retry, without the pacing, sends it.
	if err := w.pump(); err != nil {
		t.Fatal(err)
	}
	if got := w.get(waiting.ID).Status; got != user.StatusInvited {
		t.Errorf("after the retry the user is %s, want invited", got)
	}
}

// A sign-in whose login carries neither an OpsOS user id nor an email
// activates nobody: an empty email must not match the first user.
func TestSignInWithoutUserActivatesNobody(t *testing.T) {
	ctx := context.Background()
	store, err := embedded.Open(filepath.Join(t.TempDir(), "opsos.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	invited := user.User{ID: "u-0001", Type: user.Internal, FirstName: "Ivy", LastName: "Invited", Email: "ivy@example.com", Role: "staff",
		Status: user.StatusInvited, InviteGeneration: 1, Version: 2, CreatedAt: now, UpdatedAt: now, InvitedAt: now}
	if err := store.CreateUser(ctx, invited, onboarding.AuditEntry{UserID: invited.ID, Audit: onboarding.Audit{Version: 2, At: now, Action: "create"}}, nil); err != nil {
		t.Fatal(err)
	}
	svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{}, func() time.Time { return now }, func() string { return "u-0002" })
	if err := svc.Activate(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.GetUser(ctx, invited.ID); got.Status != user.StatusInvited {
		t.Errorf("a sign-in of nobody made the first user %s", got.Status)
	}
}
