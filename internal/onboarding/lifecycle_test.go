package onboarding_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

// racingStore is the store with another writer: before each UpdateUser
// it runs race, if set, which may write the same user first, as a
// manager's request landing between the caller's read and its write.
type racingStore struct {
	*embedded.Store
	mu      sync.Mutex
	race    func(ctx context.Context, u user.User)
	updates int
}

func (s *racingStore) UpdateUser(ctx context.Context, u user.User, v int64, a onboarding.AuditEntry) error {
	s.mu.Lock()
	s.updates++
	race := s.race
	s.mu.Unlock()
	if race != nil {
		race(ctx, u)
	}
	return s.Store.UpdateUser(ctx, u, v, a)
}

func (s *racingStore) set(race func(ctx context.Context, u user.User)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.race, s.updates = race, 0
}

func (s *racingStore) attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates
}

// lifecycleWorld is the service on a racing store, a second manager
// writing the same table directly, and a user the worker is releasing.
type lifecycleWorld struct {
	ctx   context.Context
	store *racingStore
	svc   *onboarding.Service
	actor onboarding.Actor
	// other is another manager's service on the same table, past the race.
	other      *onboarding.Service
	otherActor onboarding.Actor
	// released is the user as the release left them: releasing.
	released user.User
	now      time.Time
}

var (
	sentAt     = t0.Add(time.Minute)
	recordedAt = t0.Add(2 * time.Minute)
)

