package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// The version of the roles as a whole: every role write adds one, and a
// write whose entry names the roles' version it was decided by is made
// only while the roles are still at it (onboarding.Store).

// rolesVersion returns the roles' version ListRoles reads.
func rolesVersion(t *testing.T, s onboarding.RoleStore) int64 {
	t.Helper()
	_, v, err := s.ListRoles(context.Background())
	if err != nil {
		t.Fatalf("list roles: %v", err)
	}
	return v
}

// decidedAt returns v as an entry's Audit.RolesVersion.
func decidedAt(v int64) *int64 { return &v }

func testRolesVersion(t *testing.T, s onboarding.RoleStore) {
	ctx := context.Background()
	if v := rolesVersion(t, s); v != 0 {
		t.Fatalf("a store without roles is at version %d, want 0", v)
	}
	defaults := access.DefaultCatalogue().Roles()
	if _, err := s.SeedRoles(ctx, defaults, At(0)); err != nil {
		t.Fatal(err)
	}
	want := int64(len(defaults)) // one per role seeding created
	if v := rolesVersion(t, s); v != want {
		t.Fatalf("after seeding %d roles: version %d, want %d", len(defaults), v, want)
	}
	if _, err := s.SeedRoles(ctx, defaults, At(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v := rolesVersion(t, s); v != want {
		t.Fatalf("a seeding that created nothing moved the version to %d, want %d", v, want)
	}
	night := Role(1, "Night", access.PlannerView)
	mustCreateRole(t, s, night) // unconditioned
	want++
	next := edited(night, func(r *access.Role) { r.Name = "Late Night" })
	a := RoleAudit(next, "edit")
	a.RolesVersion = decidedAt(want)
	if err := s.UpdateRole(ctx, next, night.Version, a); err != nil {
		t.Fatalf("update at the current roles version: %v", err)
	}
	want++
	gone := next
	gone.Version++
	a = RoleAudit(gone, "delete")
	a.RolesVersion = decidedAt(want)
	if err := s.DeleteRole(ctx, next, a); err != nil {
		t.Fatalf("delete at the current roles version: %v", err)
	}
	want++
	if v := rolesVersion(t, s); v != want {
		t.Errorf("after a create, an update and a delete: version %d, want %d", v, want)
	}
	rs, _, err := s.ListRoles(ctx)
	if err != nil || len(rs) != len(defaults) {
		t.Errorf("the roles' version is listed as a role, or a role is missing: %d roles, %v; want %d", len(rs), err, len(defaults))
	}
}

func testRoleWriteStaleRoles(t *testing.T, s onboarding.RoleStore) {
	ctx := context.Background()
	// A store without the version item is at 0: a write decided at 0
	// goes through (and makes the item), one decided at 1 does not.
	ahead := Role(9, "Ahead")
	a := RoleAudit(ahead, "create")
	a.RolesVersion = decidedAt(1)
	wantErr(t, "create decided at version 1 of a store at 0", s.CreateRole(ctx, ahead, a), onboarding.ErrRolesChanged)
	night := Role(1, "Night", access.PlannerView, access.SettingsManage)
	a = RoleAudit(night, "create")
	a.RolesVersion = decidedAt(0)
	if err := s.CreateRole(ctx, night, a); err != nil {
		t.Fatalf("create decided at version 0 of a store without the version: %v", err)
	}
	day := Role(2, "Day", access.PlannerView, access.SettingsManage)
	mustCreateRole(t, s, day) // the roles are at 2 now

	stale := decidedAt(1)
	other := Role(3, "Other")
	a = RoleAudit(other, "create")
	a.RolesVersion = stale
	wantErr(t, "create at a stale roles version", s.CreateRole(ctx, other, a), onboarding.ErrRolesChanged)
	next := edited(night, func(r *access.Role) { r.Name, r.Permissions = "Evening", []string{access.PlannerView} })
	a = RoleAudit(next, "edit")
	a.RolesVersion = stale
	wantErr(t, "update at a stale roles version", s.UpdateRole(ctx, next, night.Version, a), onboarding.ErrRolesChanged)
	gone := night
	gone.Version++
	a = RoleAudit(gone, "delete")
	a.RolesVersion = stale
	wantErr(t, "delete at a stale roles version", s.DeleteRole(ctx, night, a), onboarding.ErrRolesChanged)

	// Nothing was written: roles, names, trails and the version as they were.
	if v := rolesVersion(t, s); v != 2 {
		t.Errorf("refused writes moved the roles' version to %d, want 2", v)
	}
	if ids := roleIDs(t, s); len(ids) != 2 || ids[0] != night.ID || ids[1] != day.ID {
		t.Errorf("roles after refused writes: %v", ids)
	}
	SameRole(t, mustGetRole(t, s, night.ID), night)
	if got := roleTrail(t, s, night.ID); len(got) != 1 {
		t.Errorf("trail of %s after refused writes: %v", night.ID, got)
	}
	for _, r := range []access.Role{ahead, other} {
		if got := roleTrail(t, s, r.ID); len(got) != 0 {
			t.Errorf("a refused create left a trail for %s: %v", r.ID, got)
		}
	}
	// The names the refused writes would have taken or freed are as they were.
	mustCreateRole(t, s, Role(4, "Evening"))
	taken := Role(5, "night")
	wantErr(t, "create with the name of the role a refused delete kept", s.CreateRole(ctx, taken, RoleAudit(taken, "create")), access.ErrRoleNameTaken)
}

func testUserWriteStaleRoles(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	// Before any role write the roles are at 0, without an item.
	u := User(1, "ann@example.com")
	a := Audit(u, "create")
	a.RolesVersion = decidedAt(0)
	if err := s.CreateUser(ctx, u, a, nil); err != nil {
		t.Fatalf("create decided at version 0 of a store without the version: %v", err)
	}
	n := u
	n.Role, n.Version = "planner", 2
	a = Audit(n, "edit")
	a.RolesVersion = decidedAt(0)
	if err := s.UpdateUser(ctx, n, 1, a); err != nil {
		t.Fatalf("update decided at version 0 of a store without the version: %v", err)
	}
	mustCreateRole(t, s, Role(1, "Night")) // the roles are at 1 now

	stale := n
	stale.Role, stale.Email, stale.Version = "supervisor", "ann.b@example.com", 3
	a = Audit(stale, "edit")
	a.RolesVersion = decidedAt(0)
	wantErr(t, "update at a stale roles version", s.UpdateUser(ctx, stale, 2, a), onboarding.ErrRolesChanged)
	other := User(2, "bob@example.com")
	a = Audit(other, "create")
	a.RolesVersion = decidedAt(0)
	wantErr(t, "create at a stale roles version", s.CreateUser(ctx, other, a, idem("k-stale", other, At(0))), onboarding.ErrRolesChanged)

	// Nothing was written: the user, the emails, the trail, the key.
	SameUser(t, mustGet(t, s, u.ID), n)
	if h := history(t, s, u.ID); len(h) != 2 {
		t.Errorf("a refused update changed the history: %+v", h)
	}
	if _, err := s.GetUser(ctx, other.ID); err == nil {
		t.Errorf("a refused create stored the user")
	}
	if _, ok, err := s.Idempotency(ctx, "k-stale", At(0)); err != nil || ok {
		t.Errorf("a refused create stored its idempotency key: %v %v", ok, err)
	}
	if v := rolesVersion(t, s); v != 1 {
		t.Errorf("user writes moved the roles' version to %d, want 1", v)
	}
	// The email the refused update would have moved to, and the refused
	// create's, are free; the user's own is still taken.
	mustCreate(t, s, User(3, "ann.b@example.com"))
	mustCreate(t, s, User(4, "bob@example.com"))
	taken := User(5, "ann@example.com")
	wantErr(t, "create with the kept email", s.CreateUser(ctx, taken, Audit(taken, "create"), nil), user.ErrEmailTaken)
	// Decided at the current version, writes go through.
	again := n
	again.Role, again.Version = "supervisor", 3
	a = Audit(again, "edit")
	a.RolesVersion = decidedAt(1)
	if err := s.UpdateUser(ctx, again, 2, a); err != nil {
		t.Fatalf("update at the current roles version: %v", err)
	}
}
