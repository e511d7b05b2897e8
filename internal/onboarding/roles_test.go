package onboarding_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

// roleSnapshot is every role's version and history length, and every
// user's: what a refused role change must leave as it found.
func roleSnapshot(t *testing.T, store *embedded.Store) string {
	t.Helper()
	ctx := context.Background()
	roles, version, err := store.ListRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{snapshot(t, store), fmt.Sprintf("roles at version %d", version)}
	for _, r := range roles {
		h, err := store.RoleHistory(ctx, r.ID, 200, "")
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s v%d %q %v history=%d", r.ID, r.Version, r.Name, r.Permissions, len(h.Entries)))
	}
	return strings.Join(lines, "\n")
}

func TestRoleLifecycle(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	// Each call is a request of its own, which authorizes its actor and
	// so sees the roles as the previous call left them.
	as := func() onboarding.Actor { return admin(t, svc) }

	r, err := svc.CreateRole(ctx, as(), onboarding.RoleDraft{Name: "  Night Supervisor ", Description: "Runs the night shift",
		Permissions: []string{access.PlannerEdit, access.UsersView, access.PlannerView}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "night-supervisor" || r.Name != "Night Supervisor" || r.Version != 1 || r.UpdatedBy != "admin@example.com" {
		t.Errorf("created %+v", r)
	}
	if want := []string{access.UsersView, access.PlannerView, access.PlannerEdit}; !slices.Equal(r.Permissions, want) {
		t.Errorf("permissions %v, want %v (the catalogue's order)", r.Permissions, want)
	}
	if got, err := svc.GetRole(ctx, as(), r.ID); err != nil || got.Version != 1 {
		t.Errorf("get: %+v, %v", got, err)
	}
	cat, err := svc.Catalogue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Role("night-supervisor"); !ok {
		t.Error("the new role is not in the catalogue")
	}
	if id, _, ok := cat.ResolveRole("night supervisor"); !ok || id != "night-supervisor" {
		t.Errorf("resolve by name: %q %v", id, ok)
	}

	// A user of the new role, by name.
	u, _, err := svc.Create(ctx, as(), user.Draft{FirstName: "Nia", LastName: "Night", Email: "nia@example.com", Role: "Night Supervisor"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != "night-supervisor" {
		t.Errorf("role %q", u.Role)
	}

	r, err = svc.EditRole(ctx, as(), r.ID, 1, onboarding.RolePatch{Name: ptr("Night Lead"), Permissions: &[]string{access.PlannerView}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "night-supervisor" || r.Name != "Night Lead" || r.Version != 2 {
		t.Errorf("edited %+v", r)
	}
	if cat, _ = svc.Catalogue(ctx); !slices.Equal(cat.Effective(u), []string{access.PlannerView}) {
		t.Errorf("holder's effective permissions %v after narrowing, want [planner.view]", cat.Effective(u))
	}

	// Stale version: 412, nothing written.
	before := roleSnapshot(t, store)
	_, err = svc.EditRole(ctx, as(), r.ID, 1, onboarding.RolePatch{Name: ptr("Night Boss")})
	if user.ErrorCode(err) != user.CodeStale {
		t.Errorf("stale edit: %v, want stale", err)
	}
	if err := svc.DeleteRole(ctx, as(), r.ID, 1); user.ErrorCode(err) != user.CodeStale {
		t.Errorf("stale delete: %v, want stale", err)
	}

	// In use: 409 naming how many hold it.
	if _, _, err := svc.Create(ctx, as(), user.Draft{FirstName: "Ned", LastName: "Night", Email: "ned@example.com", Role: "night-supervisor"}, ""); err != nil {
		t.Fatal(err)
	}
	before = roleSnapshot(t, store)
	err = svc.DeleteRole(ctx, as(), r.ID, 2)
	if user.ErrorCode(err) != user.CodeConflict || !strings.Contains(user.ErrorMessage(err), "2 users hold the role Night Lead") {
		t.Errorf("delete in use: %v", err)
	}
	if after := roleSnapshot(t, store); after != before {
		t.Errorf("a refused delete wrote:\n%s\nwas:\n%s", after, before)
	}

	// Without holders it goes; the trail stays.
	for _, email := range []string{"nia@example.com", "ned@example.com"} {
		p, _ := store.ListUsers(ctx, onboarding.ListQuery{Email: email, Limit: 1})
		if _, err := svc.Edit(ctx, as(), p.Users[0].ID, 0, user.Patch{Role: ptr("staff")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.DeleteRole(ctx, as(), r.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetRole(ctx, as(), r.ID); !errors.Is(err, access.ErrRoleNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	h, err := svc.RoleHistory(ctx, as(), r.ID, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range h.Entries {
		actions = append(actions, e.Action+":"+e.ActorEmail)
	}
	if want := []string{"create:admin@example.com", "edit:admin@example.com", "delete:admin@example.com"}; !slices.Equal(actions, want) {
		t.Errorf("history %v, want %v", actions, want)
	}
	if _, err := svc.RoleHistory(ctx, as(), "never-was", 0, ""); !errors.Is(err, access.ErrRoleNotFound) {
		t.Errorf("history of no role: %v", err)
	}
}

func TestRoleWithoutPermissionsIsAllowedWithAWarning(t *testing.T) {
	svc, _ := newService(t)
	r, err := svc.CreateRole(context.Background(), admin(t, svc), onboarding.RoleDraft{Name: "Visitor"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Permissions) != 0 || len(onboarding.RoleWarnings(r)) != 1 {
		t.Errorf("role %+v, warnings %v", r, onboarding.RoleWarnings(r))
	}
}

func TestRoleRefusals(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	adm := admin(t, svc)
	tm := newTeam(t, store)
	// An administrator whose purchasing approval was taken away: they
	// manage settings, but not every permission.
	narrow := user.User{ID: "u-nora", Type: user.Internal, FirstName: "Nora", LastName: "Narrow", Email: "nora@example.com",
		Role: "administrator", Revokes: []string{access.PurchasingApprove}, Status: user.StatusActive, Version: 1, CreatedAt: t0, UpdatedAt: t0}
	if err := store.CreateUser(ctx, narrow, onboarding.AuditEntry{UserID: narrow.ID, Audit: onboarding.Audit{Version: 1, At: t0, Action: "create"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateRole(ctx, adm, onboarding.RoleDraft{Name: "Night Supervisor", Permissions: []string{access.PlannerView}}); err != nil {
		t.Fatal(err)
	}
	// Signed in after the role was made, as the requests would be.
	adm = admin(t, svc)
	manager, nora := signedIn(t, svc, tm.manager), signedIn(t, svc, narrow)

	for _, c := range []struct {
		name        string
		do          func() error
		code        user.Code
		field, rule string
		says        string
	}{
		{name: "unknown permission", code: user.CodeInvalid, field: "permissions", says: "not a permission",
			do: func() error {
				_, err := svc.CreateRole(ctx, adm, onboarding.RoleDraft{Name: "Auditor", Permissions: []string{"books.audit"}})
				return err
			}},
		{name: "empty name", code: user.CodeInvalid, field: "name",
			do: func() error {
				_, err := svc.CreateRole(ctx, adm, onboarding.RoleDraft{ID: "blank", Name: "  ", Permissions: []string{access.PlannerView}})
				return err
			}},
		{name: "duplicate name ignoring case", code: user.CodeConflict, field: "name",
			do: func() error {
				_, err := svc.CreateRole(ctx, adm, onboarding.RoleDraft{ID: "nights", Name: "NIGHT supervisor"})
				return err
			}},
		{name: "rename onto another role's name", code: user.CodeConflict, field: "name",
			do: func() error {
				_, err := svc.EditRole(ctx, adm, "night-supervisor", 0, onboarding.RolePatch{Name: ptr("staff")})
				return err
			}},
		{name: "the Planner Worker", code: user.CodeInvalid, field: "name",
			do: func() error {
				_, err := svc.CreateRole(ctx, adm, onboarding.RoleDraft{ID: "worker", Name: "Planner Worker"})
				return err
			}},
		{name: "manager without settings.manage creates", code: user.CodeForbidden, rule: onboarding.RuleSettingsManage, says: "settings.manage",
			do: func() error {
				_, err := svc.CreateRole(ctx, manager, onboarding.RoleDraft{Name: "Helper", Permissions: []string{access.PlannerView}})
				return err
			}},
		{name: "manager without settings.manage edits", code: user.CodeForbidden, rule: onboarding.RuleSettingsManage,
			do: func() error {
				_, err := svc.EditRole(ctx, manager, "night-supervisor", 0, onboarding.RolePatch{Name: ptr("Nights")})
				return err
			}},
		{name: "manager without settings.manage deletes", code: user.CodeForbidden, rule: onboarding.RuleSettingsManage,
			do: func() error { return svc.DeleteRole(ctx, manager, "night-supervisor", 0) }},
		{name: "a permission its author lacks", code: user.CodeForbidden, rule: onboarding.RuleContainment, field: "permissions", says: access.PurchasingApprove,
			do: func() error {
				_, err := svc.CreateRole(ctx, nora, onboarding.RoleDraft{Name: "Buyer", Permissions: []string{access.PurchasingView, access.PurchasingApprove}})
				return err
			}},
		{name: "widening a role beyond its author", code: user.CodeForbidden, rule: onboarding.RuleContainment, says: access.PurchasingApprove,
			do: func() error {
				_, err := svc.EditRole(ctx, nora, "night-supervisor", 0, onboarding.RolePatch{Permissions: &[]string{access.PurchasingApprove}})
				return err
			}},
		{name: "editing a role its author cannot hold", code: user.CodeForbidden, rule: onboarding.RuleContainment, says: access.PurchasingApprove,
			do: func() error {
				_, err := svc.EditRole(ctx, nora, "purchasing", 0, onboarding.RolePatch{Description: ptr("Buys things")})
				return err
			}},
		{name: "deleting a role its author cannot hold", code: user.CodeForbidden, rule: onboarding.RuleContainment,
			do: func() error { return svc.DeleteRole(ctx, nora, "purchasing", 0) }},
		{name: "taking settings.manage from the administrators' role", code: user.CodeForbidden, rule: onboarding.RuleNoLockout,
			do: func() error {
				_, err := svc.EditRole(ctx, adm, "administrator", 0, onboarding.RolePatch{Permissions: &[]string{access.UsersView, access.UsersManage}})
				return err
			}},
		{name: "unknown role", code: user.CodeNotFound,
			do: func() error {
				_, err := svc.EditRole(ctx, adm, "nobody", 0, onboarding.RolePatch{Name: ptr("X")})
				return err
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := roleSnapshot(t, store)
			err := c.do()
			if user.ErrorCode(err) != c.code {
				t.Fatalf("error %v (code %s), want %s", err, user.ErrorCode(err), c.code)
			}
			if c.rule != "" && user.ErrorRule(err) != c.rule {
				t.Errorf("rule %q, want %q (%v)", user.ErrorRule(err), c.rule, err)
			}
			if c.field != "" && !slices.ContainsFunc(user.ErrorFields(err), func(f user.FieldError) bool { return f.Field == c.field }) {
				t.Errorf("fields %v, want one on %s", user.ErrorFields(err), c.field)
			}
			if c.says != "" && !strings.Contains(err.Error(), c.says) {
				t.Errorf("%q does not say %q", err.Error(), c.says)
			}
			if after := roleSnapshot(t, store); after != before {
				t.Errorf("a refusal wrote:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

// A table made before roles were stored has none: the first read seeds
// the defaults, and its users keep their permissions.
func TestRolesSeededOnFirstRead(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	staff := user.User{ID: "u-old", Type: user.Internal, FirstName: "Old", LastName: "Timer", Email: "old@example.com",
		Role: "supervisor", Status: user.StatusActive, Version: 1, CreatedAt: t0, UpdatedAt: t0}
	if err := store.CreateUser(ctx, staff, onboarding.AuditEntry{UserID: staff.ID, Audit: onboarding.Audit{Version: 1, At: t0, Action: "create"}}, nil); err != nil {
		t.Fatal(err)
	}
	cat, err := svc.Catalogue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored, _, err := store.ListRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(access.DefaultCatalogue().Roles()) {
		t.Errorf("%d roles stored, want the %d defaults", len(stored), len(access.DefaultCatalogue().Roles()))
	}
	if want := access.DefaultCatalogue().Effective(staff); !slices.Equal(cat.Effective(staff), want) {
		t.Errorf("effective %v, want %v", cat.Effective(staff), want)
	}
	if _, worker, ok := cat.ResolveRole("Planner Worker"); !ok || !worker {
		t.Error("the Planner Worker marker is gone")
	}
}
