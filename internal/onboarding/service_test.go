package onboarding_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
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
	a, _, err := svc.Bootstrap(context.Background(), "Admin@Example.com", "")
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
	a, created, err := svc.Bootstrap(ctx, "Admin@Example.com", "")
	if err != nil || !created {
		t.Fatalf("first bootstrap: created=%v err=%v", created, err)
	}
	if a.Email != "admin@example.com" || a.Role != "administrator" || a.Status != user.StatusActive || a.HoldInvite {
		t.Errorf("administrator: %+v", a)
	}
	again, created, err := svc.Bootstrap(ctx, "admin@example.com", "")
	if err != nil || created || again.ID != a.ID {
		t.Errorf("second bootstrap: %v %v %v", again.ID, created, err)
	}
	if _, _, err := svc.Bootstrap(ctx, "someone.else@example.com", ""); err == nil {
		t.Error("bootstrap of another email on a store with users must fail, not add an administrator")
	}
}

func TestBootstrapLinksSlack(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	a, created, err := svc.Bootstrap(ctx, "admin@example.com", " u0admin ")
	if err != nil || !created || a.SlackUserID != "U0ADMIN" {
		t.Fatalf("bootstrap with a Slack user: %q created=%v err=%v", a.SlackUserID, created, err)
	}
	// No Slack user, or the same one, changes nothing.
	for _, slack := range []string{"", "U0ADMIN", "u0admin"} {
		if u, _, err := svc.Bootstrap(ctx, "admin@example.com", slack); err != nil || u.Version != 1 || u.SlackUserID != "U0ADMIN" {
			t.Errorf("bootstrap again with %q: v%d %q %v", slack, u.Version, u.SlackUserID, err)
		}
	}
	u, created, err := svc.Bootstrap(ctx, "admin@example.com", "W0OTHER")
	if err != nil || created || u.Version != 2 || u.SlackUserID != "W0OTHER" || u.UpdatedBy != "system" {
		t.Fatalf("bootstrap with another Slack user: %+v created=%v err=%v", u, created, err)
	}
	if got, _ := store.GetUser(ctx, a.ID); got.SlackUserID != "W0OTHER" || got.Version != 2 {
		t.Errorf("stored administrator: %q v%d", got.SlackUserID, got.Version)
	}
	h, _ := store.History(ctx, a.ID, 10, "")
	if len(h.Entries) != 2 {
		t.Fatalf("history: %+v", h.Entries)
	}
	if c := h.Entries[0].Changes; !slices.ContainsFunc(c, func(c user.Change) bool { return c.Field == "slackUserId" && c.To == "U0ADMIN" }) {
		t.Errorf("bootstrap entry does not record the Slack user: %+v", c)
	}
	e := h.Entries[1]
	want := []user.Change{{Field: "slackUserId", From: "U0ADMIN", To: "W0OTHER"}}
	if e.Action != "link-slack" || e.Source != onboarding.SourceCLI || e.ActorID != "system" || e.Version != 2 || !slices.Equal(e.Changes, want) {
		t.Errorf("link entry: %+v", e)
	}
	if _, _, err := svc.Bootstrap(ctx, "admin@example.com", "#general"); user.ErrorCode(err) != user.CodeInvalid {
		t.Errorf("bootstrap with a bad Slack user: %v", err)
	}
	// The Slack user of another user is not taken over.
	mgr := activeUser(t, store, "mo@example.com", "operations-manager", "U0MO")
	if _, _, err := svc.Bootstrap(ctx, "admin@example.com", "U0MO"); !errors.Is(err, onboarding.ErrSlackUserIDTaken) {
		t.Errorf("bootstrap with another user's Slack user: %v", err)
	}
	if got, _ := store.GetUser(ctx, mgr.ID); got.Version != 1 {
		t.Errorf("the other user was changed: v%d", got.Version)
	}
}

func TestBootstrapLinksSlackLater(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	a, _, err := svc.Bootstrap(ctx, "admin@example.com", "")
	if err != nil || a.SlackUserID != "" {
		t.Fatalf("bootstrap: %q %v", a.SlackUserID, err)
	}
	u, created, err := svc.Bootstrap(ctx, "admin@example.com", "U0ADMIN")
	if err != nil || created || u.ID != a.ID || u.SlackUserID != "U0ADMIN" || u.Version != 2 {
		t.Errorf("link at a later start: %+v created=%v err=%v", u, created, err)
	}
}

