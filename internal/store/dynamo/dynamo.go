// Package dynamo is the onboarding store on Amazon DynamoDB: one table in
// the single-table layout of package item, whose stream
// (NEW_AND_OLD_IMAGES) drives the release worker.
//
// Keys and indexes:
//
//	table        PK, SK           users (USER#id, PROFILE), audit entries
//	                              (USER#id, AUDIT#version), email guards
//	                              (EMAIL#email, EMAIL), idempotency records
//	                              (IDEMPOTENCY#key, IDEMPOTENCY; TTL expiresAt),
//	                              roles (ROLES, ROLE#id), their audit entries
//	                              (ROLE#id, AUDIT#version) and name guards
//	                              (ROLENAME#key, ROLENAME); see roles.go
//	byEntity     entity, id       every user in id order (only user items
//	                              carry "id", so the index holds nothing else)
//	byStatus     status, id       the users of one status, without a scan
//	bySlackUser  slackUserId, id  the users linked to one Slack user; sparse:
//	                              only linked users carry slackUserId
//
// A create writes the user, its email guard, its first audit entry and the
// idempotency record in one TransactWriteItems, each put conditional on
// its key being new; an update puts the user on the condition that its
// version is the one the caller read and its email the one it keeps, and
// appends the audit entry, in one transaction too, without reading the
// user first. Only when that condition fails is the user read: a stale
// version is a conflict, a changed email is written again with the guard
// moved. A cancelled transaction's reasons map to the domain's errors.
//
// A transaction that DynamoDB cancels for a conflict with another one in
// flight on the same item is tried again after a jittered backoff (see
// Retry). If every attempt conflicts, an update answers ErrVersionConflict
// (someone else was writing the user), and a create reads what the other
// writer left: the idempotency record (ErrIdempotencyKeyUsed), the email
// guard (ErrEmailTaken), or nothing (onboarding.ErrWriteConflict, 409).
//
// Reads of one user, its history and its email guard are strongly
// consistent. Lists read a global secondary index, which in AWS is
// eventually consistent: a user written a moment ago can take a fraction
// of a second to appear in (or leave) a filtered list. A Slack user, unlike
// an email, has no guard item: the service checks that it is linked to one
// user only through bySlackUser, which makes that check best effort, and
// refuses a Slack user it finds linked to two.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/store/schema"
	"github.com/opsos/onboarding/internal/user"
)

// Index names.
const (
	IndexByEntity = schema.IndexByEntity
	IndexByStatus = schema.IndexByStatus
	// IndexBySlackUser holds only the users linked to a Slack user.
	IndexBySlackUser = schema.IndexBySlackUser
)

const (
	defaultLimit = 50
	// queryBatch is how many index items a list reads per request while
	// it filters for a page.
	queryBatch = 100
)

// Store is the DynamoDB store.
type Store struct {
	db    API
	table string
	keys  *cursorKeys
	retry Retry
}

var _ onboarding.Store = (*Store)(nil)

// New returns the store on table.
func New(db API, table string, opts ...Option) *Store {
	s := &Store{db: db, table: table, keys: &cursorKeys{}, retry: DefaultRetry}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Table returns the table's name.
func (s *Store) Table() string { return s.table }

func marshal(v any) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return m, nil
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk},
		"SK": &types.AttributeValueMemberS{Value: sk},
	}
}

// appendPutNew appends a transactional put of an item whose key must not
// exist yet.
func (s *Store) appendPutNew(items []types.TransactWriteItem, v any) ([]types.TransactWriteItem, error) {
	m, err := marshal(v)
	if err != nil {
		return items, err
	}
	put, err := s.conditionalPut(m, expression.AttributeNotExists(expression.Name("PK")))
	if err != nil {
		return items, err
	}
	return append(items, put), nil
}

func (s *Store) conditionalPut(m map[string]types.AttributeValue, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build condition: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: m, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, nil
}

