package access_test

import (
	"slices"
	"testing"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/user"
)

func TestEffective(t *testing.T) {
	c := access.DefaultCatalogue()
	tests := []struct {
		name string
		u    user.User
		want []string
	}{
		{"role only", user.User{Type: user.Internal, Role: "planner"}, []string{"planner.edit", "planner.view"}},
		{"grant and revoke", user.User{Type: user.Internal, Role: "planner", Grants: []string{"reports.view"}, Revokes: []string{"planner.edit"}},
			[]string{"planner.view", "reports.view"}},
		{"external flags", user.User{Type: user.External, Role: "purchasing", ExternalPlannerAccess: true},
			[]string{"planner.view", "purchasing.approve", "purchasing.view"}},
		{"flags ignored on internal users", user.User{Type: user.Internal, Role: "purchasing", ExternalPlannerAccess: true},
			[]string{"purchasing.approve", "purchasing.view"}},
		{"revoke everything", user.User{Type: user.Internal, Role: "staff", Revokes: []string{"planner.view"}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Effective(tt.u); !slices.Equal(got, tt.want) {
				t.Errorf("Effective = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCatalogue(t *testing.T) {
	c := access.DefaultCatalogue()
	for _, name := range []string{"Administrator", "Operations Manager", "Supervisor", "Planner", "Purchasing", "Staff"} {
		id, worker, ok := c.ResolveRole(name)
		if !ok || worker {
			t.Errorf("role %q: ok=%v worker=%v", name, ok, worker)
		}
		if r, _ := c.Role(id); r.Name != name || len(r.Permissions) == 0 {
			t.Errorf("role %q resolves to %+v", name, r)
		}
	}
	if id, _, ok := c.ResolveRole(" operations-MANAGER "); !ok || id != "operations-manager" {
		t.Errorf("loose spelling: %q %v", id, ok)
	}
	if _, worker, ok := c.ResolveRole("planner worker"); !ok || !worker {
		t.Error("the Planner worker role must be known, and marked")
	}
	for _, r := range c.Roles() {
		if r.PlannerWorker {
			t.Errorf("Roles lists the worker role %q", r.ID)
		}
		for _, p := range r.Permissions {
			if !c.PermissionExists(p) {
				t.Errorf("role %s has unknown permission %s", r.ID, p)
			}
		}
	}
	admin := user.User{Type: user.Internal, Role: "administrator"}
	if !c.Has(admin, access.UsersManage) || c.Has(user.User{Role: "staff"}, access.UsersManage) {
		t.Error("users.manage: administrators have it, staff do not")
	}
}
