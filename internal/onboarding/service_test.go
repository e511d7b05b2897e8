package onboarding_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func newService(t *testing.T) (*onboarding.Service, *embedded.Store) {
	t.Helper()
	store, err := embedded.Open(filepath.Join(t.TempDir(), "opsos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var n atomic.Int64
	ids := func() string { return fmt.Sprintf("id-%04d", n.Add(1)) }
	return onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{}, func() time.Time { return t0 }, ids), store
}

func admin(t *testing.T, svc *onboarding.Service) onboarding.Actor {
	t.Helper()
	a, _, err := svc.Bootstrap(context.Background(), "Admin@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	actor, err := svc.Authorize(context.Background(), onboarding.Identity{UserID: a.ID, Source: onboarding.SourceCLI})
	if err != nil {
		t.Fatal(err)
	}
	return actor
}

func draft(email string) user.Draft {
	return user.Draft{FirstName: "Ann", LastName: "Lee", Email: email, Role: "staff"}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	a, created, err := svc.Bootstrap(ctx, "Admin@Example.com")
	if err != nil || !created {
		t.Fatalf("first bootstrap: created=%v err=%v", created, err)
	}
	if a.Email != "admin@example.com" || a.Role != "administrator" || a.Status != user.StatusActive || a.HoldInvite {
		t.Errorf("administrator: %+v", a)
	}
	again, created, err := svc.Bootstrap(ctx, "admin@example.com")
	if err != nil || created || again.ID != a.ID {
		t.Errorf("second bootstrap: %v %v %v", again.ID, created, err)
	}
	if _, _, err := svc.Bootstrap(ctx, "someone.else@example.com"); err == nil {
		t.Error("bootstrap of another email on a store with users must fail, not add an administrator")
	}
}

func TestCreateAuditEntry(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	actor := admin(t, svc)
	u, _, err := svc.Create(ctx, actor, draft("ann@example.com"), "")
	if err != nil {
		t.Fatal(err)
	}
	h, err := svc.History(ctx, actor, u.ID, 0, "")
	if err != nil || len(h.Entries) != 1 {
		t.Fatalf("history: %+v %v", h, err)
	}
	e := h.Entries[0]
	if e.Action != "create" || e.ActorID != actor.User().ID || e.Source != onboarding.SourceCLI || !e.At.Equal(t0) {
		t.Errorf("entry: %+v", e)
	}
	hold := false
	for _, c := range e.Changes {
		if c.From != nil {
			t.Errorf("create entry has a from value: %+v", c)
		}
		hold = hold || (c.Field == "holdInvite" && c.To == true)
	}
	if !hold {
		t.Errorf("create entry does not record Hold Invite = Yes: %+v", e.Changes)
	}
}

func TestConcurrentRetriesWithOneKeyMakeOneUser(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	actor := admin(t, svc)
	const n = 10
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, _, err := svc.Create(ctx, actor, draft("ann@example.com"), "retry-key")
			got[i], errs[i] = u.ID, err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] {
			t.Errorf("request %d: id %q err %v, want the first user %q", i, got[i], errs[i], got[0])
		}
	}
	p, _ := store.ListUsers(ctx, onboarding.ListQuery{Email: "ann@example.com"})
	if len(p.Users) != 1 {
		t.Errorf("%d users with the email", len(p.Users))
	}
}

func TestIdempotencyKeysArePerManager(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	a := admin(t, svc)
	hold := false
	m, _, err := svc.Create(ctx, a, user.Draft{FirstName: "Mo", LastName: "Ops", Email: "mo@example.com", Role: "operations-manager", HoldInvite: &hold}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authorize(ctx, onboarding.Identity{UserID: m.ID}); user.ErrorCode(err) != user.CodeForbidden {
		t.Fatalf("a manager whose access is still being released: %v", err)
	}
	// Mo's login comes from the release worker; here it is marked done, as
	// the worker records it.
	active := m
	active.Status, active.Version = user.StatusActive, 2
	if err := store.UpdateUser(ctx, active, 1, onboarding.AuditEntry{UserID: m.ID, Version: 2, At: t0, Action: "activated"}); err != nil {
		t.Fatal(err)
	}
	mo, err := svc.Authorize(ctx, onboarding.Identity{Email: "MO@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	u1, _, err := svc.Create(ctx, a, draft("one@example.com"), "same-key")
	if err != nil {
		t.Fatal(err)
	}
	u2, replayed, err := svc.Create(ctx, mo, draft("two@example.com"), "same-key")
	if err != nil || replayed || u2.ID == u1.ID {
		t.Errorf("another manager's key replayed: %v %v %v", u2.ID, replayed, err)
	}
}

type fakeLogins map[string]user.LoginFacts

func (f fakeLogins) LoginFacts(ctx context.Context, email string) (user.LoginFacts, error) {
	return f[email], nil
}

func TestStatusAsksTheIdentityProvider(t *testing.T) {
	ctx := context.Background()
	store, err := embedded.Open(filepath.Join(t.TempDir(), "opsos.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logins := fakeLogins{"admin@example.com": {Exists: true, Enabled: true, Confirmed: true}}
	svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{Logins: logins}, func() time.Time { return t0 }, func() string { return "id-1" })
	actor := admin(t, svc)
	_, d, err := svc.Status(ctx, actor, actor.User().ID)
	if err != nil || !d.CanLogIn {
		t.Fatalf("%+v %v", d, err)
	}
	delete(logins, "admin@example.com")
	if _, d, _ := svc.Status(ctx, actor, actor.User().ID); d.CanLogIn || !strings.Contains(d.Summary, "no login") {
		t.Errorf("active user without a login: %+v", d)
	}
}
