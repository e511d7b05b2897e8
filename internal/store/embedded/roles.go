package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/user"
)

// Buckets of roles, created by Open with the others. Their writes make
// feed records, as the table's role items make stream records; the
// worker's decoder passes over them.
//
//	roles      role id → item.Role JSON; iterated in id order by ListRoles
//	roleNames  access.RoleNameKey(name) → role id; the uniqueness guard
//	roleAudit  role id, NUL, audit sort key → item.RoleAudit JSON; kept
//	           when the role is deleted
//
// The version of the roles as a whole is item.RolesVersion JSON under
// keyRolesVersion in the meta bucket, written through write (so the feed
// carries it, as the table's stream carries the item) by every role write.
const (
	bucketRoles     = "roles"
	bucketRoleNames = "roleNames"
	bucketRoleAudit = "roleAudit"
	cursorRoleAudit = "roleHistory:"
	keyRolesVersion = "roles-version"
)

var _ onboarding.RoleStore = (*Store)(nil)

// ListRoles implements onboarding.RoleStore: roles in id order, and
// their version, in one read transaction.
func (s *Store) ListRoles(ctx context.Context) ([]access.Role, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	var (
		out     []access.Role
		version int64
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		v, _, err := rolesVersion(tx)
		if err != nil {
			return err
		}
		version = v.Version
		return bucket(tx, bucketRoles).ForEach(func(k, v []byte) error {
			var it item.Role
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("decode role %s: %w", k, err)
			}
			r, err := it.Domain()
			out = append(out, r)
			return err
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list roles: %w", err)
	}
	return out, version, nil
}

// rolesVersion returns the stored version of the roles, and whether there
// is one (a store without it is at version 0).
func rolesVersion(tx *bolt.Tx) (item.RolesVersion, bool, error) {
	b := bucket(tx, bucketMeta).Get([]byte(keyRolesVersion))
	if b == nil {
		return item.FromRolesVersion(0), false, nil
	}
	var it item.RolesVersion
	if err := json.Unmarshal(b, &it); err != nil {
		return item.RolesVersion{}, false, fmt.Errorf("decode the roles' version: %w", err)
	}
	return it, true, nil
}

// checkRoles fails with onboarding.ErrRolesChanged when want, the roles'
// version a write was decided by, is set and the stored one differs.
func checkRoles(tx *bolt.Tx, want *int64) error {
	if want == nil {
		return nil
	}
	v, _, err := rolesVersion(tx)
	if err != nil {
		return err
	}
	if v.Version != *want {
		return onboarding.ErrRolesChanged
	}
	return nil
}

// bumpRoles adds one to the roles' version: every role write does, in
// its transaction, after checkRoles.
func (w write) bumpRoles() error {
	old, ok, err := rolesVersion(w.tx)
	if err != nil {
		return err
	}
	it := item.FromRolesVersion(old.Version + 1)
	b, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encode the roles' version: %w", err)
	}
	var oldItem any
	if ok {
		oldItem = old
	}
	return w.put(bucketMeta, []byte(keyRolesVersion), b, oldItem, it)
}

// GetRole implements onboarding.RoleStore.
func (s *Store) GetRole(ctx context.Context, id string) (access.Role, error) {
	if err := ctx.Err(); err != nil {
		return access.Role{}, err
	}
	var r access.Role
	err := s.db.View(func(tx *bolt.Tx) error {
		it, ok, err := getRole(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return access.ErrRoleNotFound
		}
		r, err = it.Domain()
		return err
	})
	if err != nil {
		return access.Role{}, fmt.Errorf("get role %s: %w", id, err)
	}
	return r, nil
}

func getRole(tx *bolt.Tx, id string) (item.Role, bool, error) {
	b := bucket(tx, bucketRoles).Get([]byte(id))
	if b == nil {
		return item.Role{}, false, nil
	}
	var it item.Role
	if err := json.Unmarshal(b, &it); err != nil {
		return item.Role{}, false, fmt.Errorf("decode role %s: %w", id, err)
	}
	return it, true, nil
}

// CreateRole implements onboarding.RoleStore.
func (s *Store) CreateRole(ctx context.Context, r access.Role, a onboarding.RoleAuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return write{tx: tx, now: s.now().UTC()}.createRole(r, a)
	})
	if err != nil {
		return fmt.Errorf("create role %s: %w", r.ID, err)
	}
	return nil
}

// createRole writes a new role, its name guard and its first audit entry,
// unless the id is or was used or the name is taken.
func (w write) createRole(r access.Role, a onboarding.RoleAuditEntry) error {
	if err := checkRoles(w.tx, a.RolesVersion); err != nil {
		return err
	}
	if bucket(w.tx, bucketRoles).Get([]byte(r.ID)) != nil || hasRoleTrail(w.tx, r.ID) {
		return access.ErrRoleExists
	}
	key := access.RoleNameKey(r.Name)
	if bucket(w.tx, bucketRoleNames).Get([]byte(key)) != nil {
		return access.ErrRoleNameTaken
	}
	if err := w.putRole(r, nil); err != nil {
		return err
	}
	if err := w.put(bucketRoleNames, []byte(key), []byte(r.ID), nil, item.FromRoleName(r.Name, r.ID)); err != nil {
		return err
	}
	if err := w.putRoleAudit(a); err != nil {
		return err
	}
	return w.bumpRoles()
}

