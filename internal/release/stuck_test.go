package release_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/user"
)

// TestReleaseFailedLeavesNoEnabledLogin: the mail service rejects the
// address after the login was created — before the email went out, or
// after (a bounce reported as a rejection). Either way the login is left
// disabled, so the emailed password opens nothing while the status says
// failed, and a resend turns it back on with a new password.
func TestReleaseFailedLeavesNoEnabledLogin(t *testing.T) {
	for _, sent := range []bool{false, true} {
		t.Run(map[bool]string{false: "rejected before sending", true: "rejected after sending"}[sent], func(t *testing.T) {
			w := newWorld(t)
			u, _ := releasedBatch(t, w)
			w.mail.inject(sent, release.Permanent("the email address was rejected by the mail service", errors.New("MessageRejected")), 1)
			if err := w.pump(); err != nil {
				t.Fatal(err)
			}
			if got := w.get(u.ID); got.Status != user.StatusReleaseFailed {
				t.Fatalf("status %s", got.Status)
			}
			st, _ := w.identity.State(w.ctx, u.Email)
			if st.Status == release.LoginNone || st.Enabled {
				t.Errorf("after the failure the login is %+v, want it disabled", st)
			}
			if msgs := w.mail.to(u.Email); sent {
				if len(msgs) != 1 {
					t.Fatalf("%d emails", len(msgs))
				}
				if err := w.identity.signIn(u.Email, passwordIn(t, msgs[0])); err == nil {
					t.Error("the emailed password opens the login of a failed release")
				}
			}
			if _, err := w.svc.Resend(w.ctx, w.actor, u.ID, 0); err != nil {
				t.Fatal(err)
			}
			if err := w.pump(); err != nil {
				t.Fatal(err)
			}
			msgs := w.mail.to(u.Email)
			if got := w.get(u.ID); got.Status != user.StatusInvited || len(msgs) == 0 {
				t.Fatalf("after the resend: status %s, %d emails", got.Status, len(msgs))
			}
			if err := w.identity.signIn(u.Email, passwordIn(t, msgs[len(msgs)-1])); err != nil {
				t.Errorf("the resent password: %v", err)
			}
		})
	}
}

// TestFailedReleaseRetriedWhenTheLoginCannotBeDisabled: a failure that
// would leave the login enabled is not recorded; the change is retried.
func TestFailedReleaseRetriedWhenTheLoginCannotBeDisabled(t *testing.T) {
	w := newWorld(t)
	u, ev := releasedBatch(t, w)
	w.mail.inject(false, release.Permanent("the email address was rejected by the mail service", errors.New("MessageRejected")), 2)
	w.identity.inject("Suspend", false, errors.New("throttled"), 1)
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) == 0 {
		t.Fatal("a failure that left the login enabled was not retried")
	}
	if got := w.get(u.ID); got.Status != user.StatusReleasing {
		t.Fatalf("status %s, want still releasing", got.Status)
	}
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: %+v", resp)
	}
	st, _ := w.identity.State(w.ctx, u.Email)
	if got := w.get(u.ID); got.Status != user.StatusReleaseFailed || st.Enabled {
		t.Errorf("status %s, login enabled %v", got.Status, st.Enabled)
	}
}

// crashBeforeInvited releases a user whose worker creates the login and
// sends the email, then dies before recording invited (every status
// write fails until the claim runs out); it returns the user and the
// emailed password.
func crashBeforeInvited(t *testing.T, w *world) (user.User, string) {
	t.Helper()
	u, ev := releasedBatch(t, w)
	w.storeFaults = append(w.storeFaults, &fault{method: "UpdateUser", err: errors.New("the process was killed"), times: 1})
	if resp, _ := edge(w.worker)(w.ctx, ev); len(resp.BatchItemFailures) == 0 {
		t.Fatal("the lost status write was not reported")
	}
	msgs := w.mail.to(u.Email)
	if got := w.get(u.ID); got.Status != user.StatusReleasing || len(msgs) != 1 {
		t.Fatalf("status %s, %d emails", got.Status, len(msgs))
	}
	return u, passwordIn(t, msgs[0])
}

// TestFirstSignInActivatesAUserStillReleasing: the user got the email of
// a release whose worker died before recording it, and signs in: they
// become active, and the release's retry sends nothing more.
func TestFirstSignInActivatesAUserStillReleasing(t *testing.T) {
	w := newWorld(t)
	u, pw := crashBeforeInvited(t, w)
	if err := w.identity.signIn(u.Email, pw); err != nil {
		t.Fatal(err)
	}
	w.identity.setOwnPassword(u.Email, "My-Own-Password-1")
	w.advance(time.Minute)
	if err := w.system.Activate(w.ctx, u.ID, strings.ToUpper(u.Email)); err != nil {
		t.Fatal(err)
	}
	got := w.get(u.ID)
	if got.Status != user.StatusActive || !got.ActivatedAt.Equal(w.now) {
		t.Fatalf("status %s activatedAt %v", got.Status, got.ActivatedAt)
	}
	w.advance(2 * time.Minute) // the crashed delivery's claim runs out
	if err := w.pump(); err != nil {
		t.Fatal(err)
	}
	if n := len(w.mail.to(u.Email)); n != 1 || w.get(u.ID).Status != user.StatusActive {
		t.Errorf("after the retry: %d emails, status %s", n, w.get(u.ID).Status)
	}
	for _, n := range w.notes.of(u.ID) {
		if n.Kind == release.NoticeReactivated {
			t.Errorf("a first sign-in was announced as a re-enable: %+v", n)
		}
	}
}

// TestSignInOfAnotherLoginLeavesAReleaseAlone: a user still releasing is
// activated only by a login that names them by id and email both.
func TestSignInOfAnotherLoginLeavesAReleaseAlone(t *testing.T) {
	w := newWorld(t)
	u, _ := crashBeforeInvited(t, w)
	for _, tt := range []struct{ name, id, email string }{
		{"another email", u.ID, "someone.else@example.com"},
		{"no OpsOS id", "", u.Email},
		{"no email", u.ID, ""},
	} {
		if err := w.system.Activate(w.ctx, tt.id, tt.email); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if got := w.get(u.ID); got.Status != user.StatusReleasing {
			t.Errorf("%s: status %s, want still releasing", tt.name, got.Status)
		}
	}
}

// TestLocalFirstSignInActivatesAStuckRelease is the same on the local
// login adapter, whose sign-in calls the post-authentication handler: the
// worker's status writes all fail until Lambda gives the record up, so
// the user stays releasing with their email sent; signing in with it
// makes them active.
func TestLocalFirstSignInActivatesAStuckRelease(t *testing.T) {
	r := newRig(t, delivery{})
	r.create("ann", "ann@example.com")
	r.deliver()
	r.faults.fail("UpdateUser", false, 1, 1000, errors.New("the process was killed"))
	r.act("release", "ann")
	r.deliver()
	p := r.person("ann")
	if got, _ := r.store.GetUser(r.ctx, p.id); got.Status != user.StatusReleasing || len(r.mailTo(p.email)) == 0 {
		t.Fatalf("status %s, %d emails", got.Status, len(r.mailTo(p.email)))
	}
	r.firstSignIn("ann")
	if got, _ := r.store.GetUser(r.ctx, p.id); got.Status != user.StatusActive || got.ActivatedAt.IsZero() {
		t.Errorf("after the first sign-in: status %s, activated %v", got.Status, got.ActivatedAt)
	}
}
