// Package item is the shape of OpsOS data in its table: the items both
// store adapters write and, through the table's stream, the images the
// release worker reads. Keeping it in one place is what makes the embedded
// change feed and DynamoDB's stream deliver the same records.
//
// Single-table layout (PK, SK):
//
//	USER#<id>          PROFILE            the user
//	USER#<id>          AUDIT#<version>    one audit entry per user version
//	EMAIL#<email>      EMAIL              uniqueness guard, written with the user
//	IDEMPOTENCY#<key>  IDEMPOTENCY        a create's outcome, until ExpiresAt (TTL)
//	CLAIM#<key>        CLAIM              the release worker's claim on a piece of work (TTL)
//	ROLES              ROLE#<id>          a role; all in one partition, listed in id order
//	ROLES              VERSION            the version of the roles as a whole: every role write
//	                                      adds one, and writes decided by the roles check it
//	ROLE#<id>          AUDIT#<version>    one audit entry per role version, kept after
//	                                      the role is deleted (so its id is never reused)
//	ROLENAME#<key>     ROLENAME           uniqueness guard of a role name (access.RoleNameKey),
//	                                      written, moved and deleted with the role
//	CURSORKEY          CURSORKEY          the secret signing list cursors (package dynamo only;
//	                                      the embedded store keeps it outside its feed)
//
// A user linked to a Slack user carries slackUserId, and only then: the
// attribute is the key of a sparse index (package dynamo) that finds the
// user a Slack command comes from.
package item

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// Entity names, stored in every item's "entity" attribute.
const (
	EntityUser        = "user"
	EntityAudit       = "audit"
	EntityEmail       = "email"
	EntityIdempotency = "idempotency"
	EntityClaim       = "claim"
)

// Key prefixes and fixed sort keys.
const (
	userPrefix        = "USER#"
	emailPrefix       = "EMAIL#"
	idempotencyPrefix = "IDEMPOTENCY#"
	claimPrefix       = "CLAIM#"
	ClaimSK           = "CLAIM"
	auditPrefix       = "AUDIT#"
	ProfileSK         = "PROFILE"
	EmailSK           = "EMAIL"
	IdempotencySK     = "IDEMPOTENCY"
)

// UserPK is the partition key of a user and its audit trail.
func UserPK(id string) string { return userPrefix + id }

// EmailPK is the partition key of an email guard.
func EmailPK(email string) string { return emailPrefix + email }

// IdempotencyPK is the partition key of an idempotency record.
func IdempotencyPK(key string) string { return idempotencyPrefix + key }

// ClaimPK is the partition key of a release worker's claim.
func ClaimPK(key string) string { return claimPrefix + key }

// Claim states stored in Claim.State.
const (
	ClaimInProgress = "in_progress"
	ClaimCompleted  = "completed"
)

// Claim is the release worker's claim on one piece of work.
type Claim struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Entity string `dynamodbav:"entity"`
	State  string `dynamodbav:"state"`
	// HeldUntil (epoch milliseconds) ends an in-progress claim whose
	// worker died, so the work is retried.
	HeldUntil int64 `dynamodbav:"heldUntil"`
	// ExpiresAt (epoch seconds) is the TTL: a claim is kept long enough to
	// outlive the stream's retention (24 hours), then deleted.
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// ClaimRetention is how long a claim is kept.
const ClaimRetention = 48 * time.Hour

// NewClaim returns an in-progress claim on key held until now+hold.
func NewClaim(key string, now time.Time, hold time.Duration) Claim {
	return Claim{PK: ClaimPK(key), SK: ClaimSK, Entity: EntityClaim, State: ClaimInProgress,
		HeldUntil: now.Add(hold).UnixMilli(), ExpiresAt: now.Add(ClaimRetention).Unix()}
}

// AuditSK is the sort key of the audit entry of one version of a user or
// a role; it sorts in version order.
func AuditSK(version int64) string { return fmt.Sprintf("%s%012d", auditPrefix, version) }

