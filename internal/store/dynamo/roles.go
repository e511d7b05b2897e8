package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/user"
)

// Roles are written as users are: a create puts the role, its name guard
// and its first audit entry in one transaction, each conditional on its
// key being new (the audit entry's key is what keeps a deleted role's id
// from a new role); an update puts the role on the condition that its
// version and name guard are the ones the caller read, without reading it
// first, and moves the guard only when the name's key changes. A delete
// is conditioned the same way, on the role as the caller read it, and
// removes the guard of the name it read.
//
// Every role write also adds one to the roles' version (ROLES, VERSION)
// in its transaction, conditioned on the version the caller's roles had
// when the audit entry carries one. A user write whose entry carries one
// gets a ConditionCheck on it in its transaction; the service sets it on
// role writes only, since an item in every manager's transaction would
// make concurrent writes meet on it (TransactionConflict) in AWS. None
// of this adds a request. A table without the item is at version 0.

var _ onboarding.RoleStore = (*Store)(nil)

// ListRoles implements onboarding.RoleStore: one strongly consistent
// query of the ROLES partition, in id order, which holds the roles'
// version too.
func (s *Store) ListRoles(ctx context.Context) ([]access.Role, int64, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("PK").Equal(expression.Value(item.RolesPK))).Build()
	if err != nil {
		return nil, 0, fmt.Errorf("build roles query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: expr.KeyCondition(), ConsistentRead: aws.Bool(true),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	var (
		out     []access.Role
		version int64
	)
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, 0, fmt.Errorf("list roles: %w", err)
		}
		for _, m := range page.Items {
			if sk, ok := m["SK"].(*types.AttributeValueMemberS); ok && item.IsRolesVersion(sk.Value) {
				var it item.RolesVersion
				if err := attributevalue.UnmarshalMap(m, &it); err != nil {
					return nil, 0, fmt.Errorf("decode the roles' version: %w", err)
				}
				version = it.Version
				continue
			}
			var it item.Role
			if err := attributevalue.UnmarshalMap(m, &it); err != nil {
				return nil, 0, fmt.Errorf("decode role: %w", err)
			}
			r, err := it.Domain()
			if err != nil {
				return nil, 0, err
			}
			out = append(out, r)
		}
		if page.LastEvaluatedKey == nil {
			return out, version, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// GetRole implements onboarding.RoleStore.
func (s *Store) GetRole(ctx context.Context, id string) (access.Role, error) {
	it, err := s.getRoleItem(ctx, id)
	if err != nil {
		return access.Role{}, err
	}
	return it.Domain()
}

func (s *Store) getRoleItem(ctx context.Context, id string) (item.Role, error) {
	it, found, err := getItem[item.Role](ctx, s, item.RolesPK, item.RoleSK(id))
	switch {
	case err != nil:
		return item.Role{}, fmt.Errorf("get role %s: %w", id, err)
	case !found:
		return item.Role{}, access.ErrRoleNotFound
	}
	return it, nil
}

// CreateRole implements onboarding.RoleStore.
func (s *Store) CreateRole(ctx context.Context, r access.Role, a onboarding.RoleAuditEntry) error {
	aud, err := item.FromRoleAudit(a)
	if err != nil {
		return err
	}
	var items []types.TransactWriteItem
	for _, v := range []any{item.FromRole(r), item.FromRoleName(r.Name, r.ID), aud} {
		if items, err = s.appendPutNew(items, v); err != nil {
			return err
		}
	}
	items, rolesAt, err := s.appendRolesBump(items, a.RolesVersion)
	if err != nil {
		return err
	}
	err = s.transact(ctx, items)
	if errors.Is(err, errConflicted) {
		return s.createRoleConflicted(ctx, r, err)
	}
	if failed, ok := cancelled(err); ok {
		switch {
		case failed[rolesAt]:
			return onboarding.ErrRolesChanged
		case failed[0], failed[2]: // the role, or its trail: the id is or was used
			return access.ErrRoleExists
		case failed[1]:
			return access.ErrRoleNameTaken
		}
	}
	if err != nil {
		return fmt.Errorf("create role %s: %w", r.ID, err)
	}
	return nil
}

// createRoleConflicted answers a create whose every attempt met another
// transaction on its items, as createConflicted does for users: by now
// the other one has committed or failed, and the items say which.
func (s *Store) createRoleConflicted(ctx context.Context, r access.Role, cause error) error {
	if _, err := s.getRoleItem(ctx, r.ID); err == nil {
		return access.ErrRoleExists
	}
	if _, taken, err := getItem[item.RoleName](ctx, s, item.RoleNamePK(r.Name), item.RoleNameSK); err == nil && taken {
		return access.ErrRoleNameTaken
	}
	return fmt.Errorf("create role %s: %w: %w", r.ID, onboarding.ErrRoleWriteConflict, cause)
}

// UpdateRole implements onboarding.RoleStore.
func (s *Store) UpdateRole(ctx context.Context, r access.Role, expectedVersion int64, a onboarding.RoleAuditEntry) error {
	// Nearly every edit keeps the name's key: try that without reading
	// the role, and read it only when the condition fails.
	newKey := access.RoleNameKey(r.Name)
	err := s.updateRole(ctx, r, expectedVersion, a, newKey)
	if !errors.Is(err, errConditionFailed) {
		return err
	}
	old, err := s.getRoleItem(ctx, r.ID)
	if err != nil {
		return err
	}
	if old.Version != expectedVersion || old.NameKey == newKey {
		return user.ErrVersionConflict
	}
	err = s.updateRole(ctx, r, expectedVersion, a, old.NameKey)
	if errors.Is(err, errConditionFailed) {
		if _, gerr := s.getRoleItem(ctx, r.ID); errors.Is(gerr, access.ErrRoleNotFound) {
			return access.ErrRoleNotFound
		}
		return user.ErrVersionConflict
	}
	return err
}

// updateRole writes r over the version expectedVersion whose name guard
// is oldKey, moving the guard when the name's key changes, with its audit
// entry, in one transaction.
func (s *Store) updateRole(ctx context.Context, r access.Role, expectedVersion int64, a onboarding.RoleAuditEntry, oldKey string) error {
	m, err := marshal(item.FromRole(r))
	if err != nil {
		return err
	}
	putRole, err := s.conditionalPut(m, expression.Name("version").Equal(expression.Value(expectedVersion)).
		And(expression.Name("nameKey").Equal(expression.Value(oldKey))))
	if err != nil {
		return err
	}
	items, newGuard := []types.TransactWriteItem{putRole}, -1
	if newKey := access.RoleNameKey(r.Name); newKey != oldKey {
		del, err := s.deleteGuard(oldKey, r.ID)
		if err != nil {
			return err
		}
		items, newGuard = append(items, del), len(items)+1
		if items, err = s.appendPutNew(items, item.FromRoleName(r.Name, r.ID)); err != nil {
			return err
		}
	}
	if items, err = s.appendRoleAudit(items, a); err != nil {
		return err
	}
	auditAt := len(items) - 1
	items, rolesAt, err := s.appendRolesBump(items, a.RolesVersion)
	if err != nil {
		return err
	}
	err = s.transact(ctx, items)
	if errors.Is(err, errConflicted) {
		return fmt.Errorf("update role %s: %w: %w", r.ID, user.ErrVersionConflict, err)
	}
	if failed, ok := cancelled(err); ok {
		switch {
		case failed[rolesAt]:
			return onboarding.ErrRolesChanged
		case failed[0]:
			return errConditionFailed
		case newGuard >= 0 && failed[newGuard]:
			return access.ErrRoleNameTaken
		case failed[auditAt]:
			return user.ErrVersionConflict // the version's entry exists: someone wrote it
		}
	}
	if err != nil {
		return fmt.Errorf("update role %s: %w", r.ID, err)
	}
	return nil
}

// deleteGuard is the transactional delete of the name guard nameKey,
// on the condition that it is roleID's.
func (s *Store) deleteGuard(nameKey, roleID string) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(expression.Name("roleId").Equal(expression.Value(roleID))).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build guard condition: %w", err)
	}
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName: &s.table, Key: key(item.RoleNameKeyPK(nameKey), item.RoleNameSK),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, nil
}