// hasRoleTrail reports whether a role of this id was ever written.
func hasRoleTrail(tx *bolt.Tx, id string) bool {
	prefix := auditKey(id, "")
	k, _ := bucket(tx, bucketRoleAudit).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// UpdateRole implements onboarding.RoleStore.
func (s *Store) UpdateRole(ctx context.Context, r access.Role, expectedVersion int64, a onboarding.RoleAuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		w := write{tx: tx, now: s.now().UTC()}
		if err := checkRoles(tx, a.RolesVersion); err != nil {
			return err
		}
		old, err := currentRole(tx, r.ID, expectedVersion)
		if err != nil {
			return err
		}
		if key := access.RoleNameKey(r.Name); key != old.NameKey {
			if bucket(tx, bucketRoleNames).Get([]byte(key)) != nil {
				return access.ErrRoleNameTaken
			}
			if err := w.del(bucketRoleNames, []byte(old.NameKey), item.FromRoleName(old.Name, r.ID)); err != nil {
				return err
			}
			if err := w.put(bucketRoleNames, []byte(key), []byte(r.ID), nil, item.FromRoleName(r.Name, r.ID)); err != nil {
				return err
			}
		}
		if err := w.putRole(r, &old); err != nil {
			return err
		}
		if err := w.putRoleAudit(a); err != nil {
			return err
		}
		return w.bumpRoles()
	})
	if err != nil {
		return fmt.Errorf("update role %s: %w", r.ID, err)
	}
	return nil
}

// currentRole returns the stored role id if it is at version expected.
func currentRole(tx *bolt.Tx, id string, expected int64) (item.Role, error) {
	old, ok, err := getRole(tx, id)
	switch {
	case err != nil:
		return item.Role{}, err
	case !ok:
		return item.Role{}, access.ErrRoleNotFound
	case old.Version != expected:
		return item.Role{}, user.ErrVersionConflict
	}
	return old, nil
}

// DeleteRole implements onboarding.RoleStore. The stored role, read in
// the same transaction, names the guard to delete and is the feed's old
// image.
func (s *Store) DeleteRole(ctx context.Context, r access.Role, a onboarding.RoleAuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id := r.ID
	err := s.db.Update(func(tx *bolt.Tx) error {
		w := write{tx: tx, now: s.now().UTC()}
		if err := checkRoles(tx, a.RolesVersion); err != nil {
			return err
		}
		old, err := currentRole(tx, id, r.Version)
		if err != nil {
			return err
		}
		if err := w.del(bucketRoles, []byte(id), old); err != nil {
			return err
		}
		if err := w.del(bucketRoleNames, []byte(old.NameKey), item.FromRoleName(old.Name, id)); err != nil {
			return err
		}
		if err := w.putRoleAudit(a); err != nil {
			return err
		}
		return w.bumpRoles()
	})
	if err != nil {
		return fmt.Errorf("delete role %s: %w", id, err)
	}
	return nil
}

// SeedRoles implements onboarding.RoleStore, all in one transaction.
func (s *Store) SeedRoles(ctx context.Context, roles []access.Role, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	created := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		w := write{tx: tx, now: s.now().UTC()}
		for _, r := range roles {
			err := w.createRole(onboarding.SeedRole(r, now))
			switch {
			case errors.Is(err, access.ErrRoleExists), errors.Is(err, access.ErrRoleNameTaken):
			case err != nil:
				return fmt.Errorf("seed role %s: %w", r.ID, err)
			default:
				created++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seed roles: %w", err)
	}
	return created, nil
}

func (w write) putRole(r access.Role, old *item.Role) error {
	it := item.FromRole(r)
	b, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encode role %s: %w", r.ID, err)
	}
	var oldItem any
	if old != nil {
		oldItem = *old
	}
	return w.put(bucketRoles, []byte(r.ID), b, oldItem, it)
}

// putRoleAudit appends a role's audit entry; the version is new, since
// the role's own version check passed in the same transaction.
func (w write) putRoleAudit(a onboarding.RoleAuditEntry) error {
	it, err := item.FromRoleAudit(a)
	if err != nil {
		return err
	}
	b, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encode role audit entry: %w", err)
	}
	key := auditKey(a.RoleID, it.SK)
	if bucket(w.tx, bucketRoleAudit).Get(key) != nil {
		return fmt.Errorf("role %s already has an audit entry of version %d", a.RoleID, a.Version)
	}
	return w.put(bucketRoleAudit, key, b, nil, it)
}

// RoleHistory implements onboarding.RoleStore: entries oldest first.
func (s *Store) RoleHistory(ctx context.Context, id string, limit int, cur string) (onboarding.RoleHistoryPage, error) {
	return auditTrail[onboarding.RoleAuditEntry, item.RoleAudit](ctx, s, bucketRoleAudit, cursorRoleAudit, id, "role "+id, limit, cur)
}
