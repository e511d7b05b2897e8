package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// RunRoles runs the contract of onboarding.RoleStore against stores made
// by newStore, each case on a fresh, empty store.
func RunRoles(t *testing.T, newStore func(t *testing.T) onboarding.RoleStore) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s onboarding.RoleStore)
	}{
		{"CreateGetList", testRoleCreateGetList},
		{"GetUnknown", testRoleGetUnknown},
		{"IDTaken", testRoleIDTaken},
		{"NameTakenIgnoringCase", testRoleNameTaken},
		{"RenameMovesNameGuard", testRoleRename},
		{"RenameToTakenName", testRoleRenameTaken},
		{"UpdateStaleVersion", testRoleUpdateStale},
		{"UpdateUnknown", testRoleUpdateUnknown},
		{"Delete", testRoleDelete},
		{"DeleteStaleOrUnknown", testRoleDeleteStale},
		{"Seed", testRoleSeed},
		{"SeedKeepsEdits", testRoleSeedKeepsEdits},
		{"History", testRoleHistory},
		{"ConcurrentUpdatesOneWinner", testRoleConcurrentUpdates},
		{"RolesVersionCountsRoleWrites", testRolesVersion},
		{"RoleWriteAtStaleRolesVersion", testRoleWriteStaleRoles},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

// Role returns a valid custom role with id "r-%02d" of n, at version 1,
// created at At(0).
func Role(n int, name string, perms ...string) access.Role {
	return access.Role{ID: fmt.Sprintf("r-%02d", n), Name: name, Description: "Role " + name, Permissions: perms,
		Version: 1, CreatedAt: At(0), UpdatedAt: At(0), UpdatedBy: "admin@example.com"}
}

// RoleAudit returns the audit entry of r's current version.
func RoleAudit(r access.Role, action string) onboarding.RoleAuditEntry {
	return onboarding.RoleAuditEntry{RoleID: r.ID, Audit: onboarding.Audit{
		Version: r.Version, At: r.UpdatedAt, ActorID: "admin-" + action, ActorEmail: "admin@example.com",
		Source: onboarding.SourceAPI, Action: action,
		Changes: []user.Change{{Field: "version", From: float64(r.Version - 1), To: float64(r.Version)}},
	}}
}

// edited returns r at its next version, changed by change an hour later.
func edited(r access.Role, change func(*access.Role)) access.Role {
	r.Permissions = slices.Clone(r.Permissions)
	change(&r)
	r.Version++
	r.UpdatedAt = r.UpdatedAt.Add(time.Hour)
	return r
}

// SameRole fails t unless got is want as stored and read back: times to
// the nanosecond, no permissions the same as an empty list.
func SameRole(t testing.TB, got, want access.Role) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description ||
		!slices.Equal(got.Permissions, want.Permissions) || got.Version != want.Version || got.UpdatedBy != want.UpdatedBy ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.PlannerWorker {
		t.Errorf("role read back\n got %+v\nwant %+v", got, want)
	}
	if got.Permissions == nil {
		t.Errorf("role %s: permissions read back nil, want a list (empty when none)", got.ID)
	}
}

func mustCreateRole(t *testing.T, s onboarding.RoleStore, r access.Role) {
	t.Helper()
	if err := s.CreateRole(context.Background(), r, RoleAudit(r, "create")); err != nil {
		t.Fatalf("create role %s: %v", r.ID, err)
	}
}

func mustUpdateRole(t *testing.T, s onboarding.RoleStore, r access.Role) {
	t.Helper()
	if err := s.UpdateRole(context.Background(), r, r.Version-1, RoleAudit(r, "edit")); err != nil {
		t.Fatalf("update role %s to v%d: %v", r.ID, r.Version, err)
	}
}

func mustGetRole(t *testing.T, s onboarding.RoleStore, id string) access.Role {
	t.Helper()
	r, err := s.GetRole(context.Background(), id)
	if err != nil {
		t.Fatalf("get role %s: %v", id, err)
	}
	return r
}

