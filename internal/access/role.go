package access

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opsos/onboarding/internal/user"
)

// Errors of stored roles, for the stores to report and the API and Slack
// to map by their code.
var (
	ErrRoleNotFound  = user.Errorf(user.CodeNotFound, "role not found")
	ErrRoleNameTaken = &user.Error{Code: user.CodeConflict, Message: "a role with this name already exists",
		Fields: []user.FieldError{{Field: "name", Message: "is already used by another role (names are compared ignoring letter case, spaces and hyphens)"}}}
	// ErrRoleExists reports a new role whose id is, or was, another
	// role's: a deleted role's id keeps its audit trail, so it is not
	// given to a new role.
	ErrRoleExists = user.Errorf(user.CodeConflict, "a role with this id exists or existed")
)

// Limits on a role's id and description.
const (
	maxRoleIDLen          = 64
	maxRoleDescriptionLen = 500
)

// ValidateRole checks a role an organisation defines and returns it with
// its name and description trimmed and its permissions never nil. The
// rules: an id of lower-case letters, digits and single hyphens (it names
// the role's Cognito group and never changes); a name as required as a
// person's (plain text, at most 100 characters); a short plain-text
// description; permissions that OpsOS knows, each once. No permissions at
// all is allowed. The Planner Worker role is not a role that can be
// defined, under its id or its name. Every broken rule is reported, each
// naming its field.
func (c *Catalogue) ValidateRole(r Role) (Role, error) {
	var fe []user.FieldError
	add := func(field, format string, args ...any) {
		fe = append(fe, user.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if msg := roleIDRule(r.ID); msg != "" {
		add("id", "%s", msg)
	}
	var nameErrs []user.FieldError
	r.Name, nameErrs = user.CheckName("name", r.Name)
	fe = append(fe, nameErrs...)
	worker := c.plannerWorker()
	if worker.ID != "" && r.ID == worker.ID {
		add("id", "%s", user.PlannerWorkerMessage)
	}
	if r.PlannerWorker || worker.ID != "" && len(nameErrs) == 0 && RoleNameKey(r.Name) == RoleNameKey(worker.Name) {
		add("name", "%s", user.PlannerWorkerMessage)
	}
	r.Description = strings.TrimSpace(r.Description)
	switch {
	case !utf8.ValidString(r.Description):
		add("description", "%s", user.InvalidTextMessage)
	case strings.ContainsFunc(r.Description, unicode.IsControl):
		add("description", "must be plain text without control characters")
	case utf8.RuneCountInString(r.Description) > maxRoleDescriptionLen:
		add("description", "must be at most %d characters", maxRoleDescriptionLen)
	}
	seen := map[string]bool{}
	for _, p := range r.Permissions {
		switch {
		case !c.PermissionExists(p):
			add("permissions", "%q is not a permission OpsOS knows", p)
		case seen[p]:
			add("permissions", "%q is listed twice", p)
		}
		seen[p] = true
	}
	if r.Permissions == nil {
		r.Permissions = []string{}
	}
	if len(fe) > 0 {
		return Role{}, user.InvalidFields(fe...)
	}
	return r, nil
}

// roleIDRule returns the rule id breaks, "" for none.
func roleIDRule(id string) string {
	switch {
	case id == "":
		return "is required"
	case len(id) > maxRoleIDLen:
		return fmt.Sprintf("must be at most %d characters", maxRoleIDLen)
	case strings.HasPrefix(id, "-") || strings.HasSuffix(id, "-") || strings.Contains(id, "--"),
		strings.ContainsFunc(id, func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' }):
		return "must be lower-case letters and digits, in words joined by single hyphens"
	}
	return ""
}

// plannerWorker returns the catalogue's Planner Worker marker.
func (c *Catalogue) plannerWorker() Role {
	i := slices.IndexFunc(c.roles, func(r Role) bool { return r.PlannerWorker })
	if i < 0 {
		return Role{}
	}
	return c.roles[i]
}

// Diff lists the fields of a role changed from a to b, for the audit
// trail, as user.Diff does for users.
func Diff(a, b Role) []user.Change {
	var cs []user.Change
	add := func(field string, from, to any, differ bool) {
		if differ {
			cs = append(cs, user.Change{Field: field, From: from, To: to})
		}
	}
	add("name", a.Name, b.Name, a.Name != b.Name)
	add("description", a.Description, b.Description, a.Description != b.Description)
	add("permissions", a.Permissions, b.Permissions, !slices.Equal(a.Permissions, b.Permissions))
	return cs
}