func (s *Store) appendRoleAudit(items []types.TransactWriteItem, a onboarding.RoleAuditEntry) ([]types.TransactWriteItem, error) {
	aud, err := item.FromRoleAudit(a)
	if err != nil {
		return items, err
	}
	return s.appendPutNew(items, aud)
}

// DeleteRole implements onboarding.RoleStore without reading the role:
// the role is deleted on the condition that it is at the version and has
// the name's key the caller read, and the guard of that name with it.
// Only when the condition fails is the role read, to tell a stale read
// from a role that is gone, or from a role stored under another key of
// its name (one written before access.RoleNameKey changed), which is
// then deleted with the guard of the key it was stored with.
func (s *Store) DeleteRole(ctx context.Context, r access.Role, a onboarding.RoleAuditEntry) error {
	nameKey := access.RoleNameKey(r.Name)
	err := s.deleteRole(ctx, r, a, nameKey)
	if !errors.Is(err, errConditionFailed) {
		return err
	}
	old, err := s.getRoleItem(ctx, r.ID)
	if err != nil {
		return err
	}
	if old.Version != r.Version || old.NameKey == nameKey {
		return user.ErrVersionConflict
	}
	err = s.deleteRole(ctx, r, a, old.NameKey)
	if errors.Is(err, errConditionFailed) {
		if _, gerr := s.getRoleItem(ctx, r.ID); errors.Is(gerr, access.ErrRoleNotFound) {
			return access.ErrRoleNotFound
		}
		return user.ErrVersionConflict
	}
	return err
}

