package user_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/user"
)

// releasing is a user the release worker is on: released, at their
// second invitation (a resend).
func releasing(t *testing.T) user.User {
	t.Helper()
	u, err := rules.New(valid(), "u1", "mo@example.com", t0)
	if err != nil {
		t.Fatal(err)
	}
	u.HoldInvite, u.Status, u.StatusReason, u.InviteGeneration, u.Version = false, user.StatusReleasing, "", 2, 4
	return u
}

func TestWorkerTransitions(t *testing.T) {
	sent, now := t0.Add(time.Minute), t0.Add(2*time.Minute)
	changed := releasing(t)
	transitions := []struct {
		name   string
		apply  func(u user.User) (user.User, []user.Change)
		status user.Status
		// edit is what the transition does besides the status.
		edit func(u *user.User)
	}{
		{"invited", func(u user.User) (user.User, []user.Change) {
			return user.Invited(u, changed, sent, "release-worker", now)
		}, user.StatusInvited, func(u *user.User) { u.StatusReason, u.InvitedAt = "", sent }},
		{"release failed", func(u user.User) (user.User, []user.Change) {
			return user.ReleaseFailed(u, changed, "the address was rejected", "release-worker", now)
		}, user.StatusReleaseFailed, func(u *user.User) { u.StatusReason = "the address was rejected" }},
		{"re-enabled", func(u user.User) (user.User, []user.Change) {
			return user.ReEnabled(u, changed, "release-worker", now)
		}, user.StatusActive, func(u *user.User) { u.StatusReason = "" }},
	}
	// The user as stored when the outcome is recorded.
	stored := []struct {
		name  string
		edit  func(u *user.User)
		moved bool
	}{
		{"as the change left them", func(u *user.User) {}, false},
		{"edited by a manager since", func(u *user.User) { u.JobTitle, u.Version = "Night Lead", 5 }, false},
		{"a reason left from an earlier failure", func(u *user.User) { u.StatusReason = "bounced" }, false},
		{"held again", func(u *user.User) { u.HoldInvite, u.Status, u.Version = true, user.StatusSuspended, 5 }, true},
		{"sent a new invitation", func(u *user.User) { u.InviteGeneration, u.Version = 3, 5 }, true},
		{"recorded invited by an earlier copy", func(u *user.User) { u.Status, u.Version = user.StatusInvited, 5 }, true},
		{"recorded failed by an earlier copy", func(u *user.User) { u.Status, u.Version = user.StatusReleaseFailed, 5 }, true},
		{"active", func(u *user.User) { u.Status, u.Version = user.StatusActive, 5 }, true},
	}
	for _, tr := range transitions {
		for _, st := range stored {
			t.Run(tr.name+"/"+st.name, func(t *testing.T) {
				u := changed.Clone()
				st.edit(&u)
				before := u.Clone()
				n, changes := tr.apply(u)
				if !reflect.DeepEqual(u, before) {
					t.Errorf("the transition changed its input: %+v", u)
				}
				if st.moved {
					if !reflect.DeepEqual(n, u) || changes != nil {
						t.Errorf("a user who moved on: %+v %+v, want them unchanged and no changes", n, changes)
					}
					return
				}
				want := u.Clone()
				want.Status, want.Version, want.UpdatedAt, want.UpdatedBy = tr.status, u.Version+1, now, "release-worker"
				tr.edit(&want)
				if !reflect.DeepEqual(n, want) {
					t.Errorf("got  %+v\nwant %+v", n, want)
				}
				if wantChanges := []user.Change{{Field: "status", From: user.StatusReleasing, To: tr.status}}; !reflect.DeepEqual(changes, wantChanges) {
					t.Errorf("changes %+v, want %+v", changes, wantChanges)
				}
			})
		}
	}
}

func TestActivated(t *testing.T) {
	now := t0.Add(time.Hour)
	inStatus := func(st user.Status) user.User {
		u := releasing(t)
		u.Status, u.InvitedAt = st, t0
		u.HoldInvite = st == user.StatusSuspended || st == user.StatusIntroduction
		return u
	}
	own := user.SignIn{UserID: "u1", Email: "priya.shah@example.com"}
	tests := []struct {
		name      string
		u         user.User
		in        user.SignIn
		activates bool
	}{
		{"invited, by id and email", inStatus(user.StatusInvited), own, true},
		{"invited, by email alone", inStatus(user.StatusInvited), user.SignIn{Email: own.Email}, true},
		{"invited, by id alone", inStatus(user.StatusInvited), user.SignIn{UserID: "u1"}, true},
		{"invited, the email in another case", inStatus(user.StatusInvited), user.SignIn{UserID: "u1", Email: "Priya.Shah@Example.COM"}, true},
		{"invited, another login's email", inStatus(user.StatusInvited), user.SignIn{UserID: "u1", Email: "someone.else@example.com"}, false},
		// The worker emailed the password and died before recording it.
		{"releasing, by id and email", inStatus(user.StatusReleasing), own, true},
		{"releasing, by email alone", inStatus(user.StatusReleasing), user.SignIn{Email: own.Email}, false},
		{"releasing, by id alone", inStatus(user.StatusReleasing), user.SignIn{UserID: "u1"}, false},
		{"releasing, another user's id", inStatus(user.StatusReleasing), user.SignIn{UserID: "u2", Email: own.Email}, false},
		{"releasing, another login's email", inStatus(user.StatusReleasing), user.SignIn{UserID: "u1", Email: "someone.else@example.com"}, false},
		// Every later sign-in fires the trigger too.
		{"active", inStatus(user.StatusActive), own, false},
		{"suspended", inStatus(user.StatusSuspended), own, false},
		{"release failed", inStatus(user.StatusReleaseFailed), own, false},
		{"introduction", inStatus(user.StatusIntroduction), own, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, changes := user.Activated(tt.u, tt.in, "release-worker", now)
			if !tt.activates {
				if !reflect.DeepEqual(n, tt.u) || changes != nil {
					t.Errorf("%+v %+v, want the user unchanged and no changes", n, changes)
				}
				return
			}
			want := tt.u.Clone()
			want.Status, want.ActivatedAt, want.Version, want.UpdatedAt, want.UpdatedBy = user.StatusActive, now, tt.u.Version+1, now, "release-worker"
			if !reflect.DeepEqual(n, want) {
				t.Errorf("got  %+v\nwant %+v", n, want)
			}
			if wantChanges := []user.Change{{Field: "status", From: tt.u.Status, To: user.StatusActive}}; !reflect.DeepEqual(changes, wantChanges) {
				t.Errorf("changes %+v, want %+v", changes, wantChanges)
			}
		})
	}
}