// User is the stored form of a user.user.
type User struct {
	PK                       string   `dynamodbav:"PK"`
	SK                       string   `dynamodbav:"SK"`
	Entity                   string   `dynamodbav:"entity"`
	ID                       string   `dynamodbav:"id"`
	Type                     string   `dynamodbav:"type"`
	FirstName                string   `dynamodbav:"firstName"`
	LastName                 string   `dynamodbav:"lastName"`
	Email                    string   `dynamodbav:"email"`
	Phone                    string   `dynamodbav:"phone,omitempty"`
	JobTitle                 string   `dynamodbav:"jobTitle,omitempty"`
	Role                     string   `dynamodbav:"role"`
	ExternalPlannerAccess    bool     `dynamodbav:"externalPlannerAccess"`
	ExternalPurchasingAccess bool     `dynamodbav:"externalPurchasingAccess"`
	Hold                     bool     `dynamodbav:"hold"`
	Status                   string   `dynamodbav:"status"`
	StatusReason             string   `dynamodbav:"statusReason,omitempty"`
	Grants                   []string `dynamodbav:"grants,omitempty"`
	Revokes                  []string `dynamodbav:"revokes,omitempty"`
	InviteGeneration         int      `dynamodbav:"inviteGeneration"`
	Version                  int64    `dynamodbav:"version"`
	CreatedAt                string   `dynamodbav:"createdAt"`
	CreatedBy                string   `dynamodbav:"createdBy"`
	UpdatedAt                string   `dynamodbav:"updatedAt"`
	UpdatedBy                string   `dynamodbav:"updatedBy"`
	InvitedAt                string   `dynamodbav:"invitedAt,omitempty"`
	ActivatedAt              string   `dynamodbav:"activatedAt,omitempty"`
	// SlackUserID is left out when empty: only linked users carry the
	// attribute, so only they are in DynamoDB's sparse bySlackUser index
	// (an index key cannot be an empty string either).
	SlackUserID string `dynamodbav:"slackUserId,omitempty"`
}

// AuditRecord is the stored form of an onboarding.Audit: what every audit
// item holds, a user's (Audit) or a role's (RoleAudit).
type AuditRecord struct {
	Version    int64  `dynamodbav:"version"`
	At         string `dynamodbav:"at"`
	ActorID    string `dynamodbav:"actorId"`
	ActorEmail string `dynamodbav:"actorEmail"`
	Source     string `dynamodbav:"source"`
	Action     string `dynamodbav:"action"`
	// Changes is JSON: change values are of mixed types.
	Changes string `dynamodbav:"changes"`
	// SlackUserID is the Slack user who acted, when the change came
	// through Slack.
	SlackUserID string `dynamodbav:"slackUserId,omitempty"`
}

// Audit is the stored form of an onboarding.AuditEntry.
type Audit struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Entity string `dynamodbav:"entity"`
	UserID string `dynamodbav:"userId"`
	AuditRecord
}

// Email is the guard that keeps one email to one user.
type Email struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Entity string `dynamodbav:"entity"`
	UserID string `dynamodbav:"userId"`
}

// Idempotency is the stored form of an onboarding.Idempotency.
type Idempotency struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Entity      string `dynamodbav:"entity"`
	Fingerprint string `dynamodbav:"fingerprint"`
	// User is the created user, as JSON of the user item.
	User      string `dynamodbav:"user"`
	CreatedAt string `dynamodbav:"createdAt"`
	// ExpiresAt is epoch seconds, the table's TTL attribute.
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// FromUser returns the item of u.
func FromUser(u user.User) User {
	return User{
		PK: UserPK(u.ID), SK: ProfileSK, Entity: EntityUser,
		ID: u.ID, Type: string(u.Type), FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, Phone: u.Phone, JobTitle: u.JobTitle, SlackUserID: u.SlackUserID, Role: u.Role,
		ExternalPlannerAccess: u.ExternalPlannerAccess, ExternalPurchasingAccess: u.ExternalPurchasingAccess,
		Hold: u.HoldInvite, Status: string(u.Status), StatusReason: u.StatusReason,
		Grants: u.Grants, Revokes: u.Revokes, InviteGeneration: u.InviteGeneration, Version: u.Version,
		CreatedAt: timeString(u.CreatedAt), CreatedBy: u.CreatedBy,
		UpdatedAt: timeString(u.UpdatedAt), UpdatedBy: u.UpdatedBy,
		InvitedAt: timeString(u.InvitedAt), ActivatedAt: timeString(u.ActivatedAt),
	}
}

