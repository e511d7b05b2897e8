package onboarding

import (
	"context"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/user"
)

// Store keeps users, their audit trail and idempotency records, and the
// organisation's roles. Every write of a user and its audit entry is one
// atomic change.
//
// Every write of a user or a role takes an audit entry, whose
// Audit.RolesVersion, when set, is the version of the roles as a whole
// (ListRoles) that the write was decided by: the store makes the write,
// in the same atomic change, only while the roles are still at that
// version, and otherwise fails with ErrRolesChanged and writes nothing.
// A store that never had a role write is at version 0. The service sets
// it on role writes only (see Actor.roleAudit).
type Store interface {
	RoleStore
	// CreateUser stores a new user, its first audit entry and, when idem is
	// not nil, the idempotency record of the request, all or nothing.
	// It fails with ErrIdempotencyKeyUsed when the key exists and has not
	// expired at idem.CreatedAt (checked first, so a retry learns of its
	// first attempt; expiry is kept to the second), and
	// with user.ErrEmailTaken when another user has the email
	// (case-insensitively), and with ErrRolesChanged (see Store).
	CreateUser(ctx context.Context, u user.User, a AuditEntry, idem *Idempotency) error
	// UpdateUser replaces the user whose stored version is expectedVersion
	// and appends the audit entry. It fails with user.ErrVersionConflict
	// on any other version, user.ErrNotFound, user.ErrEmailTaken, or
	// ErrRolesChanged (see Store).
	UpdateUser(ctx context.Context, u user.User, expectedVersion int64, a AuditEntry) error
	// GetUser returns one user or user.ErrNotFound.
	GetUser(ctx context.Context, id string) (user.User, error)
	// ListUsers returns users matching q in id order (ids are time-ordered,
	// so this is creation order), a page at a time.
	ListUsers(ctx context.Context, q ListQuery) (Page, error)
	// History returns a user's audit entries oldest first, a page at a time.
	History(ctx context.Context, userID string, limit int, cursor string) (HistoryPage, error)
	// Idempotency returns the unexpired record stored under key.
	Idempotency(ctx context.Context, key string, now time.Time) (Idempotency, bool, error)
}

// ErrIdempotencyKeyUsed reports a create whose idempotency key is taken.
var ErrIdempotencyKeyUsed = user.Errorf(user.CodeConflict, "the idempotency key has been used")

// ErrWriteConflict reports a write that kept meeting a concurrent write of
// the same items, which a store could not settle; trying again can work.
var ErrWriteConflict = user.Errorf(user.CodeConflict, "another request was writing the same user or email at the same moment; try again")

// ErrRolesChanged reports a write decided by roles that some role write
// changed before it was made (Audit.RolesVersion): its checks may no
// longer hold, so nothing was written; the next request decides by the
// roles as they are then.
var ErrRolesChanged = user.Errorf(user.CodeConflict, "the roles changed while your request ran; nothing was changed: try again")

// Source tells through which door a change came in.
type Source string

// The sources of changes.
const (
	SourceAPI   Source = "api"
	SourceSlack Source = "slack"
	SourceCLI   Source = "cli"
	// SourceRelease is the release worker recording what it did.
	SourceRelease Source = "release"
)

// Audit is what every audit entry records of one change, whatever it
// changed: the version it made, when, who, through which door, and what.
// AuditEntry and RoleAuditEntry add which user or role it changed, so
// that the two trails read alike.
type Audit struct {
	Version    int64         `json:"version"`
	At         time.Time     `json:"at"`
	ActorID    string        `json:"actorId"`
	ActorEmail string        `json:"actorEmail"`
	Source     Source        `json:"source"`
	Action     string        `json:"action"`
	Changes    []user.Change `json:"changes"`
	// SlackUserID is the Slack user who acted, when the change came
	// through Slack.
	SlackUserID string `json:"slackUserId,omitempty"`
	// RolesVersion, when not nil, is the version of the roles as a whole
	// that an authorized actor's change was decided by (the Actor's
	// roles): the store writes the change only while the roles are still
	// at it (see Store). It conditions the write and is not recorded.
	RolesVersion *int64 `json:"-"`
}

// audit returns the record of a change by a to version, at now.
func (a Actor) audit(version int64, action string, changes []user.Change, now time.Time) Audit {
	return Audit{Version: version, At: now, ActorID: a.user.ID, ActorEmail: a.user.Email, Source: a.source,
		SlackUserID: a.slackUserID, Action: action, Changes: changes}
}

// roleAudit is audit for a change of a role, conditioned on the roles
// still being those the actor was authorized with: a role change decided
// by roles another role change has since changed (both taking
// settings.manage from a different role, say) is refused, not written
// over them. User writes are not conditioned: see docs/ARCHITECTURE.md.
func (a Actor) roleAudit(version int64, action string, changes []user.Change, now time.Time) Audit {
	au := a.audit(version, action, changes, now)
	if a.roles != nil {
		v := a.roles.Version()
		au.RolesVersion = &v
	}
	return au
}

// AuditEntry records one change to a user. There is exactly one per user
// version.
type AuditEntry struct {
	UserID string `json:"userId"`
	Audit
}