// CreateUser implements onboarding.Store.
func (s *Store) CreateUser(ctx context.Context, u user.User, a onboarding.AuditEntry, idem *onboarding.Idempotency) error {
	email := user.NormalizeEmail(u.Email)
	var items []types.TransactWriteItem
	// Order matters for the cancellation reasons: the idempotency key is
	// read first, so a retry learns of its first attempt.
	const (
		reasonIdem = iota
		reasonUser
		reasonEmail
	)
	offset := 1
	if idem != nil {
		it, err := item.FromIdempotency(*idem)
		if err != nil {
			return err
		}
		m, err := marshal(it)
		if err != nil {
			return err
		}
		// An expired record that TTL has not yet deleted may be replaced.
		cond := expression.AttributeNotExists(expression.Name("PK")).
			Or(expression.Name("expiresAt").LessThanEqual(expression.Value(idem.CreatedAt.Unix())))
		put, err := s.conditionalPut(m, cond)
		if err != nil {
			return err
		}
		items = append(items, put)
		offset = 0
	}
	aud, err := item.FromAudit(a)
	if err != nil {
		return err
	}
	for _, v := range []any{item.FromUser(u), item.FromEmail(email, u.ID), aud} {
		if items, err = s.appendPutNew(items, v); err != nil {
			return err
		}
	}
	items, rolesAt, err := s.appendRolesCheck(items, a.RolesVersion)
	if err != nil {
		return err
	}
	err = s.transact(ctx, items)
	if errors.Is(err, errConflicted) {
		return s.createConflicted(ctx, u, email, idem, err)
	}
	if failed, ok := cancelled(err); ok {
		switch {
		case idem != nil && failed[reasonIdem]:
			return onboarding.ErrIdempotencyKeyUsed
		case rolesAt >= 0 && failed[rolesAt]:
			return onboarding.ErrRolesChanged
		case failed[reasonUser-offset]:
			return fmt.Errorf("user id %s already exists", u.ID)
		case failed[reasonEmail-offset]:
			return user.ErrEmailTaken
		}
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return nil
}

// transact writes items in one transaction, retrying conflicts.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	return s.withRetry(ctx, func() error {
		_, err := s.db.TransactWriteItems(ctx, in)
		return err
	})
}

// createConflicted answers a create whose every attempt met another
// transaction on its items, which in practice is another create of the
// same email or with the same idempotency key. By now that one has
// committed or failed, so the items say which: a retry of the same
// request learns of its first attempt, a second user of the email is
// told it is taken, and if neither is there the request is refused as a
// conflict (409) to try again, never an internal error.
func (s *Store) createConflicted(ctx context.Context, u user.User, email string, idem *onboarding.Idempotency, cause error) error {
	if idem != nil {
		if _, ok, err := s.Idempotency(ctx, idem.Key, idem.CreatedAt); err == nil && ok {
			return onboarding.ErrIdempotencyKeyUsed
		}
	}
	if _, taken, err := getItem[item.Email](ctx, s, item.EmailPK(email), item.EmailSK); err == nil && taken {
		return user.ErrEmailTaken
	}
	return fmt.Errorf("create user %s: %w: %w", u.ID, onboarding.ErrWriteConflict, cause)
}

// cancelled reports which items of a cancelled transaction failed their
// condition.
func cancelled(err error) (map[int]bool, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	failed := map[int]bool{}
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			failed[i] = true
		}
	}
	return failed, len(failed) > 0
}

// UpdateUser implements onboarding.Store.
func (s *Store) UpdateUser(ctx context.Context, u user.User, expectedVersion int64, a onboarding.AuditEntry) error {
	// Nearly every write keeps the email: try that, conditioned on it,
	// without reading the user first. Only when the condition fails is the
	// user read, to tell a stale version from a moved email.
	err := s.update(ctx, u, expectedVersion, a, u.Email)
	if !errors.Is(err, errConditionFailed) {
		return err
	}
	old, err := s.getUserItem(ctx, u.ID)
	if err != nil {
		return err
	}
	if old.Version != expectedVersion {
		return user.ErrVersionConflict
	}
	if old.Email == u.Email {
		return user.ErrVersionConflict // changed and changed back between the two writes
	}
	err = s.update(ctx, u, expectedVersion, a, old.Email)
	if errors.Is(err, errConditionFailed) {
		if _, gerr := s.getUserItem(ctx, u.ID); errors.Is(gerr, user.ErrNotFound) {
			return user.ErrNotFound
		}
		return user.ErrVersionConflict
	}
	return err
}

// errConditionFailed: the user is not at the expected version with the
// expected email (or is gone).
var errConditionFailed = errors.New("the user's version or email is not the expected one")