// deleteRole deletes the role r at r.Version whose name guard is
// nameKey, and the guard, with the audit entry, in one transaction. It
// fails with errConditionFailed when the role, its guard or its next
// audit entry is not as read.
func (s *Store) deleteRole(ctx context.Context, r access.Role, a onboarding.RoleAuditEntry, nameKey string) error {
	id := r.ID
	expr, err := expression.NewBuilder().WithCondition(expression.Name("version").Equal(expression.Value(r.Version)).
		And(expression.Name("nameKey").Equal(expression.Value(nameKey)))).Build()
	if err != nil {
		return fmt.Errorf("build delete condition: %w", err)
	}
	delRole := types.TransactWriteItem{Delete: &types.Delete{
		TableName: &s.table, Key: key(item.RolesPK, item.RoleSK(id)),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}
	delGuard, err := s.deleteGuard(nameKey, id)
	if err != nil {
		return err
	}
	items, err := s.appendRoleAudit([]types.TransactWriteItem{delRole, delGuard}, a)
	if err != nil {
		return err
	}
	items, rolesAt, err := s.appendRolesBump(items, a.RolesVersion)
	if err != nil {
		return err
	}
	err = s.transact(ctx, items)
	if errors.Is(err, errConflicted) {
		return fmt.Errorf("delete role %s: %w: %w", id, user.ErrVersionConflict, err)
	}
	if failed, ok := cancelled(err); ok {
		if failed[rolesAt] {
			return onboarding.ErrRolesChanged
		}
		return errConditionFailed
	}
	if err != nil {
		return fmt.Errorf("delete role %s: %w", id, err)
	}
	return nil
}

// rolesAt is the condition that the roles' version item is at want; a
// table without it is at version 0.
func rolesAt(want int64) expression.ConditionBuilder {
	at := expression.Name("version").Equal(expression.Value(want))
	if want == 0 {
		return expression.AttributeNotExists(expression.Name("PK")).Or(at)
	}
	return at
}

// appendRolesCheck appends, when want is set, the transaction's check
// that the roles are still at version want, and returns its index (-1
// when there is none).
func (s *Store) appendRolesCheck(items []types.TransactWriteItem, want *int64) ([]types.TransactWriteItem, int, error) {
	if want == nil {
		return items, -1, nil
	}
	expr, err := expression.NewBuilder().WithCondition(rolesAt(*want)).Build()
	if err != nil {
		return items, -1, fmt.Errorf("build roles condition: %w", err)
	}
	return append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: key(item.RolesPK, item.RolesVersionSK),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}), len(items), nil
}

// appendRolesBump appends the update that adds one to the roles' version
// (making the item at 1 when there is none), conditioned on want when it
// is set, and returns its index.
func (s *Store) appendRolesBump(items []types.TransactWriteItem, want *int64) ([]types.TransactWriteItem, int, error) {
	b := expression.NewBuilder().WithUpdate(expression.Add(expression.Name("version"), expression.Value(1)).
		Set(expression.Name("entity"), expression.Value(item.EntityRolesVersion)))
	if want != nil {
		b = b.WithCondition(rolesAt(*want))
	}
	expr, err := b.Build()
	if err != nil {
		return items, -1, fmt.Errorf("build roles version update: %w", err)
	}
	return append(items, types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: key(item.RolesPK, item.RolesVersionSK), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}), len(items), nil
}

// SeedRoles implements onboarding.RoleStore: one create per role, each
// refused (and passed over) when the id was ever used or the name is
// taken.
func (s *Store) SeedRoles(ctx context.Context, roles []access.Role, now time.Time) (int, error) {
	created := 0
	for _, r := range roles {
		seeded, a := onboarding.SeedRole(r, now)
		err := s.CreateRole(ctx, seeded, a)
		switch {
		case errors.Is(err, access.ErrRoleExists), errors.Is(err, access.ErrRoleNameTaken):
		case err != nil:
			return created, fmt.Errorf("seed role %s: %w", r.ID, err)
		default:
			created++
		}
	}
	return created, nil
}

// RoleHistory implements onboarding.RoleStore: entries oldest first. A
// cursor names the role's partition, so one handed out for another trail
// is refused.
func (s *Store) RoleHistory(ctx context.Context, id string, limit int, cur string) (onboarding.RoleHistoryPage, error) {
	pk := item.RoleAuditPK(id)
	return auditTrail[onboarding.RoleAuditEntry, item.RoleAudit](ctx, s, pk, pk+" ", "role "+id, limit, cur)
}
