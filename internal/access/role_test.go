package access_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/user"
)

func TestValidateRole(t *testing.T) {
	c := access.DefaultCatalogue()
	ok := access.Role{ID: "night-supervisor", Name: "Night Supervisor", Description: "Runs the night shift",
		Permissions: []string{access.PlannerView, access.PlannerEdit}}
	with := func(f func(r *access.Role)) access.Role {
		r := ok
		r.Permissions = slices.Clone(ok.Permissions)
		f(&r)
		return r
	}
	tests := []struct {
		name   string
		role   access.Role
		fields []string // the fields refused, in order; none for a valid role
	}{
		{"valid", ok, nil},
		{"no permissions is allowed", with(func(r *access.Role) { r.Permissions = nil }), nil},
		{"empty name", with(func(r *access.Role) { r.Name = "  " }), []string{"name"}},
		{"name too long", with(func(r *access.Role) { r.Name = strings.Repeat("n", 101) }), []string{"name"}},
		{"name with a control character", with(func(r *access.Role) { r.Name = "Night\x07" }), []string{"name"}},
		{"unknown permission", with(func(r *access.Role) { r.Permissions = append(r.Permissions, "planner.delete") }), []string{"permissions"}},
		{"duplicate permission", with(func(r *access.Role) { r.Permissions = append(r.Permissions, access.PlannerView) }), []string{"permissions"}},
		{"no id", with(func(r *access.Role) { r.ID = "" }), []string{"id"}},
		{"id in capitals", with(func(r *access.Role) { r.ID = "Night" }), []string{"id"}},
		{"id with a double hyphen", with(func(r *access.Role) { r.ID = "night--shift" }), []string{"id"}},
		{"id too long", with(func(r *access.Role) { r.ID = strings.Repeat("a", 65) }), []string{"id"}},
		{"description too long", with(func(r *access.Role) { r.Description = strings.Repeat("d", 501) }), []string{"description"}},
		{"the Planner Worker's name", with(func(r *access.Role) { r.Name = "planner-WORKER" }), []string{"name"}},
		{"the Planner Worker's id", with(func(r *access.Role) { r.ID = "planner-worker" }), []string{"id"}},
		{"the marker", with(func(r *access.Role) { r.PlannerWorker = true }), []string{"name"}},
		{"everything at once", access.Role{Name: "", Permissions: []string{"x", "x"}}, []string{"id", "name", "permissions", "permissions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ValidateRole(tt.role)
			var fields []string
			for _, f := range user.ErrorFields(err) {
				fields = append(fields, f.Field)
				if f.Message == "" {
					t.Errorf("field %s refused without naming the rule", f.Field)
				}
			}
			if !slices.Equal(fields, tt.fields) {
				t.Fatalf("refused fields %v (%v), want %v", fields, err, tt.fields)
			}
			if err != nil {
				if user.ErrorCode(err) != user.CodeInvalid {
					t.Errorf("code %s, want %s", user.ErrorCode(err), user.CodeInvalid)
				}
				return
			}
			if got.Permissions == nil {
				t.Error("a valid role's permissions are nil; want an empty list")
			}
		})
	}
}

func TestValidateRoleTrims(t *testing.T) {
	got, err := access.DefaultCatalogue().ValidateRole(access.Role{ID: "night", Name: "  Night  ", Description: " Nights "})
	if err != nil || got.Name != "Night" || got.Description != "Nights" {
		t.Errorf("ValidateRole = %+v, %v; want the name and description trimmed", got, err)
	}
}

func TestDefaultRolesAreValid(t *testing.T) {
	c := access.DefaultCatalogue()
	for _, r := range c.Roles() {
		if _, err := c.ValidateRole(r); err != nil {
			t.Errorf("default role %s: %v", r.ID, err)
		}
	}
}

func TestRoleNameKey(t *testing.T) {
	same := [][2]string{{"Night Supervisor", "night-supervisor"}, {"NIGHT_SUPERVISOR", " night supervisor "}, {"Caf\u00e9", "CAFE\u0301"}}
	for _, p := range same {
		if access.RoleNameKey(p[0]) != access.RoleNameKey(p[1]) {
			t.Errorf("%q and %q are different names, want the same", p[0], p[1])
		}
	}
	if access.RoleNameKey("Planner") == access.RoleNameKey("Planners") {
		t.Error("Planner and Planners are one name")
	}
}

func TestRoleJSONUnchangedForTheCatalogue(t *testing.T) {
	// The catalogue's roles are not stored: GET /roles answers them as
	// before, without version or times.
	r, _ := access.DefaultCatalogue().Role("staff")
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"staff","name":"Staff","description":"Sees the schedule","permissions":["planner.view"]}`
	if string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}

func TestWithRolesPutsStoredRolesInTheCatalogue(t *testing.T) {
	base := access.DefaultCatalogue()
	night := access.Role{ID: "night-supervisor", Name: "Night Supervisor", Permissions: []string{access.PlannerView}}
	aux := access.Role{ID: "aux", Name: "Auxiliary"}
	staff, _ := base.Role("staff")
	staff.Permissions = nil // narrowed by the organisation
	admin, _ := base.Role("administrator")
	c := base.WithRoles([]access.Role{night, staff, aux, admin}, 0)
	var ids []string
	for _, r := range c.Roles() {
		ids = append(ids, r.ID)
	}
	if want := []string{"administrator", "staff", "aux", "night-supervisor"}; !slices.Equal(ids, want) {
		t.Errorf("roles %v, want %v (defaults in their order, then the others by name)", ids, want)
	}
	if _, ok := c.Role("supervisor"); ok {
		t.Error("a default role that is not stored is still in force")
	}
	if got := c.Effective(user.User{Role: "staff"}); len(got) != 0 {
		t.Errorf("the narrowed role still gives %v", got)
	}
	if id, worker, ok := c.ResolveRole("planner worker"); !ok || !worker || id != "planner-worker" {
		t.Errorf("the Planner Worker marker: %q %v %v", id, worker, ok)
	}
	if len(c.Permissions()) != len(base.Permissions()) {
		t.Error("the permissions are not the product's")
	}
}