// update writes u over the version expectedVersion whose stored email is
// oldEmail, moving the email guard when the email changes, with its audit
// entry, in one transaction.
func (s *Store) update(ctx context.Context, u user.User, expectedVersion int64, a onboarding.AuditEntry, oldEmail string) error {
	m, err := marshal(item.FromUser(u))
	if err != nil {
		return err
	}
	putUser, err := s.conditionalPut(m, expression.Name("version").Equal(expression.Value(expectedVersion)).
		And(expression.Name("email").Equal(expression.Value(oldEmail))))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{putUser}
	from, to := user.NormalizeEmail(oldEmail), user.NormalizeEmail(u.Email)
	newGuard := -1
	if from != to {
		expr, err := expression.NewBuilder().WithCondition(expression.Name("userId").Equal(expression.Value(u.ID))).Build()
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: key(item.EmailPK(from), item.EmailSK),
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}})
		newGuard = len(items)
		if items, err = s.appendPutNew(items, item.FromEmail(to, u.ID)); err != nil {
			return err
		}
	}
	aud, err := item.FromAudit(a)
	if err != nil {
		return err
	}
	if items, err = s.appendPutNew(items, aud); err != nil {
		return err
	}
	items, rolesAt, err := s.appendRolesCheck(items, a.RolesVersion)
	if err != nil {
		return err
	}
	err = s.transact(ctx, items)
	if errors.Is(err, errConflicted) {
		// Someone else was writing the user (or the email it moves to)
		// all along: for the caller that is a stale read.
		return fmt.Errorf("update user %s: %w: %w", u.ID, user.ErrVersionConflict, err)
	}
	if failed, ok := cancelled(err); ok {
		switch {
		case rolesAt >= 0 && failed[rolesAt]:
			return onboarding.ErrRolesChanged
		case failed[0]:
			return errConditionFailed
		case newGuard >= 0 && failed[newGuard]:
			return user.ErrEmailTaken
		}
	}
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return nil
}

// getItem reads the item at pk, sk, strongly consistent, into a T;
// found is false when there is none.
func getItem[T any](ctx context.Context, s *Store, pk, sk string) (it T, found bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return it, false, err
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return it, false, fmt.Errorf("decode %s %s: %w", pk, sk, err)
	}
	return it, true, nil
}

func (s *Store) getUserItem(ctx context.Context, id string) (item.User, error) {
	it, found, err := getItem[item.User](ctx, s, item.UserPK(id), item.ProfileSK)
	switch {
	case err != nil:
		return item.User{}, fmt.Errorf("get user %s: %w", id, err)
	case !found:
		return item.User{}, user.ErrNotFound
	}
	return it, nil
}

// GetUser implements onboarding.Store.
func (s *Store) GetUser(ctx context.Context, id string) (user.User, error) {
	it, err := s.getUserItem(ctx, id)
	if err != nil {
		return user.User{}, err
	}
	return it.Domain()
}

