package onboarding

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/user"
)

// RuleSettingsManage: only holders of settings.manage create, change or
// delete roles (DESIGN.md §11). Containment and no-lockout apply to roles
// too: a role carries only permissions its author holds, and no change
// to a role leaves the organisation without an active settings manager.
const RuleSettingsManage = "settings-manage"

// ErrRoleVersionConflict is the answer to a change of a role that someone
// else changed since the caller read it.
var ErrRoleVersionConflict = &user.Error{Code: user.CodeStale, Message: "the role was changed by someone else; reload it and try again"}

// RoleDraft is the input for a new role. ID is optional: without it the
// role's id is made from its name ("Night Supervisor" is
// night-supervisor), and it never changes afterwards.
type RoleDraft struct {
	ID          string
	Name        string
	Description string
	Permissions []string
}

// RolePatch is an edit of a role: nil fields stay as they are.
type RolePatch struct {
	Name        *string
	Description *string
	Permissions *[]string
}

// RoleWarnings lists what is allowed but likely a mistake in r, for the
// answer to say: today, a role without any permission.
func RoleWarnings(r access.Role) []string {
	if len(r.Permissions) == 0 {
		return []string{"the role has no permissions: its holders can sign in but do nothing in OpsOS until it gets some"}
	}
	return nil
}

// GetRole returns one stored role, as the request's roles have it.
func (s *Service) GetRole(ctx context.Context, actor Actor, id string) (access.Role, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return access.Role{}, fmt.Errorf("get role %s: %w", id, err)
	}
	return storedRole(cat, id)
}

// storedRole returns the stored role id of cat: not the Planner Worker
// marker, which is the product's and never stored.
func storedRole(cat *access.Catalogue, id string) (access.Role, error) {
	r, ok := cat.Role(id)
	if !ok || r.PlannerWorker {
		return access.Role{}, access.ErrRoleNotFound
	}
	return r, nil
}

// CreateRole stores a new role, audited as the actor's.
func (s *Service) CreateRole(ctx context.Context, actor Actor, d RoleDraft) (access.Role, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return access.Role{}, fmt.Errorf("create role: %w", err)
	}
	if err := mayChangeRoles(cat, actor); err != nil {
		return access.Role{}, err
	}
	derived := strings.TrimSpace(d.ID) == ""
	id := strings.TrimSpace(d.ID)
	if derived {
		if id = roleSlug(d.Name); id == "" && strings.TrimSpace(d.Name) != "" {
			id = s.newID() // a name without a letter or digit of a-z, 0-9
		}
	}
	r, err := validRole(cat, access.Role{ID: id, Name: d.Name, Description: d.Description, Permissions: d.Permissions})
	if err != nil {
		return access.Role{}, err
	}
	if err := checkRoleContainment(cat, actor, access.Role{}, r); err != nil {
		return access.Role{}, err
	}
	now := s.now()
	r.Version, r.CreatedAt, r.UpdatedAt, r.UpdatedBy = 1, now, now, actor.user.Email
	changes := access.Diff(access.Role{}, r)
	for i := range changes {
		changes[i].From = nil
	}
	err = s.store.CreateRole(ctx, r, s.roleAudit(actor, r.ID, 1, "create", changes, now))
	if errors.Is(err, access.ErrRoleExists) {
		field, msg := "id", "is, or was, the id of another role: give the role another id"
		if derived {
			field, msg = "name", fmt.Sprintf("makes the id %q, which is, or was, another role's: give the role an id of its own", r.ID)
		}
		return access.Role{}, &user.Error{Code: user.CodeConflict, Message: "a role with this id exists or existed",
			Fields: []user.FieldError{{Field: field, Message: msg}}}
	}
	if err != nil {
		return access.Role{}, fmt.Errorf("create role %s: %w", r.ID, err)
	}
	return r, nil
}

