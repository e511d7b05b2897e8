package item

import (
	"fmt"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
)

// Entity names of roles' items. None is "user": the stream mapping's
// filter and DecodeChange pass over them, so they never reach the
// release worker.
const (
	EntityRole      = "role"
	EntityRoleAudit = "roleAudit"
	EntityRoleName  = "roleName"
	// EntityRolesVersion is the version of the roles as a whole.
	EntityRolesVersion = "rolesVersion"
)

// Key prefixes and fixed keys of roles' items (see the package comment).
const (
	// RolesPK is the one partition holding every role: an organisation
	// has tens of them, and one strongly consistent Query lists them all
	// in id order.
	RolesPK        = "ROLES"
	rolePrefix     = "ROLE#"
	roleNamePrefix = "ROLENAME#"
	RoleNameSK     = "ROLENAME"
	// RolesVersionSK is the sort key of the roles' version in the ROLES
	// partition: not a role's (those begin with ROLE#), so the Query that
	// lists the roles reads it too, and tells it apart by IsRolesVersion.
	RolesVersionSK = "VERSION"
)

// RoleSK is the sort key of a role in the ROLES partition.
func RoleSK(id string) string { return rolePrefix + id }

// RoleAuditPK is the partition key of a role's audit trail, which
// outlives the role.
func RoleAuditPK(id string) string { return rolePrefix + id }

// RoleNamePK is the partition key of the guard of a role name, keyed by
// access.RoleNameKey.
func RoleNamePK(name string) string { return RoleNameKeyPK(access.RoleNameKey(name)) }

// RoleNameKeyPK is the partition key of the guard whose key is nameKey,
// as a role stores it (item.Role.NameKey): taken as it is, not made
// again, so that a guard written before access.RoleNameKey changed is
// still found.
func RoleNameKeyPK(nameKey string) string { return roleNamePrefix + nameKey }

// Role is the stored form of an access.Role. Its id is "roleId", not
// "id": the byEntity index is keyed by entity and id and must hold users
// only.
type Role struct {
	PK          string   `dynamodbav:"PK"`
	SK          string   `dynamodbav:"SK"`
	Entity      string   `dynamodbav:"entity"`
	RoleID      string   `dynamodbav:"roleId"`
	Name        string   `dynamodbav:"name"`
	Description string   `dynamodbav:"description,omitempty"`
	Permissions []string `dynamodbav:"permissions,omitempty"`
	// NameKey is the key of the name's guard, so that an update can be
	// conditioned on the guard it keeps without reading the role first.
	NameKey   string `dynamodbav:"nameKey"`
	Version   int64  `dynamodbav:"version"`
	CreatedAt string `dynamodbav:"createdAt"`
	UpdatedAt string `dynamodbav:"updatedAt"`
	UpdatedBy string `dynamodbav:"updatedBy"`
}

// RoleAudit is the stored form of an onboarding.RoleAuditEntry.
type RoleAudit struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Entity string `dynamodbav:"entity"`
	RoleID string `dynamodbav:"roleId"`
	AuditRecord
}

// RolesVersion is the version of the roles as a whole: every write of a
// role adds one to it in the same transaction, so that a write decided by
// the roles can be conditioned on their still being the ones it read. A
// table without the item is at version 0; the first role write makes it.
type RolesVersion struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Entity  string `dynamodbav:"entity"`
	Version int64  `dynamodbav:"version"`
}

// FromRolesVersion returns the item of the roles at version v.
func FromRolesVersion(v int64) RolesVersion {
	return RolesVersion{PK: RolesPK, SK: RolesVersionSK, Entity: EntityRolesVersion, Version: v}
}

// IsRolesVersion reports whether the sort key sk of an item of the ROLES
// partition is the roles' version rather than a role.
func IsRolesVersion(sk string) bool { return sk == RolesVersionSK }

// RoleName is the guard that keeps one name to one role.
type RoleName struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Entity string `dynamodbav:"entity"`
	RoleID string `dynamodbav:"roleId"`
}

// FromRole returns the item of r. The Planner Worker marker is not
// stored.
func FromRole(r access.Role) Role {
	return Role{
		PK: RolesPK, SK: RoleSK(r.ID), Entity: EntityRole, RoleID: r.ID,
		Name: r.Name, Description: r.Description, Permissions: r.Permissions, NameKey: access.RoleNameKey(r.Name),
		Version: r.Version, CreatedAt: timeString(r.CreatedAt), UpdatedAt: timeString(r.UpdatedAt), UpdatedBy: r.UpdatedBy,
	}
}

// Domain returns the role the item holds; its permissions are never nil.
func (it Role) Domain() (access.Role, error) {
	r := access.Role{ID: it.RoleID, Name: it.Name, Description: it.Description, Permissions: it.Permissions,
		Version: it.Version, UpdatedBy: it.UpdatedBy}
	if r.Permissions == nil {
		r.Permissions = []string{}
	}
	var err error
	if r.CreatedAt, err = parseTime(it.CreatedAt); err != nil {
		return access.Role{}, fmt.Errorf("role %s: %w", it.RoleID, err)
	}
	if r.UpdatedAt, err = parseTime(it.UpdatedAt); err != nil {
		return access.Role{}, fmt.Errorf("role %s: %w", it.RoleID, err)
	}
	return r, nil
}

// FromRoleName returns the guard item of a role's name.
func FromRoleName(name, roleID string) RoleName {
	return RoleName{PK: RoleNamePK(name), SK: RoleNameSK, Entity: EntityRoleName, RoleID: roleID}
}

// FromRoleAudit returns the item of a role's audit entry.
func FromRoleAudit(a onboarding.RoleAuditEntry) (RoleAudit, error) {
	rec, err := fromAudit(a.Audit)
	return RoleAudit{PK: RoleAuditPK(a.RoleID), SK: rec.sk(), Entity: EntityRoleAudit, RoleID: a.RoleID, AuditRecord: rec}, err
}

// Domain returns the audit entry the item holds.
func (it RoleAudit) Domain() (onboarding.RoleAuditEntry, error) {
	a, err := it.domain("role " + it.RoleID)
	return onboarding.RoleAuditEntry{RoleID: it.RoleID, Audit: a}, err
}