func newLifecycleWorld(t *testing.T) *lifecycleWorld {
	t.Helper()
	ctx := context.Background()
	raw, err := embedded.Open(filepath.Join(t.TempDir(), "opsos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	w := &lifecycleWorld{ctx: ctx, store: &racingStore{Store: raw}, now: t0}
	clock := func() time.Time { return w.now }
	ids := 0
	newID := func() string { ids++; return fmt.Sprintf("id-%04d", ids) }
	w.svc = onboarding.New(w.store, access.DefaultCatalogue(), onboarding.Config{}, clock, newID)
	w.other = onboarding.New(raw, access.DefaultCatalogue(), onboarding.Config{}, clock, newID)
	w.actor = admin(t, w.svc)
	if w.otherActor, err = w.other.Authorize(ctx, onboarding.Identity{UserID: w.actor.User().ID, Source: onboarding.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	hold := false
	d := draft("ann@example.com")
	d.HoldInvite = &hold
	if w.released, _, err = w.svc.Create(ctx, w.actor, d, ""); err != nil {
		t.Fatal(err)
	}
	w.now = recordedAt
	return w
}

// editJobTitle is the other manager's write.
func (w *lifecycleWorld) editJobTitle(t *testing.T, title string) {
	t.Helper()
	if _, err := w.other.Edit(w.ctx, w.otherActor, w.released.ID, 0, user.Patch{JobTitle: &title}); err != nil {
		t.Fatalf("the other manager's edit: %v", err)
	}
}

func (w *lifecycleWorld) get(t *testing.T) user.User {
	t.Helper()
	u, err := w.store.GetUser(w.ctx, w.released.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (w *lifecycleWorld) history(t *testing.T) []onboarding.AuditEntry {
	t.Helper()
	h, err := w.store.History(w.ctx, w.released.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return h.Entries
}

// workerEntry is the audit entry of a release worker's record, as the
// store gives it back (the changes' values as JSON reads them).
func workerEntry(u user.User, action string, from, to user.Status) onboarding.AuditEntry {
	return onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: u.Version, At: recordedAt, ActorID: "release-worker", ActorEmail: "release-worker",
		Source: onboarding.SourceRelease, Action: action, Changes: []user.Change{{Field: "status", From: string(from), To: string(to)}}}}
}

func TestWorkerOutcomesAreRecorded(t *testing.T) {
	tests := []struct {
		name   string
		record func(w *lifecycleWorld) error
		action string
		want   func(u *user.User)
	}{
		{
			name:   "invited",
			record: func(w *lifecycleWorld) error { return w.svc.Invited(w.ctx, w.released, sentAt) },
			action: "invited",
			want:   func(u *user.User) { u.Status, u.InvitedAt = user.StatusInvited, sentAt },
		},
		{
			name:   "release failed",
			record: func(w *lifecycleWorld) error { return w.svc.ReleaseFailed(w.ctx, w.released, "rejected") },
			action: "release_failed",
			want:   func(u *user.User) { u.Status, u.StatusReason = user.StatusReleaseFailed, "rejected" },
		},
		{
			name:   "re-enabled",
			record: func(w *lifecycleWorld) error { return w.svc.ReEnabled(w.ctx, w.released) },
			action: "active",
			want:   func(u *user.User) { u.Status = user.StatusActive },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLifecycleWorld(t)
			if err := tt.record(w); err != nil {
				t.Fatal(err)
			}
			want := w.released.Clone()
			tt.want(&want)
			want.Version, want.UpdatedAt, want.UpdatedBy = w.released.Version+1, recordedAt, "release-worker"
			if got := w.get(t); !reflect.DeepEqual(got, want) {
				t.Errorf("stored\n got  %+v\n want %+v", got, want)
			}
			h := w.history(t)
			if got, want := h[len(h)-1], workerEntry(want, tt.action, user.StatusReleasing, want.Status); !reflect.DeepEqual(got, want) {
				t.Errorf("audit entry\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

// A manager's write between the worker's read and its write: the record
// is read and applied again, on top of the manager's change.
func TestWorkerOutcomeRetriedAfterAConcurrentWrite(t *testing.T) {
	w := newLifecycleWorld(t)
	var once sync.Once
	w.store.set(func(context.Context, user.User) { once.Do(func() { w.editJobTitle(t, "Night Lead") }) })
	if err := w.svc.Invited(w.ctx, w.released, sentAt); err != nil {
		t.Fatal(err)
	}
	if n := w.store.attempts(); n != 2 {
		t.Errorf("%d writes, want 2: the conflict and the retry", n)
	}
	got := w.get(t)
	if got.Status != user.StatusInvited || got.JobTitle != "Night Lead" || got.Version != w.released.Version+2 || !got.InvitedAt.Equal(sentAt) {
		t.Errorf("stored %+v, want invited over the manager's edit, at version %d", got, w.released.Version+2)
	}
	h := w.history(t)
	if len(h) != 3 || h[1].Action != "edit" || !reflect.DeepEqual(h[2], workerEntry(got, "invited", user.StatusReleasing, user.StatusInvited)) {
		t.Errorf("history %+v, want create, the manager's edit, invited", h)
	}
}

// A user who keeps changing wins: the record gives up after a few tries
// with the conflict, so that the delivery is retried.
func TestWorkerOutcomeGivesUpOnAUserWhoKeepsChanging(t *testing.T) {
	w := newLifecycleWorld(t)
	n := 0
	w.store.set(func(context.Context, user.User) { n++; w.editJobTitle(t, fmt.Sprintf("Title %d", n)) })
	err := w.svc.Invited(w.ctx, w.released, sentAt)
	if !errors.Is(err, user.ErrVersionConflict) {
		t.Fatalf("err = %v, want a version conflict", err)
	}
	if got := w.store.attempts(); got != 5 {
		t.Errorf("%d writes, want 5", got)
	}
	if got := w.get(t); got.Status != user.StatusReleasing {
		t.Errorf("status %s, want still releasing", got.Status)
	}
}

// A user who has moved on since the change is left alone: nothing is
// written, and that is no error.
func TestWorkerOutcomeLeavesAUserWhoMovedOnAlone(t *testing.T) {
	for _, tt := range []struct {
		name string
		move func(t *testing.T, w *lifecycleWorld)
	}{
		{"held again", func(t *testing.T, w *lifecycleWorld) {
			if _, err := w.other.Hold(w.ctx, w.otherActor, w.released.ID, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"sent a new invitation", func(t *testing.T, w *lifecycleWorld) {
			if _, err := w.other.Resend(w.ctx, w.otherActor, w.released.ID, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"recorded by an earlier copy", func(t *testing.T, w *lifecycleWorld) {
			if err := w.svc.Invited(w.ctx, w.released, sentAt); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newLifecycleWorld(t)
			tt.move(t, w)
			before, entries := w.get(t), len(w.history(t))
			w.store.set(nil)
			for name, record := range map[string]func() error{
				"invited":        func() error { return w.svc.Invited(w.ctx, w.released, sentAt.Add(time.Hour)) },
				"release failed": func() error { return w.svc.ReleaseFailed(w.ctx, w.released, "bounced") },
				"re-enabled":     func() error { return w.svc.ReEnabled(w.ctx, w.released) },
			} {
				if err := record(); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			if n := w.store.attempts(); n != 0 {
				t.Errorf("%d writes, want none", n)
			}
			if got := w.get(t); !reflect.DeepEqual(got, before) || len(w.history(t)) != entries {
				t.Errorf("the user was written: %+v", got)
			}
		})
	}
	t.Run("gone", func(t *testing.T) {
		w := newLifecycleWorld(t)
		gone := w.released
		gone.ID = "id-gone"
		if err := w.svc.Invited(w.ctx, gone, sentAt); err != nil {
			t.Errorf("a user who is not there: %v, want nothing done", err)
		}
	})
}

// A manager's change is tried once: a write in between is the manager's
// to look at, not the service's to paper over.
func TestManagerChangeIsNotRetried(t *testing.T) {
	w := newLifecycleWorld(t)
	var once sync.Once
	w.store.set(func(context.Context, user.User) { once.Do(func() { w.editJobTitle(t, "Night Lead") }) })
	title := "Shift Lead"
	_, err := w.svc.Edit(w.ctx, w.actor, w.released.ID, 0, user.Patch{JobTitle: &title})
	if !errors.Is(err, user.ErrVersionConflict) {
		t.Fatalf("err = %v, want the version conflict", err)
	}
	if n := w.store.attempts(); n != 1 {
		t.Errorf("%d writes, want 1", n)
	}
	if got := w.get(t); got.JobTitle != "Night Lead" {
		t.Errorf("job title %q, want the other manager's", got.JobTitle)
	}
	// The version the manager read is honoured before anything else.
	w.store.set(nil)
	if _, err := w.svc.Edit(w.ctx, w.actor, w.released.ID, w.released.Version, user.Patch{JobTitle: &title}); !errors.Is(err, user.ErrVersionConflict) {
		t.Errorf("a stale expected version: %v, want the version conflict", err)
	}
	if n := w.store.attempts(); n != 0 {
		t.Errorf("%d writes on a stale version, want none", n)
	}
}

func TestActivate(t *testing.T) {
	invite := func(t *testing.T, w *lifecycleWorld) user.User {
		t.Helper()
		if err := w.svc.Invited(w.ctx, w.released, sentAt); err != nil {
			t.Fatal(err)
		}
		return w.get(t)
	}
	for _, tt := range []struct {
		name          string
		invited       bool
		userID, email string
		activates     bool
	}{
		{"invited, by id and email", true, "id-0002", "ann@example.com", true},
		{"invited, by email alone", true, "", "Ann@Example.com", true},
		{"releasing, by id and email", false, "id-0002", "ann@example.com", true},
		{"releasing, by email alone", false, "", "ann@example.com", false},
		{"neither id nor email", true, "", " ", false},
		{"no such user", true, "id-gone", "ann@example.com", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newLifecycleWorld(t)
			if w.released.ID != "id-0002" {
				t.Fatalf("the released user is %s", w.released.ID)
			}
			before := w.released
			if tt.invited {
				before = invite(t, w)
			}
			if err := w.svc.Activate(w.ctx, tt.userID, tt.email); err != nil {
				t.Fatal(err)
			}
			got := w.get(t)
			if !tt.activates {
				if !reflect.DeepEqual(got, before) {
					t.Errorf("the user was written: %+v", got)
				}
				return
			}
			want := before.Clone()
			want.Status, want.ActivatedAt, want.Version, want.UpdatedAt, want.UpdatedBy = user.StatusActive, recordedAt, before.Version+1, recordedAt, "release-worker"
			if !reflect.DeepEqual(got, want) {
				t.Errorf("stored\n got  %+v\n want %+v", got, want)
			}
			h := w.history(t)
			if got, want := h[len(h)-1], workerEntry(want, "activated", before.Status, user.StatusActive); !reflect.DeepEqual(got, want) {
				t.Errorf("audit entry\n got  %+v\n want %+v", got, want)
			}
			// Every later sign-in fires the trigger too: nothing changes.
			if err := w.svc.Activate(w.ctx, tt.userID, tt.email); err != nil || w.get(t).Version != want.Version {
				t.Errorf("a later sign-in: %v, version %d", err, w.get(t).Version)
			}
		})
	}
}