// activeUser stores an active user with role and Slack user directly, as
// the release worker would leave them, and returns it.
func activeUser(t *testing.T, store *embedded.Store, email, role, slack string) user.User {
	t.Helper()
	u := user.User{
		ID: "u-" + strings.Split(email, "@")[0], Type: user.Internal, FirstName: "A", LastName: "B", Email: email,
		Role: role, SlackUserID: slack, Status: user.StatusActive, Version: 1, CreatedAt: t0, UpdatedAt: t0,
	}
	if err := store.CreateUser(context.Background(), u, onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: 1, At: t0, Action: "create"}}, nil); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAuthorizeBySlackUser(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	a, _, err := svc.Bootstrap(ctx, "admin@example.com", "U0ADMIN")
	if err != nil {
		t.Fatal(err)
	}
	activeUser(t, store, "mo@example.com", "operations-manager", "")
	activeUser(t, store, "ops@example.com", "operations-manager", "U0OPS")
	activeUser(t, store, "staff@example.com", "staff", "U0STAFF")
	// Two users linked to one Slack user, as a race between two links can
	// leave them.
	activeUser(t, store, "twin1@example.com", "operations-manager", "U0TWIN")
	activeUser(t, store, "twin2@example.com", "operations-manager", "U0TWIN")
	newbie := activeUser(t, store, "new@example.com", "operations-manager", "U0NEW")
	newbie.HoldInvite, newbie.Status, newbie.Version = true, user.StatusIntroduction, 2
	if err := store.UpdateUser(ctx, newbie, 1, onboarding.AuditEntry{UserID: newbie.ID, Audit: onboarding.Audit{Version: 2, At: t0, Action: "edit"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		slack, email string
		want         string // the email of the actor, or what the refusal says
		unknown      bool
	}{
		{"linked", "U0ADMIN", "", "admin@example.com", false},
		{"linked, in other letter case", " u0admin", "", "admin@example.com", false},
		{"linked, with its email", "U0ADMIN", "Admin@Example.com", "admin@example.com", false},
		{"linked, with another user's email", "U0ADMIN", "mo@example.com", "linked to another OpsOS user", false},
		{"linked to two users", "U0TWIN", "twin1@example.com", "more than one OpsOS user", false},
		{"not linked, no email", "U0NOBODY", "", "not linked to an OpsOS user", true},
		{"not linked, email of an unlinked user", "U0NOBODY", "mo@example.com", "mo@example.com", false},
		{"not linked, email of a user linked elsewhere", "U0NOBODY", "ops@example.com", "linked to another Slack account", false},
		{"not linked, unknown email", "U0NOBODY", "stranger@example.com", "not an OpsOS user", false},
		{"linked, without users.manage", "U0STAFF", "", "users.manage", false},
		{"linked, not yet released", "U0NEW", "", "not active", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actor, err := svc.Authorize(ctx, onboarding.Identity{SlackUserID: tt.slack, Email: tt.email, Source: onboarding.SourceSlack})
			if strings.Contains(tt.want, "@") {
				if err != nil || actor.User().Email != tt.want || actor.SlackUserID() != user.NormalizeSlackUserID(tt.slack) || actor.Source() != onboarding.SourceSlack {
					t.Fatalf("actor %q as %q, err %v; want %s", actor.User().Email, actor.SlackUserID(), err, tt.want)
				}
				return
			}
			if user.ErrorCode(err) != user.CodeForbidden || !strings.Contains(user.ErrorMessage(err), tt.want) {
				t.Errorf("err = %v, want forbidden saying %q", err, tt.want)
			}
			if errors.Is(err, onboarding.ErrSlackUserUnknown) != tt.unknown {
				t.Errorf("errors.Is(%v, ErrSlackUserUnknown) = %v", err, !tt.unknown)
			}
		})
	}
	// A user id still wins over the Slack user, as before.
	if actor, err := svc.Authorize(ctx, onboarding.Identity{UserID: a.ID, SlackUserID: "U0NOBODY"}); err != nil || actor.User().ID != a.ID {
		t.Errorf("by user id: %v", err)
	}
}

func TestSlackActorIsAudited(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	if _, _, err := svc.Bootstrap(ctx, "admin@example.com", "U0ADMIN"); err != nil {
		t.Fatal(err)
	}
	viaSlack, err := svc.Authorize(ctx, onboarding.Identity{SlackUserID: "U0ADMIN", Source: onboarding.SourceSlack})
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := svc.Create(ctx, viaSlack, draft("ann@example.com"), "")
	if err != nil {
		t.Fatal(err)
	}
	title := "Lead"
	if _, err := svc.Edit(ctx, admin(t, svc), u.ID, 0, user.Patch{JobTitle: &title}); err != nil {
		t.Fatal(err)
	}
	h, err := svc.History(ctx, viaSlack, u.ID, 0, "")
	if err != nil || len(h.Entries) != 2 {
		t.Fatalf("history: %+v %v", h, err)
	}
	if e := h.Entries[0]; e.SlackUserID != "U0ADMIN" || e.Source != onboarding.SourceSlack {
		t.Errorf("entry of a change through Slack: %+v", e)
	}
	if e := h.Entries[1]; e.SlackUserID != "" || e.Source != onboarding.SourceCLI {
		t.Errorf("entry of a change from the command line: %+v", e)
	}
}

func TestSlackUserLinkedToOneUser(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	actor := admin(t, svc)
	d := draft("ann@example.com")
	d.SlackUserID = "u0ann"
	ann, _, err := svc.Create(ctx, actor, d, "")
	if err != nil || ann.SlackUserID != "U0ANN" {
		t.Fatalf("create linked: %q %v", ann.SlackUserID, err)
	}
	d = draft("bob@example.com")
	d.SlackUserID = "U0ANN"
	_, _, err = svc.Create(ctx, actor, d, "")
	if !errors.Is(err, onboarding.ErrSlackUserIDTaken) || user.ErrorCode(err) != user.CodeConflict ||
		!slices.Equal(user.ErrorFields(err), []user.FieldError{{Field: "slackUserId", Message: "is already linked to another user"}}) {
		t.Fatalf("create with a taken Slack user: %v", err)
	}
	if p, _ := store.ListUsers(ctx, onboarding.ListQuery{Email: "bob@example.com"}); len(p.Users) != 0 {
		t.Error("the refused user was stored")
	}
	bob, _, err := svc.Create(ctx, actor, draft("bob@example.com"), "")
	if err != nil {
		t.Fatal(err)
	}
	taken, none := "U0ANN", ""
	if _, err := svc.Edit(ctx, actor, bob.ID, 0, user.Patch{SlackUserID: &taken}); !errors.Is(err, onboarding.ErrSlackUserIDTaken) {
		t.Errorf("edit to a taken Slack user: %v", err)
	}
	if got, _ := store.GetUser(ctx, bob.ID); got.Version != 1 || got.SlackUserID != "" {
		t.Errorf("the refused edit was stored: %+v", got)
	}
	// Relinking a user to its own Slack user is no conflict, and changes nothing.
	if u, err := svc.Edit(ctx, actor, ann.ID, 0, user.Patch{SlackUserID: &taken}); err != nil || u.Version != 1 {
		t.Errorf("relink to its own Slack user: v%d %v", u.Version, err)
	}
	// Once Ann is unlinked, Bob may have the Slack user.
	if u, err := svc.Edit(ctx, actor, ann.ID, 0, user.Patch{SlackUserID: &none}); err != nil || u.SlackUserID != "" {
		t.Fatalf("unlink: %q %v", u.SlackUserID, err)
	}
	if u, err := svc.Edit(ctx, actor, bob.ID, 0, user.Patch{SlackUserID: &taken}); err != nil || u.SlackUserID != "U0ANN" {
		t.Errorf("link after the unlink: %q %v", u.SlackUserID, err)
	}
	p, err := svc.List(ctx, actor, onboarding.ListQuery{SlackUserID: "u0ann"})
	if err != nil || len(p.Users) != 1 || p.Users[0].ID != bob.ID {
		t.Errorf("list by Slack user: %+v %v", p.Users, err)
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
	// With a Slack user too, a retry that loses the race learns of the
	// first attempt rather than that its Slack user is taken.
	for _, slack := range []string{"", "U0ANN"} {
		t.Run("slack="+slack, func(t *testing.T) {
			ctx := context.Background()
			svc, store := newService(t)
			actor := admin(t, svc)
			d := draft("ann@example.com")
			d.SlackUserID = slack
			const n = 10
			var wg sync.WaitGroup
			got := make([]string, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					u, _, err := svc.Create(ctx, actor, d, "retry-key")
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
		})
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
	if err := store.UpdateUser(ctx, active, 1, onboarding.AuditEntry{UserID: m.ID, Audit: onboarding.Audit{Version: 2, At: t0, Action: "activated"}}); err != nil {
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

// In AWS the first administrator is released, not made active: the
// stream invites them like anyone else.
func TestInviteFirstAdministrator(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	a, created, err := svc.InviteFirstAdministrator(ctx, onboarding.FirstAdministrator{Email: "Ops.Lead@Example.com", FirstName: "Grace", LastName: "Hopper"})
	if err != nil || !created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	if a.Status != user.StatusReleasing || a.HoldInvite || a.InviteGeneration != 1 || a.Role != "administrator" || a.Name() != "Grace Hopper" || !a.ActivatedAt.IsZero() {
		t.Errorf("first administrator %+v, want Grace Hopper released (releasing, generation 1), not active", a)
	}
	h, err := store.History(ctx, a.ID, 10, "")
	if err != nil || len(h.Entries) != 1 || h.Entries[0].Action != "bootstrap" {
		t.Errorf("history %+v %v", h.Entries, err)
	}
	again, created, err := svc.InviteFirstAdministrator(ctx, onboarding.FirstAdministrator{Email: "ops.lead@example.com"})
	if err != nil || created || again.Version != a.Version {
		t.Errorf("a second run: created=%v version %d→%d err=%v, want the administrator unchanged", created, a.Version, again.Version, err)
	}
	if _, _, err := svc.InviteFirstAdministrator(ctx, onboarding.FirstAdministrator{Email: "other@example.com"}); err == nil || !strings.Contains(err.Error(), "has users") {
		t.Errorf("another administrator on a table with users: %v, want a refusal", err)
	}
}