// Domain returns the user the item holds.
func (it User) Domain() (user.User, error) {
	u := user.User{
		ID: it.ID, Type: user.Type(it.Type), FirstName: it.FirstName, LastName: it.LastName,
		Email: it.Email, Phone: it.Phone, JobTitle: it.JobTitle, SlackUserID: it.SlackUserID, Role: it.Role,
		ExternalPlannerAccess: it.ExternalPlannerAccess, ExternalPurchasingAccess: it.ExternalPurchasingAccess,
		HoldInvite: it.Hold, Status: user.Status(it.Status), StatusReason: it.StatusReason,
		Grants: it.Grants, Revokes: it.Revokes, InviteGeneration: it.InviteGeneration, Version: it.Version,
		CreatedBy: it.CreatedBy, UpdatedBy: it.UpdatedBy,
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&u.CreatedAt, it.CreatedAt}, {&u.UpdatedAt, it.UpdatedAt}, {&u.InvitedAt, it.InvitedAt}, {&u.ActivatedAt, it.ActivatedAt}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return user.User{}, fmt.Errorf("user %s: %w", it.ID, err)
		}
	}
	return u, nil
}

// Matches reports whether the user passes q's filters (the cursor and
// the limit aside). SlackUserID matches exactly (the stored, upper-case
// form); Q is a case-insensitive substring of the full name, the email or
// the job title.
func (it User) Matches(q onboarding.ListQuery) bool {
	switch {
	case q.Status != "" && it.Status != string(q.Status),
		q.Role != "" && it.Role != q.Role,
		q.Type != "" && it.Type != string(q.Type),
		q.Email != "" && user.NormalizeEmail(it.Email) != user.NormalizeEmail(q.Email),
		q.SlackUserID != "" && it.SlackUserID != q.SlackUserID:
		return false
	}
	needle := strings.ToLower(strings.TrimSpace(q.Q))
	if needle == "" {
		return true
	}
	for _, hay := range []string{it.FirstName + " " + it.LastName, it.Email, it.JobTitle} {
		if strings.Contains(strings.ToLower(hay), needle) {
			return true
		}
	}
	return false
}

// FromAudit returns the item of an audit entry.
func FromAudit(a onboarding.AuditEntry) (Audit, error) {
	rec, err := fromAudit(a.Audit)
	return Audit{PK: UserPK(a.UserID), SK: rec.sk(), Entity: EntityAudit, UserID: a.UserID, AuditRecord: rec}, err
}

// Domain returns the audit entry the item holds.
func (it Audit) Domain() (onboarding.AuditEntry, error) {
	a, err := it.domain(it.UserID)
	return onboarding.AuditEntry{UserID: it.UserID, Audit: a}, err
}

// fromAudit returns the stored form of a.
func fromAudit(a onboarding.Audit) (AuditRecord, error) {
	changes, err := json.Marshal(a.Changes)
	if err != nil {
		return AuditRecord{}, fmt.Errorf("encode audit changes: %w", err)
	}
	return AuditRecord{
		Version: a.Version, At: timeString(a.At),
		ActorID: a.ActorID, ActorEmail: a.ActorEmail, Source: string(a.Source), SlackUserID: a.SlackUserID,
		Action: a.Action, Changes: string(changes),
	}, nil
}

// sk is the sort key of the record's item.
func (it AuditRecord) sk() string { return AuditSK(it.Version) }

