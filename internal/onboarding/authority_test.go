package onboarding_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

// team is the people the authority tests act among.
type team struct {
	admin, manager, narrowManager, peer, supervisor, staff user.User
	// introAdmin is an Administrator still in Introduction Mode.
	introAdmin user.User
}

func newTeam(t *testing.T, store *embedded.Store) team {
	t.Helper()
	tm := team{
		admin:      activeUser(t, store, "ada.admin@example.com", "administrator", "U0ADA"),
		manager:    activeUser(t, store, "mo.manager@example.com", "operations-manager", "U0MO"),
		peer:       activeUser(t, store, "pat.peer@example.com", "operations-manager", ""),
		supervisor: activeUser(t, store, "sue.supervisor@example.com", "supervisor", ""),
		staff:      activeUser(t, store, "stan.staff@example.com", "staff", ""),
	}
	// A manager whose purchasing approval was taken away.
	narrow := user.User{ID: "u-nina", Type: user.Internal, FirstName: "Nina", LastName: "Narrow", Email: "nina@example.com",
		Role: "operations-manager", Revokes: []string{"purchasing.approve"}, Status: user.StatusActive, Version: 1, CreatedAt: t0, UpdatedAt: t0}
	intro := user.User{ID: "u-ian", Type: user.Internal, FirstName: "Ian", LastName: "Intro", Email: "ian.admin@example.com",
		Role: "administrator", HoldInvite: true, Status: user.StatusIntroduction, Version: 1, CreatedAt: t0, UpdatedAt: t0}
	for _, u := range []user.User{narrow, intro} {
		if err := store.CreateUser(context.Background(), u, onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: 1, At: t0, Action: "create"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	tm.narrowManager, tm.introAdmin = narrow, intro
	return tm
}

// snapshot is every user's version and history length: what a refused
// call must leave as it found.
func snapshot(t *testing.T, store *embedded.Store) string {
	t.Helper()
	ctx := context.Background()
	p, err := store.ListUsers(ctx, onboarding.ListQuery{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, u := range p.Users {
		h, err := store.History(ctx, u.ID, 200, "")
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s v%d %s hold=%v %s %v/%v slack=%s history=%d",
			u.Email, u.Version, u.Status, u.HoldInvite, u.Role, u.Grants, u.Revokes, u.SlackUserID, len(h.Entries)))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func ptr[T any](v T) *T { return &v }

// signedIn is u as the API's sign-in makes them an actor.
func signedIn(t *testing.T, svc *onboarding.Service, u user.User) onboarding.Actor {
	t.Helper()
	a, err := svc.Authorize(context.Background(), onboarding.Identity{UserID: u.ID, Source: onboarding.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAuthorityRefusals is each path from "manager" to "administrator"
// a reviewer found, and the ones next to them: each is refused with 403
// naming its rule, and writes nothing.
func TestAuthorityRefusals(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	tm := newTeam(t, store)
	as := func(u user.User) onboarding.Actor { return signedIn(t, svc, u) }
	mgr, narrow := as(tm.manager), as(tm.narrowManager)
	edit := func(a onboarding.Actor, target user.User, p user.Patch) func() error {
		return func() error { _, err := svc.Edit(ctx, a, target.ID, 0, p); return err }
	}
	cases := []struct {
		name string
		call func() error
		rule string
	}{
		{"a manager changes an Administrator's email in Introduction Mode", edit(mgr, tm.introAdmin, user.Patch{Email: ptr("mo.second@example.com")}), onboarding.RuleContainment},
		{"a manager releases an Administrator", func() error { _, err := svc.Release(ctx, mgr, tm.introAdmin.ID, 0); return err }, onboarding.RuleContainment},
		{"a manager demotes an Administrator", edit(mgr, tm.admin, user.Patch{Role: ptr("staff")}), onboarding.RuleContainment},
		{"a manager holds (suspends) an Administrator", func() error { _, err := svc.Hold(ctx, mgr, tm.admin.ID, 0); return err }, onboarding.RuleContainment},
		{"a manager resends an Administrator's invite", func() error { _, err := svc.Resend(ctx, mgr, tm.introAdmin.ID, 0); return err }, onboarding.RuleContainment},
		{"a manager links their Slack user to an Administrator", edit(mgr, tm.introAdmin, user.Patch{SlackUserID: ptr("U0MOSECOND")}), onboarding.RuleContainment},
		{"a manager edits only an Administrator's job title", edit(mgr, tm.admin, user.Patch{JobTitle: ptr("Former admin")}), onboarding.RuleContainment},
		{"a manager wins back a revoked permission", edit(narrow, tm.narrowManager, user.Patch{Revokes: &[]string{}}), onboarding.RuleSelf},
		{"a manager grants themselves a permission", edit(mgr, tm.manager, user.Patch{Grants: &[]string{"settings.manage"}}), onboarding.RuleSelf},
		{"a manager changes their own role", edit(mgr, tm.manager, user.Patch{Role: ptr("staff")}), onboarding.RuleSelf},
		// (Their own email is refused too, as 400: an active user's email
		// is their login, which nobody changes.)
		{"a manager links their own Slack user", edit(mgr, tm.manager, user.Patch{SlackUserID: ptr("U0MONEW")}), onboarding.RuleSelf},
		{"a manager puts their own hold on by PATCH", edit(mgr, tm.manager, user.Patch{HoldInvite: ptr(true)}), onboarding.RuleSelf},
		{"a manager holds themselves", func() error { _, err := svc.Hold(ctx, mgr, tm.manager.ID, 0); return err }, onboarding.RuleSelf},
		{"a narrowed manager edits a full manager", edit(narrow, tm.peer, user.Patch{JobTitle: ptr("Peer")}), onboarding.RuleContainment},
		{"a manager grants a staff member settings.manage", edit(mgr, tm.staff, user.Patch{Grants: &[]string{"settings.manage"}}), onboarding.RuleContainment},
		{"a manager makes a staff member an Administrator", edit(mgr, tm.staff, user.Patch{Role: ptr("administrator")}), onboarding.RuleContainment},
		{"a narrowed manager gives back what was taken from them to someone else", edit(narrow, tm.supervisor, user.Patch{Grants: &[]string{"purchasing.approve"}}), onboarding.RuleContainment},
		{"a narrowed manager makes a supervisor a full manager", edit(narrow, tm.supervisor, user.Patch{Role: ptr("operations-manager")}), onboarding.RuleContainment},
		{"a manager creates an Administrator", func() error {
			_, _, err := svc.Create(ctx, mgr, user.Draft{FirstName: "E", LastName: "Vil", Email: "evil@example.com", Role: "administrator"}, "")
			return err
		}, onboarding.RuleContainment},
		{"a manager checks (dry run) an Administrator to create", func() error {
			_, err := svc.CheckCreate(ctx, mgr, user.Draft{FirstName: "E", LastName: "Vil", Email: "evil@example.com", Role: "administrator"})
			return err
		}, onboarding.RuleContainment},
	}
	before := snapshot(t, store)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if user.ErrorCode(err) != user.CodeForbidden || user.ErrorRule(err) != c.rule {
				t.Fatalf("got %v (code %s, rule %q), want forbidden by rule %s", err, user.ErrorCode(err), user.ErrorRule(err), c.rule)
			}
			if !strings.Contains(err.Error(), "rule: "+c.rule) {
				t.Errorf("the refusal does not name its rule: %v", err)
			}
			if after := snapshot(t, store); after != before {
				t.Errorf("a refused call changed the data:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestAuthorityAllows is what managers do every day, which containment
// must leave alone.
func TestAuthorityAllows(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	tm := newTeam(t, store)
	as := func(u user.User) onboarding.Actor { return signedIn(t, svc, u) }
	mgr, adm, narrow := as(tm.manager), as(tm.admin), as(tm.narrowManager)
	steps := []struct {
		name string
		call func() error
	}{
		{"a manager changes their own name, phone and job title", func() error {
			_, err := svc.Edit(ctx, mgr, tm.manager.ID, 0, user.Patch{FirstName: ptr("Morgan"), Phone: ptr("+447911123456"), JobTitle: ptr("Ops lead")})
			return err
		}},
		{"a manager edits a peer", func() error {
			_, err := svc.Edit(ctx, mgr, tm.peer.ID, 0, user.Patch{JobTitle: ptr("Night ops")})
			return err
		}},
		{"a manager promotes staff to supervisor and grants what they hold", func() error {
			_, err := svc.Edit(ctx, mgr, tm.staff.ID, 0, user.Patch{Role: ptr("supervisor"), Grants: &[]string{"purchasing.approve"}})
			return err
		}},
		{"a manager links a supervisor's Slack user", func() error {
			_, err := svc.Edit(ctx, mgr, tm.supervisor.ID, 0, user.Patch{SlackUserID: ptr("U0SUE")})
			return err
		}},
		{"a narrowed manager narrows a supervisor further", func() error {
			_, err := svc.Edit(ctx, narrow, tm.supervisor.ID, 0, user.Patch{Revokes: &[]string{"reports.view"}})
			return err
		}},
		{"an Administrator changes the Administrator in Introduction Mode and releases them", func() error {
			if _, err := svc.Edit(ctx, adm, tm.introAdmin.ID, 0, user.Patch{Email: ptr("ian.a@example.com")}); err != nil {
				return err
			}
			_, err := svc.Release(ctx, adm, tm.introAdmin.ID, 0)
			return err
		}},
		{"an Administrator demotes a manager", func() error {
			_, err := svc.Edit(ctx, adm, tm.manager.ID, 0, user.Patch{Role: ptr("supervisor")})
			return err
		}},
	}
	for _, s := range steps {
		if err := s.call(); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
}

// TestBulkReleaseLeavesOutWhomTheActorCannotReach: a manager's bulk
// release counts and releases only the users they may release, and says
// how many it left on hold.
func TestBulkReleaseLeavesOutWhomTheActorCannotReach(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	tm := newTeam(t, store)
	mgr := signedIn(t, svc, tm.manager)
	for i, role := range []string{"staff", "staff", "supervisor"} {
		if _, _, err := svc.Create(ctx, mgr, user.Draft{FirstName: "N", LastName: fmt.Sprint(i), Email: fmt.Sprintf("n%d@example.com", i), Role: role}, ""); err != nil {
			t.Fatal(err)
		}
	}
	p, err := svc.PreviewRelease(ctx, mgr, onboarding.BulkSelection{}, 10)
	if err != nil || p.Count != 3 || p.Beyond != 1 {
		t.Fatalf("preview: %d users, %d beyond, %v; want 3 and 1 (the Administrator in Introduction Mode)", p.Count, p.Beyond, err)
	}
	res, err := svc.ReleaseMany(ctx, mgr, onboarding.BulkSelection{}, 3)
	if err != nil || len(res.Released) != 3 || len(res.Failed) != 0 {
		t.Fatalf("release: %+v %v", res, err)
	}
	if got, _ := store.GetUser(ctx, tm.introAdmin.ID); !got.HoldInvite || got.Version != 1 {
		t.Errorf("the Administrator in Introduction Mode was released by a manager: %+v", got)
	}
}

// TestLastSettingsManagerStays: the last active holder of settings.manage
// is not held, demoted or stripped of it. An authorized actor who reaches
// them holds it too, so only an actor authorized before they lost it
// themselves (a race, a role changed under them) meets this rule.
func TestLastSettingsManagerStays(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	ada := activeUser(t, store, "ada@example.com", "administrator", "")
	// Bea was an Administrator when she was authorized, and has since been
	// made a supervisor.
	bea := activeUser(t, store, "bea@example.com", "supervisor", "")
	bea.Role = "administrator"
	stale := onboarding.StaleActor(bea)
	before := snapshot(t, store)
	for name, call := range map[string]func() error{
		"hold": func() error { _, err := svc.Hold(ctx, stale, ada.ID, 0); return err },
		"demote": func() error {
			_, err := svc.Edit(ctx, stale, ada.ID, 0, user.Patch{Role: ptr("operations-manager")})
			return err
		},
		"revoke": func() error {
			_, err := svc.Edit(ctx, stale, ada.ID, 0, user.Patch{Revokes: &[]string{"settings.manage"}})
			return err
		},
		"suspend": func() error { _, err := svc.Edit(ctx, stale, ada.ID, 0, user.Patch{HoldInvite: ptr(true)}); return err },
	} {
		if err := call(); user.ErrorRule(err) != onboarding.RuleNoLockout {
			t.Errorf("%s the last settings manager: %v, want refused by %s", name, err, onboarding.RuleNoLockout)
		}
	}
	if after := snapshot(t, store); after != before {
		t.Errorf("refusals changed the data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// With another active holder, Ada may be demoted.
	activeUser(t, store, "cy@example.com", "administrator", "")
	if _, err := svc.Edit(ctx, stale, ada.ID, 0, user.Patch{Role: ptr("operations-manager")}); err != nil {
		t.Errorf("demote with another settings manager left: %v", err)
	}
}