// EditRole applies p to the role id. expectedVersion, when not zero, must
// be the role's current version (the ETag the caller read). Every
// holder's effective permissions follow at once.
func (s *Service) EditRole(ctx context.Context, actor Actor, id string, expectedVersion int64, p RolePatch) (access.Role, error) {
	cat, before, err := s.roleToChange(ctx, actor, id, expectedVersion)
	if err != nil {
		return access.Role{}, err
	}
	after := before
	if p.Name != nil {
		after.Name = *p.Name
	}
	if p.Description != nil {
		after.Description = *p.Description
	}
	if p.Permissions != nil {
		after.Permissions = *p.Permissions
	}
	if after, err = validRole(cat, after); err != nil {
		return access.Role{}, err
	}
	changes := access.Diff(before, after)
	if len(changes) == 0 {
		return before, nil
	}
	if err := checkRoleContainment(cat, actor, before, after); err != nil {
		return access.Role{}, err
	}
	if err := s.checkRoleLockout(ctx, cat, before, after); err != nil {
		return access.Role{}, err
	}
	now := s.now()
	after.Version, after.UpdatedAt, after.UpdatedBy = before.Version+1, now, actor.user.Email
	err = s.store.UpdateRole(ctx, after, before.Version, s.roleAudit(actor, id, after.Version, "edit", changes, now))
	if err != nil {
		return access.Role{}, roleWriteError("edit", id, err)
	}
	return after, nil
}

// DeleteRole deletes the role id, which nobody may hold. Its audit trail
// stays, and its id is never given to another role.
func (s *Service) DeleteRole(ctx context.Context, actor Actor, id string, expectedVersion int64) error {
	_, before, err := s.roleToChange(ctx, actor, id, expectedVersion)
	if err != nil {
		return err
	}
	holders, err := s.countHolders(ctx, id)
	if err != nil {
		return err
	}
	if holders > 0 {
		who := "1 user holds"
		if holders > 1 {
			who = fmt.Sprintf("%d users hold", holders)
		}
		return user.Errorf(user.CodeConflict, "%s the role %s: give them another role first, then delete it", who, before.Name)
	}
	changes := access.Diff(before, access.Role{})
	for i := range changes {
		changes[i].To = nil
	}
	now := s.now()
	err = s.store.DeleteRole(ctx, before, s.roleAudit(actor, id, before.Version+1, "delete", changes, now))
	if err != nil {
		return roleWriteError("delete", id, err)
	}
	return nil
}

// RoleHistory returns the audit trail of a role, oldest first, a deleted
// role's too.
func (s *Service) RoleHistory(ctx context.Context, actor Actor, id string, limit int, cursor string) (RoleHistoryPage, error) {
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return RoleHistoryPage{}, user.InvalidField("limit", "must be between 1 and %d", MaxLimit)
	}
	p, err := s.store.RoleHistory(ctx, id, limit, cursor)
	if err != nil {
		return RoleHistoryPage{}, err
	}
	if len(p.Entries) == 0 && cursor == "" {
		return RoleHistoryPage{}, access.ErrRoleNotFound
	}
	return p, nil
}

// roleToChange reads the roles and the role id for a change by actor, who
// must be allowed to change roles and to reach the role as it is.
func (s *Service) roleToChange(ctx context.Context, actor Actor, id string, expectedVersion int64) (*access.Catalogue, access.Role, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return nil, access.Role{}, fmt.Errorf("change role %s: %w", id, err)
	}
	if err := mayChangeRoles(cat, actor); err != nil {
		return nil, access.Role{}, err
	}
	// The request's roles were read consistently, versions and all; the
	// write is conditional on the version, so a change in between is a
	// conflict, not lost.
	before, err := storedRole(cat, id)
	if err != nil {
		return nil, access.Role{}, err
	}
	if expectedVersion != 0 && expectedVersion != before.Version {
		return nil, access.Role{}, ErrRoleVersionConflict
	}
	if extra := beyond(before.Permissions, cat.Effective(actor.user)); len(extra) > 0 {
		return nil, access.Role{}, &user.Error{Code: user.CodeForbidden, Rule: RuleContainment, Message: fmt.Sprintf(
			"the role %s has permissions you do not hold (%s): only a manager who holds all of them can change or delete it (rule: %s)",
			before.Name, strings.Join(extra, ", "), RuleContainment)}
	}
	return cat, before, nil
}