// domain returns the record of a change to subject.
func (it AuditRecord) domain(subject string) (onboarding.Audit, error) {
	at, err := parseTime(it.At)
	if err != nil {
		return onboarding.Audit{}, err
	}
	a := onboarding.Audit{
		Version: it.Version, At: at, ActorID: it.ActorID, ActorEmail: it.ActorEmail,
		Source: onboarding.Source(it.Source), SlackUserID: it.SlackUserID, Action: it.Action,
	}
	if err := json.Unmarshal([]byte(it.Changes), &a.Changes); err != nil {
		return onboarding.Audit{}, fmt.Errorf("decode audit changes of %s v%d: %w", subject, it.Version, err)
	}
	return a, nil
}

// FromEmail returns the guard item of an email.
func FromEmail(email, userID string) Email {
	return Email{PK: EmailPK(email), SK: EmailSK, Entity: EntityEmail, UserID: userID}
}

// FromIdempotency returns the item of an idempotency record.
func FromIdempotency(r onboarding.Idempotency) (Idempotency, error) {
	u, err := json.Marshal(FromUser(r.User))
	if err != nil {
		return Idempotency{}, fmt.Errorf("encode idempotent user: %w", err)
	}
	return Idempotency{
		PK: IdempotencyPK(r.Key), SK: IdempotencySK, Entity: EntityIdempotency,
		Fingerprint: r.Fingerprint, User: string(u), CreatedAt: timeString(r.CreatedAt), ExpiresAt: r.ExpiresAt.Unix(),
	}, nil
}

// Domain returns the idempotency record the item holds.
func (it Idempotency) Domain() (onboarding.Idempotency, error) {
	var ui User
	if err := json.Unmarshal([]byte(it.User), &ui); err != nil {
		return onboarding.Idempotency{}, fmt.Errorf("decode idempotent user: %w", err)
	}
	u, err := ui.Domain()
	if err != nil {
		return onboarding.Idempotency{}, err
	}
	created, err := parseTime(it.CreatedAt)
	if err != nil {
		return onboarding.Idempotency{}, err
	}
	return onboarding.Idempotency{
		Key: strings.TrimPrefix(it.PK, idempotencyPrefix), Fingerprint: it.Fingerprint, User: u,
		CreatedAt: created, ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(),
	}, nil
}

// Image returns the stream image of an item (any of the structs above):
// the attribute map DynamoDB puts on its stream for it.
func Image(v any) (map[string]events.DynamoDBAttributeValue, error) {
	av, err := attributevalue.MarshalMap(v)
	if err != nil {
		return nil, fmt.Errorf("marshal item: %w", err)
	}
	js, err := attributevalue.MarshalMapJSON(av)
	if err != nil {
		return nil, fmt.Errorf("marshal item JSON: %w", err)
	}
	var img map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal(js, &img); err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	return img, nil
}

// FromImage decodes a stream image into out (a pointer to one of the
// structs above).
func FromImage(img map[string]events.DynamoDBAttributeValue, out any) error {
	js, err := json.Marshal(img)
	if err != nil {
		return fmt.Errorf("encode image: %w", err)
	}
	av, err := attributevalue.UnmarshalMapJSON(js)
	if err != nil {
		return fmt.Errorf("decode image JSON: %w", err)
	}
	if err := attributevalue.UnmarshalMap(av, out); err != nil {
		return fmt.Errorf("unmarshal image: %w", err)
	}
	return nil
}

// EntityOf returns the entity name carried by an image.
func EntityOf(img map[string]events.DynamoDBAttributeValue) string {
	if v, ok := img["entity"]; ok && v.DataType() == events.DataTypeString {
		return v.String()
	}
	return ""
}

// Keys returns the key attributes of an image.
func Keys(img map[string]events.DynamoDBAttributeValue) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{"PK": img["PK"], "SK": img["SK"]}
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q: %w", s, err)
	}
	// Times are written back in UTC (timeString): one whose offset moves
	// it out of RFC 3339's years 0000-9999 would be written unreadable.
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("bad time %q: outside the years 0000-9999 in UTC", s)
	}
	return t, nil
}