func roleIDs(t *testing.T, s onboarding.RoleStore) []string {
	t.Helper()
	rs, _, err := s.ListRoles(context.Background())
	if err != nil {
		t.Fatalf("list roles: %v", err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

// roleTrail returns a role's whole audit trail as action@version.
func roleTrail(t *testing.T, s onboarding.RoleStore, id string) []string {
	t.Helper()
	p, err := s.RoleHistory(context.Background(), id, 100, "")
	if err != nil {
		t.Fatalf("history of role %s: %v", id, err)
	}
	var out []string
	for _, a := range p.Entries {
		out = append(out, fmt.Sprintf("%s@%d", a.Action, a.Version))
	}
	return out
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func testRoleCreateGetList(t *testing.T, s onboarding.RoleStore) {
	night := Role(2, "Night Supervisor", access.PlannerView, access.PlannerEdit)
	empty := Role(1, "Visitor") // no permissions at all is allowed
	mustCreateRole(t, s, night)
	mustCreateRole(t, s, empty)
	SameRole(t, mustGetRole(t, s, night.ID), night)
	SameRole(t, mustGetRole(t, s, empty.ID), empty)
	rs, _, err := s.ListRoles(context.Background())
	if err != nil || len(rs) != 2 {
		t.Fatalf("list: %d roles, %v; want 2", len(rs), err)
	}
	// Id order, whatever the creation order.
	SameRole(t, rs[0], empty)
	SameRole(t, rs[1], night)
}

func testRoleGetUnknown(t *testing.T, s onboarding.RoleStore) {
	_, err := s.GetRole(context.Background(), "nobody")
	wantErr(t, "get unknown role", err, access.ErrRoleNotFound)
	if ids := roleIDs(t, s); len(ids) != 0 {
		t.Errorf("an empty store lists %v", ids)
	}
}

func testRoleIDTaken(t *testing.T, s onboarding.RoleStore) {
	mustCreateRole(t, s, Role(1, "Night"))
	again := Role(1, "Day")
	wantErr(t, "create with a taken id", s.CreateRole(context.Background(), again, RoleAudit(again, "create")), access.ErrRoleExists)
	SameRole(t, mustGetRole(t, s, "r-01"), Role(1, "Night"))
	// The refused role's name was not taken on the way.
	mustCreateRole(t, s, Role(2, "Day"))
}

func testRoleNameTaken(t *testing.T, s onboarding.RoleStore) {
	mustCreateRole(t, s, Role(1, "Night Supervisor"))
	for i, name := range []string{"night supervisor", "NIGHT-SUPERVISOR", "Night_Supervisor"} {
		r := Role(2+i, name)
		wantErr(t, "create "+name, s.CreateRole(context.Background(), r, RoleAudit(r, "create")), access.ErrRoleNameTaken)
		if _, err := s.GetRole(context.Background(), r.ID); !errors.Is(err, access.ErrRoleNotFound) {
			t.Errorf("the refused role %s was written: %v", r.ID, err)
		}
		if trail := roleTrail(t, s, r.ID); len(trail) != 0 {
			t.Errorf("the refused role %s has a trail %v", r.ID, trail)
		}
	}
}

func testRoleRename(t *testing.T, s onboarding.RoleStore) {
	night := Role(1, "Night")
	mustCreateRole(t, s, night)
	evening := edited(night, func(r *access.Role) { r.Name = "Evening" })
	mustUpdateRole(t, s, evening)
	SameRole(t, mustGetRole(t, s, night.ID), evening)
	// The old name is free, the new one taken.
	mustCreateRole(t, s, Role(2, "night"))
	taken := Role(3, "EVENING")
	wantErr(t, "create with the new name", s.CreateRole(context.Background(), taken, RoleAudit(taken, "create")), access.ErrRoleNameTaken)
	// A change of letter case only keeps the guard.
	upper := edited(evening, func(r *access.Role) { r.Name = "EVENING" })
	mustUpdateRole(t, s, upper)
	SameRole(t, mustGetRole(t, s, night.ID), upper)
	// Other fields change without touching the name.
	perms := edited(upper, func(r *access.Role) { r.Permissions = []string{access.ReportsView}; r.Description = "" })
	mustUpdateRole(t, s, perms)
	SameRole(t, mustGetRole(t, s, night.ID), perms)
}

func testRoleRenameTaken(t *testing.T, s onboarding.RoleStore) {
	a, b := Role(1, "Night"), Role(2, "Day")
	mustCreateRole(t, s, a)
	mustCreateRole(t, s, b)
	clash := edited(b, func(r *access.Role) { r.Name = "night" })
	wantErr(t, "rename to a taken name", s.UpdateRole(context.Background(), clash, 1, RoleAudit(clash, "edit")), access.ErrRoleNameTaken)
	SameRole(t, mustGetRole(t, s, b.ID), b)
	if trail := roleTrail(t, s, b.ID); !slices.Equal(trail, []string{"create@1"}) {
		t.Errorf("trail after the refused rename: %v", trail)
	}
	// Day keeps its own name: another role still cannot have it.
	c := Role(3, "DAY")
	wantErr(t, "create with the kept name", s.CreateRole(context.Background(), c, RoleAudit(c, "create")), access.ErrRoleNameTaken)
}

func testRoleUpdateStale(t *testing.T, s onboarding.RoleStore) {
	r := Role(1, "Night", access.PlannerView)
	mustCreateRole(t, s, r)
	v2 := edited(r, func(r *access.Role) { r.Permissions = nil })
	mustUpdateRole(t, s, v2)
	for _, stale := range []access.Role{
		edited(r, func(r *access.Role) { r.Permissions = []string{access.SettingsManage} }),
		edited(r, func(r *access.Role) { r.Name = "Renamed" }), // a rename too
	} {
		wantErr(t, "update from v1", s.UpdateRole(context.Background(), stale, 1, RoleAudit(stale, "edit")), user.ErrVersionConflict)
	}
	SameRole(t, mustGetRole(t, s, r.ID), v2)
	if trail := roleTrail(t, s, r.ID); !slices.Equal(trail, []string{"create@1", "edit@2"}) {
		t.Errorf("trail after stale updates: %v", trail)
	}
	// The stale rename took no name.
	mustCreateRole(t, s, Role(2, "Renamed"))
}

func testRoleUpdateUnknown(t *testing.T, s onboarding.RoleStore) {
	r := edited(Role(1, "Night"), func(*access.Role) {})
	wantErr(t, "update unknown role", s.UpdateRole(context.Background(), r, 1, RoleAudit(r, "edit")), access.ErrRoleNotFound)
	if ids := roleIDs(t, s); len(ids) != 0 {
		t.Errorf("the update made roles %v", ids)
	}
}

func testRoleDelete(t *testing.T, s onboarding.RoleStore) {
	ctx := context.Background()
	night, day := Role(1, "Night"), Role(2, "Day")
	mustCreateRole(t, s, night)
	mustCreateRole(t, s, day)
	gone := edited(night, func(*access.Role) {})
	if err := s.DeleteRole(ctx, night, RoleAudit(gone, "delete")); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err := s.GetRole(ctx, night.ID)
	wantErr(t, "get deleted role", err, access.ErrRoleNotFound)
	if ids := roleIDs(t, s); !slices.Equal(ids, []string{day.ID}) {
		t.Errorf("list after delete: %v", ids)
	}
	// The name is free again, for another id.
	mustCreateRole(t, s, Role(3, "NIGHT"))
	// The trail stays, and keeps the deleted role's id from a new role.
	if trail := roleTrail(t, s, night.ID); !slices.Equal(trail, []string{"create@1", "delete@2"}) {
		t.Errorf("trail of the deleted role: %v", trail)
	}
	reuse := Role(1, "Late")
	wantErr(t, "create with a deleted role's id", s.CreateRole(ctx, reuse, RoleAudit(reuse, "create")), access.ErrRoleExists)
	mustCreateRole(t, s, Role(4, "Late"))
}

func testRoleDeleteStale(t *testing.T, s onboarding.RoleStore) {
	ctx := context.Background()
	r := Role(1, "Night")
	mustCreateRole(t, s, r)
	v2 := edited(r, func(r *access.Role) { r.Description = "changed" })
	mustUpdateRole(t, s, v2)
	gone := edited(r, func(*access.Role) {})
	wantErr(t, "delete from v1", s.DeleteRole(ctx, r, RoleAudit(gone, "delete")), user.ErrVersionConflict)
	SameRole(t, mustGetRole(t, s, r.ID), v2)
	if trail := roleTrail(t, s, r.ID); !slices.Equal(trail, []string{"create@1", "edit@2"}) {
		t.Errorf("trail after a stale delete: %v", trail)
	}
	other := Role(2, "night")
	wantErr(t, "the name after a stale delete", s.CreateRole(ctx, other, RoleAudit(other, "create")), access.ErrRoleNameTaken)
	// Renamed since it was read: the read names the old name, whose guard
	// is gone, and the delete is refused as stale, keeping the new guard.
	v3 := edited(v2, func(r *access.Role) { r.Name = "Evening" })
	mustUpdateRole(t, s, v3)
	wantErr(t, "delete from v2 under the old name", s.DeleteRole(ctx, v2, RoleAudit(edited(v2, func(*access.Role) {}), "delete")), user.ErrVersionConflict)
	SameRole(t, mustGetRole(t, s, r.ID), v3)
	if trail := roleTrail(t, s, r.ID); !slices.Equal(trail, []string{"create@1", "edit@2", "edit@3"}) {
		t.Errorf("trail after a stale delete of a renamed role: %v", trail)
	}
	evening := Role(3, "EVENING")
	wantErr(t, "the new name after a stale delete", s.CreateRole(ctx, evening, RoleAudit(evening, "create")), access.ErrRoleNameTaken)
	missing := Role(9, "x")
	wantErr(t, "delete unknown role", s.DeleteRole(ctx, missing, RoleAudit(edited(missing, func(*access.Role) {}), "delete")), access.ErrRoleNotFound)
}

func testRoleSeed(t *testing.T, s onboarding.RoleStore) {
	ctx := context.Background()
	defaults := access.DefaultCatalogue().Roles()
	n, err := s.SeedRoles(ctx, defaults, At(0))
	if err != nil || n != len(defaults) {
		t.Fatalf("first seeding: %d created, %v; want %d", n, err, len(defaults))
	}
	for _, d := range defaults {
		want, audit := onboarding.SeedRole(d, At(0))
		SameRole(t, mustGetRole(t, s, d.ID), want)
		p, err := s.RoleHistory(ctx, d.ID, 10, "")
		if err != nil || len(p.Entries) != 1 || p.Entries[0].Action != audit.Action || p.Entries[0].ActorID != audit.ActorID || p.Entries[0].Version != 1 {
			t.Errorf("trail of seeded %s: %+v %v; want one %+v", d.ID, p.Entries, err, audit)
		}
	}
	n, err = s.SeedRoles(ctx, defaults, At(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("second seeding: %d created, %v; want 0", n, err)
	}
	want, _ := onboarding.SeedRole(defaults[0], At(0))
	SameRole(t, mustGetRole(t, s, defaults[0].ID), want)
}

func testRoleSeedKeepsEdits(t *testing.T, s onboarding.RoleStore) {
	ctx := context.Background()
	defaults := access.DefaultCatalogue().Roles()
	if _, err := s.SeedRoles(ctx, defaults, At(0)); err != nil {
		t.Fatal(err)
	}
	sup := mustGetRole(t, s, "supervisor")
	narrowed := edited(sup, func(r *access.Role) { r.Permissions = []string{access.PlannerView}; r.Name = "Shift Supervisor" })
	mustUpdateRole(t, s, narrowed)
	staff := mustGetRole(t, s, "staff")
	if err := s.DeleteRole(ctx, staff, RoleAudit(edited(staff, func(*access.Role) {}), "delete")); err != nil {
		t.Fatal(err)
	}
	// An organisation's own role holds a name a later default wants.
	mustCreateRole(t, s, Role(1, "Auditor"))
	later := append(slices.Clone(defaults), access.Role{ID: "auditor", Name: "AUDITOR", Permissions: []string{access.ReportsView}},
		access.Role{ID: "reporter", Name: "Reporter", Permissions: []string{access.ReportsView}})
	n, err := s.SeedRoles(ctx, later, At(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("seeding over edits: %d created, %v; want only the new Reporter", n, err)
	}
	SameRole(t, mustGetRole(t, s, "supervisor"), narrowed)
	if _, err := s.GetRole(ctx, "staff"); !errors.Is(err, access.ErrRoleNotFound) {
		t.Errorf("the deleted Staff role came back: %v", err)
	}
	if _, err := s.GetRole(ctx, "auditor"); !errors.Is(err, access.ErrRoleNotFound) {
		t.Errorf("a default took the name of the organisation's role: %v", err)
	}
	// The old name of the renamed role is free: seeding did not take it.
	mustCreateRole(t, s, Role(2, "Supervisor"))
}

func testRoleHistory(t *testing.T, s onboarding.RoleStore) {
	ctx := context.Background()
	r := Role(1, "Night", access.PlannerView)
	mustCreateRole(t, s, r)
	mustCreateRole(t, s, Role(2, "Other")) // a neighbour whose trail must not mix in
	for i := range 3 {
		r = edited(r, func(r *access.Role) { r.Description = fmt.Sprintf("edit %d", i) })
		mustUpdateRole(t, s, r)
	}
	gone := edited(r, func(*access.Role) {})
	if err := s.DeleteRole(ctx, r, RoleAudit(gone, "delete")); err != nil {
		t.Fatal(err)
	}
	var got []onboarding.RoleAuditEntry
	cursor, pages := "", 0
	for {
		p, err := s.RoleHistory(ctx, r.ID, 2, cursor)
		if err != nil {
			t.Fatalf("history page %d: %v", pages, err)
		}
		got = append(got, p.Entries...)
		if pages++; p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(got) != 5 || pages != 3 {
		t.Fatalf("history: %d entries in %d pages, want 5 in 3", len(got), pages)
	}
	for i, a := range got {
		want := RoleAudit(Role(1, "Night"), "edit")
		want.Version = int64(i + 1)
		switch i {
		case 0:
			want.Action = "create"
		case 4:
			want.Action = "delete"
		}
		if a.RoleID != r.ID || a.Version != want.Version || a.Action != want.Action || a.ActorID != "admin-"+want.Action ||
			a.Source != onboarding.SourceAPI || !a.At.Equal(At(time.Duration(i)*time.Hour)) || len(a.Changes) != 1 {
			t.Errorf("entry %d: %+v, want %s@%d by admin-%s at %v", i, a, want.Action, want.Version, want.Action, At(time.Duration(i)*time.Hour))
		}
	}
	_, err := s.RoleHistory(ctx, r.ID, 2, "not-a-cursor")
	wantErr(t, "history with a made-up cursor", err, onboarding.ErrBadCursor)
	if p, err := s.RoleHistory(ctx, "nobody", 10, ""); err != nil || len(p.Entries) != 0 || p.NextCursor != "" {
		t.Errorf("history of an unknown role: %+v %v; want empty", p, err)
	}
}

func testRoleConcurrentUpdates(t *testing.T, s onboarding.RoleStore) {
	r := Role(1, "Night")
	mustCreateRole(t, s, r)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := edited(r, func(r *access.Role) { r.Name = fmt.Sprintf("Night %d", i) })
			err := s.UpdateRole(context.Background(), n, 1, RoleAudit(n, "edit"))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, user.ErrVersionConflict):
				t.Errorf("losing update: %v, want a version conflict", err)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d concurrent updates of v1 won, want exactly 1", n)
	}
	won := mustGetRole(t, s, r.ID)
	if trail := roleTrail(t, s, r.ID); !slices.Equal(trail, []string{"create@1", "edit@2"}) {
		t.Errorf("trail: %v", trail)
	}
	// Only the winner's name is taken.
	for i := range 6 {
		name := fmt.Sprintf("Night %d", i)
		if name == won.Name {
			continue
		}
		mustCreateRole(t, s, Role(10+i, name))
	}
}