// ListUsers implements onboarding.Store: users in id order, from the
// bySlackUser index when a Slack user is asked for, else from byStatus
// when a status is, else from byEntity.
func (s *Store) ListUsers(ctx context.Context, q onboarding.ListQuery) (onboarding.Page, error) {
	cursors, err := s.cursors(ctx)
	if err != nil {
		return onboarding.Page{}, err
	}
	after, err := cursors.Decode(q.Cursor)
	if err != nil {
		return onboarding.Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	if q.Email != "" {
		return s.listByEmail(ctx, q, after)
	}
	index, hash := IndexByEntity, expression.Key("entity").Equal(expression.Value(item.EntityUser))
	switch {
	case q.SlackUserID != "":
		// A Slack user is linked to one user, barring a race: the most
		// selective index, whatever else is asked.
		index, hash = IndexBySlackUser, expression.Key("slackUserId").Equal(expression.Value(q.SlackUserID))
	case q.Status != "":
		index, hash = IndexByStatus, expression.Key("status").Equal(expression.Value(string(q.Status)))
	}
	cond := hash
	if after != "" {
		cond = hash.And(expression.Key("id").GreaterThan(expression.Value(after)))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return onboarding.Page{}, fmt.Errorf("build list query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(index), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(queryBatch),
	}
	var page onboarding.Page
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return onboarding.Page{}, fmt.Errorf("list users: %w", err)
		}
		for _, m := range out.Items {
			var it item.User
			if err := attributevalue.UnmarshalMap(m, &it); err != nil {
				return onboarding.Page{}, fmt.Errorf("decode user: %w", err)
			}
			if !it.Matches(q) {
				continue
			}
			if len(page.Users) == limit {
				page.NextCursor = cursors.Encode(page.Users[limit-1].ID)
				return page, nil
			}
			u, err := it.Domain()
			if err != nil {
				return onboarding.Page{}, err
			}
			page.Users = append(page.Users, u)
		}
		if out.LastEvaluatedKey == nil {
			return page, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// listByEmail finds the one user an email can belong to through its guard.
func (s *Store) listByEmail(ctx context.Context, q onboarding.ListQuery, after string) (onboarding.Page, error) {
	guard, found, err := getItem[item.Email](ctx, s, item.EmailPK(user.NormalizeEmail(q.Email)), item.EmailSK)
	if err != nil {
		return onboarding.Page{}, fmt.Errorf("find email: %w", err)
	}
	if !found || guard.UserID <= after {
		return onboarding.Page{}, nil
	}
	it, err := s.getUserItem(ctx, guard.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return onboarding.Page{}, nil
	}
	if err != nil || !it.Matches(q) {
		return onboarding.Page{}, err
	}
	u, err := it.Domain()
	if err != nil {
		return onboarding.Page{}, err
	}
	return onboarding.Page{Users: []user.User{u}}, nil
}

// History implements onboarding.Store: entries oldest first. Its cursors
// hold the sort key alone, not the partition as a role's do, so that
// cursors already handed out keep reading.
func (s *Store) History(ctx context.Context, userID string, limit int, cur string) (onboarding.HistoryPage, error) {
	return auditTrail[onboarding.AuditEntry, item.Audit](ctx, s, item.UserPK(userID), "", userID, limit, cur)
}

// auditTrail reads a page of the audit trail in partition pk (a user's or
// a role's), oldest first, decoding each entry from an item I. The
// cursors it hands out are scope followed by the sort key resumed after,
// and one not starting with scope is refused. what names the trail's
// owner in errors.
func auditTrail[E any, I interface{ Domain() (E, error) }](ctx context.Context, s *Store, pk, scope, what string, limit int, cur string) (onboarding.Trail[E], error) {
	cursors, err := s.cursors(ctx)
	if err != nil {
		return onboarding.Trail[E]{}, err
	}
	after, err := cursors.Decode(cur)
	if err != nil {
		return onboarding.Trail[E]{}, err
	}
	if after != "" {
		var ok bool
		if after, ok = strings.CutPrefix(after, scope); !ok {
			return onboarding.Trail[E]{}, onboarding.ErrBadCursor
		}
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("PK").Equal(expression.Value(pk)).And(expression.Key("SK").BeginsWith(item.AuditSK(0)[:len("AUDIT#")])),
	).Build()
	if err != nil {
		return onboarding.Trail[E]{}, fmt.Errorf("build history query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: expr.KeyCondition(), ConsistentRead: aws.Bool(true),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(int32(limit + 1)),
	}
	if after != "" {
		in.ExclusiveStartKey = key(pk, after)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return onboarding.Trail[E]{}, fmt.Errorf("history of %s: %w", what, err)
	}
	var page onboarding.Trail[E]
	for i, m := range out.Items {
		if i == limit {
			// The next page starts after this one's last entry.
			sk, _ := out.Items[limit-1]["SK"].(*types.AttributeValueMemberS)
			page.NextCursor = cursors.Encode(scope + sk.Value)
			break
		}
		var it I
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return onboarding.Trail[E]{}, fmt.Errorf("decode audit entry of %s: %w", what, err)
		}
		a, err := it.Domain()
		if err != nil {
			return onboarding.Trail[E]{}, err
		}
		page.Entries = append(page.Entries, a)
	}
	return page, nil
}

// Idempotency implements onboarding.Store.
func (s *Store) Idempotency(ctx context.Context, k string, now time.Time) (onboarding.Idempotency, bool, error) {
	it, found, err := getItem[item.Idempotency](ctx, s, item.IdempotencyPK(k), item.IdempotencySK)
	if err != nil {
		return onboarding.Idempotency{}, false, fmt.Errorf("get idempotency record: %w", err)
	}
	// TTL deletes within days, not at once: an expired record is absent.
	if !found || now.Unix() >= it.ExpiresAt {
		return onboarding.Idempotency{}, false, nil
	}
	rec, err := it.Domain()
	return rec, err == nil, err
}
