// Package access holds the role catalogue and computes what a user may do:
// the permissions of their one role, plus grants, minus revokes, plus what
// the external access flags open.
package access

import (
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/opsos/onboarding/internal/user"
)

// The permissions OpsOS knows.
const (
	UsersView         = "users.view"
	UsersManage       = "users.manage"
	PlannerView       = "planner.view"
	PlannerEdit       = "planner.edit"
	PurchasingView    = "purchasing.view"
	PurchasingApprove = "purchasing.approve"
	ReportsView       = "reports.view"
	SettingsManage    = "settings.manage"
)

// Permission is a named capability with a description for people.
type Permission struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Role is a named set of permissions. Every system user has exactly one.
// Roles are stored (onboarding.RoleStore); the catalogue's are the ones
// an organisation starts with.
type Role struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	// Version counts the stored role's changes, from 1; it is the ETag
	// an edit must match. Zero (and left out of JSON) for a role that is
	// not stored, as the catalogue's are.
	Version   int64     `json:"version,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	UpdatedBy string    `json:"updatedBy,omitempty"`
	// PlannerWorker marks the role of Planner's worker portal: people who
	// only see their shifts are not system users and cannot get it here.
	// It is never stored: the marker lives in the catalogue only.
	PlannerWorker bool `json:"-"`
}

// Catalogue is the set of roles and permissions in force.
type Catalogue struct {
	roles       []Role
	permissions []Permission
	// version is the stored version of the roles as a whole (WithRoles).
	version int64
}

// DefaultCatalogue returns the roles every OpsOS organisation starts with.
func DefaultCatalogue() *Catalogue {
	all := []string{UsersView, UsersManage, PlannerView, PlannerEdit, PurchasingView, PurchasingApprove, ReportsView, SettingsManage}
	return &Catalogue{
		permissions: []Permission{
			{UsersView, "See system users and their onboarding status"},
			{UsersManage, "Create users, change roles and permissions, release and hold access"},
			{PlannerView, "See the Planner schedule and shifts"},
			{PlannerEdit, "Create and change shifts and assign people to them"},
			{PurchasingView, "See purchase orders and suppliers"},
			{PurchasingApprove, "Approve purchase orders"},
			{ReportsView, "See operational reports"},
			{SettingsManage, "Change organisation settings"},
		},
		roles: []Role{
			{ID: "administrator", Name: "Administrator", Description: "Full control of OpsOS, including settings", Permissions: all},
			{ID: "operations-manager", Name: "Operations Manager", Description: "Runs operations and manages the team's users",
				Permissions: []string{UsersView, UsersManage, PlannerView, PlannerEdit, PurchasingView, PurchasingApprove, ReportsView}},
			{ID: "supervisor", Name: "Supervisor", Description: "Runs shifts and sees the team",
				Permissions: []string{UsersView, PlannerView, PlannerEdit, PurchasingView, ReportsView}},
			{ID: "planner", Name: "Planner", Description: "Builds and staffs the schedule",
				Permissions: []string{PlannerView, PlannerEdit}},
			{ID: "purchasing", Name: "Purchasing", Description: "Buys and approves purchases",
				Permissions: []string{PurchasingView, PurchasingApprove}},
			{ID: "staff", Name: "Staff", Description: "Sees the schedule",
				Permissions: []string{PlannerView}},
			{ID: "planner-worker", Name: "Planner Worker", PlannerWorker: true,
				Description: "Freelancers and external staff who only see their shifts in the Planner worker portal"},
		},
	}
}

// Roles returns the roles a system user can have, in catalogue order.
func (c *Catalogue) Roles() []Role {
	var out []Role
	for _, r := range c.roles {
		if !r.PlannerWorker {
			out = append(out, r)
		}
	}
	return out
}

// Permissions returns every permission, in catalogue order.
func (c *Catalogue) Permissions() []Permission { return slices.Clone(c.permissions) }

// Role returns the role with the given id.
func (c *Catalogue) Role(id string) (Role, bool) {
	for _, r := range c.roles {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

// ResolveRole finds a role by id or by name, ignoring case, spaces and
// hyphens ("Operations Manager", "operations-manager").
func (c *Catalogue) ResolveRole(name string) (id string, plannerWorker, ok bool) {
	key := roleKey(name)
	for _, r := range c.roles {
		if roleKey(r.ID) == key || roleKey(r.Name) == key {
			return r.ID, r.PlannerWorker, true
		}
	}
	return "", false, false
}

func roleKey(s string) string { return RoleNameKey(s) }

// RoleNameKey is the form in which two role names are the same name:
// letter case, Unicode composition, spaces, hyphens and underscores
// aside. It is the key ResolveRole matches by, so that no spelling can
// resolve to two roles, and the key of a stored role's name guard.
func RoleNameKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '_' {
			return -1
		}
		return r
	}, norm.NFC.String(strings.ToLower(strings.TrimSpace(s))))
}

// PermissionExists reports whether name is a known permission.
func (c *Catalogue) PermissionExists(name string) bool {
	return slices.ContainsFunc(c.permissions, func(p Permission) bool { return p.Name == name })
}

// Effective returns the sorted permissions u has: the role's, plus grants,
// minus revokes, plus what the external access flags open (on external
// users only).
func (c *Catalogue) Effective(u user.User) []string {
	set := map[string]bool{}
	if r, ok := c.Role(u.Role); ok {
		for _, p := range r.Permissions {
			set[p] = true
		}
	}
	for _, p := range u.Grants {
		set[p] = true
	}
	for _, p := range u.Revokes {
		delete(set, p)
	}
	if u.Type == user.External {
		if u.ExternalPlannerAccess {
			set[PlannerView] = true
		}
		if u.ExternalPurchasingAccess {
			set[PurchasingView] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Has reports whether u's effective permissions include p.
func (c *Catalogue) Has(u user.User, p string) bool {
	return slices.Contains(c.Effective(u), p)
}

var _ user.Catalogue = (*Catalogue)(nil)

// WithRoles returns the catalogue of stored roles: c's permissions and
// Planner Worker marker, with roles in place of c's. The roles c also
// has come first, in c's order, and the others after them by name, so
// that the default roles read as they always have. version is the stored
// version of the roles as a whole that roles were read at (Version).
func (c *Catalogue) WithRoles(roles []Role, version int64) *Catalogue {
	order := func(r Role) int {
		if i := slices.IndexFunc(c.roles, func(d Role) bool { return d.ID == r.ID }); i >= 0 {
			return i
		}
		return len(c.roles)
	}
	out := slices.Clone(roles)
	slices.SortStableFunc(out, func(a, b Role) int {
		if oa, ob := order(a), order(b); oa != ob {
			return oa - ob
		}
		return strings.Compare(RoleNameKey(a.Name), RoleNameKey(b.Name))
	})
	if w := c.plannerWorker(); w.ID != "" {
		out = append(out, w)
	}
	return &Catalogue{roles: out, permissions: c.permissions, version: version}
}

// Version returns the stored version of the roles the catalogue holds:
// every write of a role changes it, so a write decided by this catalogue
// can be made on the condition that the roles are still at it. The
// default catalogue's is 0.
func (c *Catalogue) Version() int64 { return c.version }
