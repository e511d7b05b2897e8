package onboarding

import (
	"context"
	"time"

	"github.com/opsos/onboarding/internal/user"
)

// Store keeps users, their audit trail and idempotency records. Every
// write of a user and its audit entry is one atomic change.
type Store interface {
	// CreateUser stores a new user, its first audit entry and, when idem is
	// not nil, the idempotency record of the request, all or nothing.
	// It fails with ErrIdempotencyKeyUsed when the key exists and has not
	// expired at idem.CreatedAt (checked first, so a retry learns of its
	// first attempt; expiry is kept to the second), and
	// with user.ErrEmailTaken when another user has the email
	// (case-insensitively).
	CreateUser(ctx context.Context, u user.User, a AuditEntry, idem *Idempotency) error
	// UpdateUser replaces the user whose stored version is expectedVersion
	// and appends the audit entry. It fails with user.ErrVersionConflict
	// on any other version, user.ErrNotFound, or user.ErrEmailTaken.
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

// AuditEntry records one change to a user: who, through which door, what,
// and when. There is exactly one per user version.
type AuditEntry struct {
	UserID     string        `json:"userId"`
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

// HistoryPage is one page of audit entries; NextCursor is empty on the last one.
type HistoryPage struct {
	Entries    []AuditEntry
	NextCursor string
}

// ErrBadCursor is the answer to a cursor the store did not hand out.
var ErrBadCursor = user.InvalidField("cursor", "is not a cursor from a previous page")