// validRole checks r by the catalogue's rules and puts its permissions in
// the catalogue's order, so that a role reads the same however it was
// written and reordering them is no change.
func validRole(cat *access.Catalogue, r access.Role) (access.Role, error) {
	r, err := cat.ValidateRole(r)
	if err != nil {
		return access.Role{}, err
	}
	order := cat.Permissions()
	at := func(p string) int {
		return slices.IndexFunc(order, func(q access.Permission) bool { return q.Name == p })
	}
	r.Permissions = slices.Clone(r.Permissions)
	slices.SortFunc(r.Permissions, func(a, b string) int { return at(a) - at(b) })
	return r, nil
}

// mayChangeRoles refuses an actor who does not hold settings.manage.
func mayChangeRoles(cat *access.Catalogue, actor Actor) error {
	if cat.Has(actor.user, access.SettingsManage) {
		return nil
	}
	return &user.Error{Code: user.CodeForbidden, Rule: RuleSettingsManage, Message: fmt.Sprintf(
		"you need the %s permission to create, change or delete roles (rule: %s)", access.SettingsManage, RuleSettingsManage)}
}

// checkRoleContainment refuses a role that would carry permissions its
// author does not hold.
func checkRoleContainment(cat *access.Catalogue, actor Actor, before, after access.Role) error {
	extra := beyond(after.Permissions, cat.Effective(actor.user))
	if len(extra) == 0 {
		return nil
	}
	return &user.Error{Code: user.CodeForbidden, Rule: RuleContainment, Message: fmt.Sprintf(
		"a role can carry only permissions you hold yourself, and you do not hold %s (rule: %s)", strings.Join(extra, ", "), RuleContainment),
		Fields: []user.FieldError{{Field: "permissions", Message: fmt.Sprintf("%s: you do not hold it", strings.Join(extra, ", "))}}}
}

// checkRoleLockout refuses a change of a role that would leave no active
// user holding settings.manage.
func (s *Service) checkRoleLockout(ctx context.Context, cat *access.Catalogue, before, after access.Role) error {
	if !slices.Contains(before.Permissions, access.SettingsManage) || slices.Contains(after.Permissions, access.SettingsManage) {
		return nil
	}
	roles := cat.Roles()
	for i := range roles {
		if roles[i].ID == after.ID {
			roles[i] = after
		}
	}
	last, err := s.lastSettingsManager(ctx, s.base.WithRoles(roles, cat.Version()), "")
	if err != nil {
		return err
	}
	if last {
		return &user.Error{Code: user.CodeForbidden, Rule: RuleNoLockout, Message: fmt.Sprintf(
			"without %s in the role %s, no active user could change organisation settings: give another active user that permission first, so that nobody is locked out (rule: %s)",
			access.SettingsManage, before.Name, RuleNoLockout)}
	}
	return nil
}

// countHolders counts the users whose role is id, whatever their status.
func (s *Service) countHolders(ctx context.Context, id string) (int, error) {
	n := 0
	q := ListQuery{Role: id, Limit: MaxLimit}
	for {
		p, err := s.store.ListUsers(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("count the holders of role %s: %w", id, err)
		}
		n += len(p.Users)
		if p.NextCursor == "" {
			return n, nil
		}
		q.Cursor = p.NextCursor
	}
}

// roleWriteError words a store's refusal of a role write.
func roleWriteError(action, id string, err error) error {
	if errors.Is(err, user.ErrVersionConflict) {
		return ErrRoleVersionConflict
	}
	return fmt.Errorf("%s role %s: %w", action, id, err)
}

func (s *Service) roleAudit(actor Actor, id string, version int64, action string, changes []user.Change, now time.Time) RoleAuditEntry {
	return RoleAuditEntry{RoleID: id, Audit: actor.roleAudit(version, action, changes, now)}
}

// roleSlug makes a role id of a name: lower-case letters and digits of
// a-z and 0-9, words joined by single hyphens, at most 64 characters.
func roleSlug(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
	}
	id := b.String() // ASCII only, so bytes are characters
	if len(id) > 64 {
		id = id[:64]
	}
	return strings.TrimRight(id, "-")
}
