package release_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/user"
)

// onlyNotice fails unless exactly one notice was given about u, and
// returns it.
func onlyNotice(t *testing.T, w *world, u user.User) release.Notice {
	t.Helper()
	got := w.notes.of(u.ID)
	if len(got) != 1 {
		t.Fatalf("%d notices, want 1: %+v", len(got), got)
	}
	return got[0]
}

func TestReleaseIsAnnouncedOnce(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	if err := w.pump(); err != nil {
		t.Fatal(err)
	}
	want := release.Notice{Kind: release.NoticeInvited, UserID: u.ID, FullName: "Priya Shah", Email: "priya@example.com",
		Role: "staff", By: "admin@example.com", At: w.now}
	if got := onlyNotice(t, w, u); got != want {
		t.Errorf("notice\n got %+v\nwant %+v", got, want)
	}
}

func TestResendIsAnnouncedAsResend(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.pump()
	if _, err := w.svc.Resend(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	w.pump()
	got := w.notes.of(u.ID)
	if len(got) != 2 || got[0].Resend || !got[1].Resend || got[1].Kind != release.NoticeInvited || got[1].By != "admin@example.com" {
		t.Errorf("notices %+v", got)
	}
}

func TestIntroductionModeIsNotAnnounced(t *testing.T) {
	w := newWorld(t)
	u := w.create("priya@example.com", true)
	role := "planner"
	if _, err := w.svc.Edit(w.ctx, w.actor, u.ID, 0, user.Patch{Role: &role}); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if got := w.notes.of(u.ID); len(got) != 0 {
		t.Errorf("notices before release: %+v", got)
	}
}

func TestPermanentFailureIsAnnouncedWithItsReason(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.mail.inject(false, release.Permanent("the email address was rejected by the mail service", errors.New("MessageRejected")), 1)
	w.pump()
	got := onlyNotice(t, w, u)
	if got.Kind != release.NoticeReleaseFailed || got.Reason != "the email address was rejected by the mail service" || got.By != "admin@example.com" {
		t.Errorf("notice %+v", got)
	}
}

func TestHoldAndReleaseAgainAreAnnounced(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.pump()
	w.identity.setOwnPassword(u.Email, "My-Own-Password-1")
	w.system.Activate(w.ctx, u.ID, u.Email)
	w.pump()
	if _, err := w.svc.Hold(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	w.pump()
	if _, err := w.svc.Release(w.ctx, w.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	w.pump()
	var kinds []string
	for _, n := range w.notes.of(u.ID) {
		if n.By != "admin@example.com" {
			t.Errorf("%s notice by %q", n.Kind, n.By)
		}
		kinds = append(kinds, string(n.Kind))
	}
	// The first sign-in (invited → active) is not an outcome to announce.
	if got := strings.Join(kinds, ","); got != "invited,suspended,reactivated" {
		t.Errorf("notices %s", got)
	}
}

// outcomeBatch releases a user, lets the worker invite them, and returns
// the feed from the release on, the worker's own status write included:
// what Lambda would deliver again after a partial batch failure.
func outcomeBatch(t *testing.T, w *world) (user.User, events.DynamoDBEvent) {
	t.Helper()
	u, ev := releasedBatch(t, w)
	if resp, err := edge(w.worker)(w.ctx, ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	cp, _ := w.store.Checkpoint(w.ctx)
	ev, _, err := w.store.ReadFeed(w.ctx, cp, 100)
	if err != nil {
		t.Fatal(err)
	}
	return u, ev
}

// The stream delivers at least once; a redelivered or concurrently
// delivered outcome is announced once.
func TestRedeliveredOutcomeIsAnnouncedOnce(t *testing.T) {
	w := newWorld(t)
	u, ev := outcomeBatch(t, w)
	for i := range 3 {
		if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: %+v", i, resp)
		}
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { edge(w.worker)(w.ctx, ev) })
	}
	wg.Wait()
	if got := onlyNotice(t, w, u); got.Kind != release.NoticeInvited {
		t.Errorf("notice %+v", got)
	}
}

func TestNotifierErrorDoesNotFailTheRecord(t *testing.T) {
	w := newWorld(t)
	u, ev := releasedBatch(t, w)
	w.notes.set(errors.New("channel_not_found"), false)
	edge(w.worker)(w.ctx, ev)
	cp, _ := w.store.Checkpoint(w.ctx)
	ev, _, _ = w.store.ReadFeed(w.ctx, cp, 100)
	if resp, err := edge(w.worker)(w.ctx, ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("a failed notice failed the batch: %+v %v", resp, err)
	}
	if got := w.get(u.ID); got.Status != user.StatusInvited || len(w.mail.to(u.Email)) != 1 {
		t.Errorf("status %s, %d emails", got.Status, len(w.mail.to(u.Email)))
	}
	if !strings.Contains(w.logs.String(), `"msg":"notice not sent"`) || !strings.Contains(w.logs.String(), "channel_not_found") {
		t.Error("the failed notice was not logged")
	}
	// A later copy of the record tries again.
	w.notes.set(nil, false)
	edge(w.worker)(w.ctx, ev)
	onlyNotice(t, w, u)
}

func TestHungNotifierDoesNotHoldUpTheBatch(t *testing.T) {
	w := newWorld(t)
	u, _ := releasedBatch(t, w)
	w.notes.set(nil, true)
	if err := w.pump(); err != nil {
		t.Fatal(err)
	}
	if got := w.get(u.ID); got.Status != user.StatusInvited {
		t.Errorf("status %s", got.Status)
	}
	if !strings.Contains(w.logs.String(), "context deadline exceeded") {
		t.Error("the timed-out notice was not logged")
	}
}