// Idempotency remembers the outcome of a create so that a retried request
// gets the same answer instead of a second user.
type Idempotency struct {
	Key string
	// Fingerprint identifies the request body the key was first used with.
	Fingerprint string
	// User is the user as created, replayed to the retry.
	User      user.User
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ListQuery selects users. Empty fields do not filter.
type ListQuery struct {
	Status user.Status
	Role   string
	Type   user.Type
	// Email matches exactly (the stored, lower-case form).
	Email string
	// SlackUserID matches exactly (the stored, upper-case form).
	SlackUserID string
	// Q matches a case-insensitive substring of name, email or job title.
	Q      string
	Limit  int
	Cursor string
}

// Page is one page of users; NextCursor is empty on the last one.
type Page struct {
	Users      []user.User
	NextCursor string
}

// Trail is one page of an audit trail, oldest first; NextCursor is empty
// on the last one.
type Trail[E any] struct {
	Entries    []E
	NextCursor string
}

// HistoryPage is one page of a user's audit entries.
type HistoryPage = Trail[AuditEntry]

// ErrBadCursor is the answer to a cursor the store did not hand out.
var ErrBadCursor = user.InvalidField("cursor", "is not a cursor from a previous page")

// RoleStore keeps the organisation's roles, their name guards and their
// audit trail. Every write of a role and its audit entry is one atomic
// change. The service reads the roles from it for every use case, so a
// change to a role reaches every holder at once, on every instance.
//
// The roles as a whole have a version: every role write (CreateRole,
// UpdateRole, DeleteRole, and each role SeedRoles creates) adds one to it
// in the same atomic change, and is conditioned on it like a user write
// when its entry's Audit.RolesVersion is set (see Store).
type RoleStore interface {
	// ListRoles returns every stored role in id order, and the version of
	// the roles as a whole they were read at (0 before the first role
	// write), in one consistent read.
	ListRoles(ctx context.Context) (roles []access.Role, version int64, err error)
	// GetRole returns one role or access.ErrRoleNotFound.
	GetRole(ctx context.Context, id string) (access.Role, error)
	// CreateRole stores a new role and its first audit entry. It fails
	// with access.ErrRoleExists when the id is, or was, another role's,
	// and with access.ErrRoleNameTaken when another role has the name
	// (compared by access.RoleNameKey), and with ErrRolesChanged.
	CreateRole(ctx context.Context, r access.Role, a RoleAuditEntry) error
	// UpdateRole replaces the role whose stored version is
	// expectedVersion, moving its name guard when the name changes, and
	// appends the audit entry. It fails with user.ErrVersionConflict on
	// any other version, access.ErrRoleNotFound,
	// access.ErrRoleNameTaken, or ErrRolesChanged.
	UpdateRole(ctx context.Context, r access.Role, expectedVersion int64, a RoleAuditEntry) error
	// DeleteRole removes the role r as the caller read it (r.Version is
	// the stored version expected, r.Name names the guard to remove with
	// it), so that the store need not read it again, and appends the
	// audit entry (whose version is r.Version+1); the trail stays. It
	// fails with user.ErrVersionConflict when the role is no longer at
	// r.Version, access.ErrRoleNotFound, and ErrRolesChanged. The guard
	// removed is the one the stored role names, even when
	// access.RoleNameKey(r.Name) is no longer its key.
	DeleteRole(ctx context.Context, r access.Role, a RoleAuditEntry) error
	// RoleHistory returns a role's audit entries oldest first, a page at
	// a time, deleted roles' too.
	RoleHistory(ctx context.Context, id string, limit int, cursor string) (RoleHistoryPage, error)
	// SeedRoles creates each of roles (as SeedRole makes it) whose id has
	// never been used and whose name is free, and leaves the others as
	// they are: an organisation's edits, renames and deletions survive
	// every seeding. It returns how many it created.
	SeedRoles(ctx context.Context, roles []access.Role, now time.Time) (created int, err error)
}

// RoleAuditEntry records one change to a role; one per role version.
type RoleAuditEntry struct {
	RoleID string `json:"roleId"`
	Audit
}

// RoleHistoryPage is one page of a role's audit entries.
type RoleHistoryPage = Trail[RoleAuditEntry]

// ErrRoleWriteConflict reports a role write that kept meeting a
// concurrent write of the same items; trying again can work.
var ErrRoleWriteConflict = user.Errorf(user.CodeConflict, "another request was writing the same role or role name at the same moment; try again")

// SeedAction is the audit action of a role created by seeding.
const SeedAction = "seed"

// SeedRole returns the stored form of a default role seeded at now, at
// version 1 by the system, and its first audit entry. Both stores'
// SeedRoles write exactly this, so a seeded role reads the same on each.
func SeedRole(r access.Role, now time.Time) (access.Role, RoleAuditEntry) {
	r.Version, r.CreatedAt, r.UpdatedAt, r.UpdatedBy, r.PlannerWorker = 1, now, now, systemID, false
	changes := access.Diff(access.Role{}, r)
	for i := range changes {
		changes[i].From = nil
	}
	return r, RoleAuditEntry{RoleID: r.ID, Audit: systemActor().audit(1, SeedAction, changes, now)}
}
