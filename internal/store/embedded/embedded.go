// Package embedded is the store of local mode: a single bbolt file holding
// the same items the DynamoDB table holds (package item), written in
// atomic, fsynced transactions.
//
// Items are persisted as the JSON encoding of the item structs of package
// item (item.User, item.Audit, item.Idempotency), so the stored values and
// the stream images are built from one shape. Buckets:
//
//	users        user id → item.User JSON; iterated in id order by ListUsers
//	emails       lower-case email → user id; the uniqueness guard, and the
//	             fast path of the Email filter
//	audit        user id, NUL, audit sort key → item.Audit JSON
//	idempotency  key → item.Idempotency JSON
//	feed         big-endian sequence number → stream record JSON
//	meta         the feed consumer's checkpoint, the cursor key, and the
//	             roles' version (roles.go)
//	roles, roleNames, roleAudit
//	             roles, their name guards and audit trails (roles.go)
//
// Alongside the data it keeps a change feed: every item put or deleted
// appends, in the same transaction, a record shaped exactly like a DynamoDB
// stream record with NEW_AND_OLD_IMAGES, so the release worker can be handed
// the feed as an events.DynamoDBEvent, just as Lambda hands it the stream.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/cursor"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/user"
)

// Bucket names, and the meta key of the checkpoint. Strings rather than
// []byte so that the package holds no mutable state.
const (
	bucketUsers       = "users"
	bucketEmails      = "emails"
	bucketAudit       = "audit"
	bucketIdempotency = "idempotency"
	bucketClaims      = "claims"
	bucketFeed        = "feed"
	bucketMeta        = "meta"
	// bucketSlack indexes users by linked Slack user, as DynamoDB's
	// bySlackUser index does: keys are slackUserId NUL userId. Like an
	// index, it makes no change records.
	bucketSlack   = "slackUsers"
	keyCheckpoint = "feed-checkpoint"
)

// StreamARN names the feed the way a DynamoDB stream is named.
const StreamARN = "arn:aws:dynamodb:local:000000000000:table/opsos/stream/embedded"

const (
	// defaultLimit is the page size when a caller asks for none.
	defaultLimit = 50
	// defaultFeedBatch matches the default batch size of a Lambda
	// DynamoDB event source mapping.
	defaultFeedBatch = 100
	// openTimeout bounds the wait for the file lock: bbolt would otherwise
	// block forever while another process holds the file.
	openTimeout = time.Second
)

// Store is the embedded store. It is safe for concurrent use: bbolt
// serialises write transactions and lets reads run alongside them.
type Store struct {
	db      *bolt.DB
	now     func() time.Time
	cursors cursor.Codec
}

var _ onboarding.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that stamps feed records
// (ApproximateCreationDateTime).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open opens, or creates, the store file at path, creating its directory
// (mode 0700) if needed. A file held by another process is reported after
// a second, not waited on.
func Open(path string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: data directory is in use by another opsos process; stop it or set OPSOS_DATA_DIR to another directory: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{bucketUsers, bucketEmails, bucketAudit, bucketIdempotency, bucketClaims, bucketFeed, bucketMeta,
			bucketRoles, bucketRoleNames, bucketRoleAudit} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		if bucket(tx, bucketSlack) != nil {
			return nil
		}
		// A store from before the index: build it from the users.
		idx, err := tx.CreateBucket([]byte(bucketSlack))
		if err != nil {
			return fmt.Errorf("bucket %s: %w", bucketSlack, err)
		}
		return bucket(tx, bucketUsers).ForEach(func(k, v []byte) error {
			var it item.User
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("decode user %s: %w", k, err)
			}
			if it.SlackUserID == "" {
				return nil
			}
			return idx.Put(slackKey(it.SlackUserID, it.ID), nil)
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare %s: %w", path, err)
	}
	cursors, err := loadCursorCodec(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare %s: %w", path, err)
	}
	s := &Store{db: db, now: time.Now, cursors: cursors}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Close closes the file; every committed write is already on disk.
func (s *Store) Close() error { return s.db.Close() }

func bucket(tx *bolt.Tx, name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }

// write is one transaction: its puts and deletes, and the feed records
// they make.
type write struct {
	tx  *bolt.Tx
	now time.Time
}

// put stores value under key in the named bucket and appends the feed
// record of the item change from oldItem (nil when the key is new) to
// newItem, both item structs.
func (w write) put(name string, key, value []byte, oldItem, newItem any) error {
	b := bucket(w.tx, name)
	// DynamoDB writes no stream record for a put that changes nothing.
	unchanged := oldItem != nil && bytes.Equal(b.Get(key), value)
	if err := b.Put(key, value); err != nil {
		return fmt.Errorf("put %s %q: %w", name, key, err)
	}
	if unchanged {
		return nil
	}
	return w.record(oldItem, newItem)
}

// del deletes key from the named bucket and appends the REMOVE record of
// oldItem.
func (w write) del(name string, key []byte, oldItem any) error {
	if err := bucket(w.tx, name).Delete(key); err != nil {
		return fmt.Errorf("delete %s %q: %w", name, key, err)
	}
	return w.record(oldItem, nil)
}

// record appends the stream record DynamoDB would emit for the change.
func (w write) record(oldItem, newItem any) error {
	change := events.DynamoDBStreamRecord{
		StreamViewType: string(events.DynamoDBStreamViewTypeNewAndOldImages),
		// Lambda delivers this time in whole seconds.
		ApproximateCreationDateTime: events.SecondsEpochTime{Time: w.now.Truncate(time.Second)},
	}
	var err error
	if oldItem != nil {
		if change.OldImage, err = item.Image(oldItem); err != nil {
			return err
		}
		change.Keys = item.Keys(change.OldImage)
	}
	if newItem != nil {
		if change.NewImage, err = item.Image(newItem); err != nil {
			return err
		}
		change.Keys = item.Keys(change.NewImage)
	}
	rec := events.DynamoDBEventRecord{
		EventSource: "aws:dynamodb", EventVersion: "1.1", AWSRegion: "local", EventSourceArn: StreamARN,
	}
	switch {
	case oldItem == nil:
		rec.EventName = string(events.DynamoDBOperationTypeInsert)
	case newItem == nil:
		rec.EventName = string(events.DynamoDBOperationTypeRemove)
	default:
		rec.EventName = string(events.DynamoDBOperationTypeModify)
	}
	// SizeBytes approximates DynamoDB's: the size of keys and images.
	images, err := json.Marshal([]any{change.Keys, change.OldImage, change.NewImage})
	if err != nil {
		return fmt.Errorf("size feed record: %w", err)
	}
	change.SizeBytes = int64(len(images))
	feed := bucket(w.tx, bucketFeed)
	seq, err := feed.NextSequence()
	if err != nil {
		return fmt.Errorf("next feed sequence: %w", err)
	}
	// Zero-padded so that sequence numbers also sort as strings, as
	// DynamoDB's (decimal, up to 21 digits) do.
	change.SequenceNumber = fmt.Sprintf("%021d", seq)
	rec.EventID = strconv.FormatUint(seq, 10)
	rec.Change = change
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode feed record: %w", err)
	}
	if err := feed.Put(seqKey(seq), b); err != nil {
		return fmt.Errorf("append feed record %d: %w", seq, err)
	}
	return nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// CreateUser implements onboarding.Store.
func (s *Store) CreateUser(ctx context.Context, u user.User, a onboarding.AuditEntry, idem *onboarding.Idempotency) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	email := user.NormalizeEmail(u.Email)
	err := s.db.Update(func(tx *bolt.Tx) error {
		w := write{tx: tx, now: s.now().UTC()}
		// The key first: a retry whose first attempt made the user must
		// learn of that attempt, not that its own user now holds the email.
		var oldIdem any
		if idem != nil {
			old, ok, err := getIdempotency(tx, idem.Key)
			if err != nil {
				return err
			}
			// The port has no clock: the new record's creation time is "now".
			if ok && idem.CreatedAt.Before(time.Unix(old.ExpiresAt, 0)) {
				return onboarding.ErrIdempotencyKeyUsed
			}
			if ok {
				oldIdem = old // expired: overwritten, as DynamoDB would
			}
		}
		if err := checkRoles(tx, a.RolesVersion); err != nil {
			return err
		}
		if bucket(tx, bucketUsers).Get([]byte(u.ID)) != nil {
			return fmt.Errorf("user id %s already exists", u.ID)
		}
		if bucket(tx, bucketEmails).Get([]byte(email)) != nil {
			return user.ErrEmailTaken
		}
		if err := w.putUser(u, nil); err != nil {
			return err
		}
		if err := w.put(bucketEmails, []byte(email), []byte(u.ID), nil, item.FromEmail(email, u.ID)); err != nil {
			return err
		}
		if err := w.putAudit(a); err != nil {
			return err
		}
		if idem == nil {
			return nil
		}
		it, err := item.FromIdempotency(*idem)
		if err != nil {
			return err
		}
		b, err := json.Marshal(it)
		if err != nil {
			return fmt.Errorf("encode idempotency record: %w", err)
		}
		return w.put(bucketIdempotency, []byte(idem.Key), b, oldIdem, it)
	})
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return nil
}

// UpdateUser implements onboarding.Store.
func (s *Store) UpdateUser(ctx context.Context, u user.User, expectedVersion int64, a onboarding.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		w := write{tx: tx, now: s.now().UTC()}
		if err := checkRoles(tx, a.RolesVersion); err != nil {
			return err
		}
		old, ok, err := getUser(tx, u.ID)
		if err != nil {
			return err
		}
		if !ok {
			return user.ErrNotFound
		}
		if old.Version != expectedVersion {
			return user.ErrVersionConflict
		}
		oldEmail, newEmail := user.NormalizeEmail(old.Email), user.NormalizeEmail(u.Email)
		if oldEmail != newEmail {
			if bucket(tx, bucketEmails).Get([]byte(newEmail)) != nil {
				return user.ErrEmailTaken
			}
			if err := w.del(bucketEmails, []byte(oldEmail), item.FromEmail(oldEmail, u.ID)); err != nil {
				return err
			}
			if err := w.put(bucketEmails, []byte(newEmail), []byte(u.ID), nil, item.FromEmail(newEmail, u.ID)); err != nil {
				return err
			}
		}
		if err := w.putUser(u, &old); err != nil {
			return err
		}
		return w.putAudit(a)
	})
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return nil
}

func (w write) putUser(u user.User, old *item.User) error {
	it := item.FromUser(u)
	b, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encode user %s: %w", u.ID, err)
	}
	var oldItem any
	if old != nil {
		oldItem = *old
		if old.SlackUserID != "" && old.SlackUserID != u.SlackUserID {
			if err := bucket(w.tx, bucketSlack).Delete(slackKey(old.SlackUserID, u.ID)); err != nil {
				return err
			}
		}
	}
	if u.SlackUserID != "" {
		if err := bucket(w.tx, bucketSlack).Put(slackKey(u.SlackUserID, u.ID), nil); err != nil {
			return err
		}
	}
	return w.put(bucketUsers, []byte(u.ID), b, oldItem, it)
}

// slackKey is the index key of a user linked to a Slack user; the NUL
// keeps one Slack user's keys together and in user id order.
func slackKey(slackUserID, userID string) []byte { return []byte(slackUserID + "\x00" + userID) }

func (w write) putAudit(a onboarding.AuditEntry) error {
	it, err := item.FromAudit(a)
	if err != nil {
		return err
	}
	b, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	key := auditKey(a.UserID, it.SK)
	var oldItem any
	if prev := bucket(w.tx, bucketAudit).Get(key); prev != nil {
		var p item.Audit
		if err := json.Unmarshal(prev, &p); err != nil {
			return fmt.Errorf("decode audit entry %q: %w", key, err)
		}
		oldItem = p
	}
	return w.put(bucketAudit, key, b, oldItem, it)
}

// auditKey keeps the entries of a user (in bucket audit) or of a role (in
// roleAudit) together and in version order; the NUL cannot occur in an
// id, so one id's prefix never covers another's.
func auditKey(id, sk string) []byte { return []byte(id + "\x00" + sk) }

func getUser(tx *bolt.Tx, id string) (item.User, bool, error) {
	b := bucket(tx, bucketUsers).Get([]byte(id))
	if b == nil {
		return item.User{}, false, nil
	}
	var it item.User
	if err := json.Unmarshal(b, &it); err != nil {
		return item.User{}, false, fmt.Errorf("decode user %s: %w", id, err)
	}
	return it, true, nil
}

func getIdempotency(tx *bolt.Tx, key string) (item.Idempotency, bool, error) {
	b := bucket(tx, bucketIdempotency).Get([]byte(key))
	if b == nil {
		return item.Idempotency{}, false, nil
	}
	var it item.Idempotency
	if err := json.Unmarshal(b, &it); err != nil {
		return item.Idempotency{}, false, fmt.Errorf("decode idempotency record %q: %w", key, err)
	}
	return it, true, nil
}

// GetUser implements onboarding.Store.
func (s *Store) GetUser(ctx context.Context, id string) (user.User, error) {
	if err := ctx.Err(); err != nil {
		return user.User{}, err
	}
	var u user.User
	err := s.db.View(func(tx *bolt.Tx) error {
		it, ok, err := getUser(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return user.ErrNotFound
		}
		u, err = it.Domain()
		return err
	})
	if err != nil {
		return user.User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// ListUsers implements onboarding.Store: users in id order, which for the
// service's time-ordered ids (UUIDv7) is creation order. An email is found
// through its guard and a Slack user through its index; every other
// filter is applied to a walk over the users, which for a local store is
// cheap.
func (s *Store) ListUsers(ctx context.Context, q onboarding.ListQuery) (onboarding.Page, error) {
	if err := ctx.Err(); err != nil {
		return onboarding.Page{}, err
	}
	after, err := s.decodeCursor(cursorUsers, q.Cursor)
	if err != nil {
		return onboarding.Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	var page onboarding.Page
	err = s.db.View(func(tx *bolt.Tx) error {
		if q.Email != "" {
			// Emails are unique: at most one user, found through the guard.
			id := bucket(tx, bucketEmails).Get([]byte(user.NormalizeEmail(q.Email)))
			if id == nil || string(id) <= after {
				return nil
			}
			it, ok, err := getUser(tx, string(id))
			if err != nil || !ok || !it.Matches(q) {
				return err
			}
			u, err := it.Domain()
			page.Users = append(page.Users, u)
			return err
		}
		next := usersAfter(tx, after)
		if q.SlackUserID != "" {
			next = linkedAfter(tx, q.SlackUserID, after)
		}
		for {
			it, ok, err := next()
			if err != nil || !ok {
				return err
			}
			if !it.Matches(q) {
				continue
			}
			if len(page.Users) == limit {
				// Only announce a next page when it holds a match, so a
				// walk never ends on an empty page.
				page.NextCursor = s.encodeCursor(cursorUsers, page.Users[limit-1].ID)
				return nil
			}
			u, err := it.Domain()
			if err != nil {
				return err
			}
			page.Users = append(page.Users, u)
		}
	})
	if err != nil {
		return onboarding.Page{}, fmt.Errorf("list users: %w", err)
	}
	return page, nil
}

// usersAfter walks all users with ids after after, in id order.
func usersAfter(tx *bolt.Tx, after string) func() (item.User, bool, error) {
	c := bucket(tx, bucketUsers).Cursor()
	k, v := c.First()
	if after != "" {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	}
	return func() (item.User, bool, error) {
		if k == nil {
			return item.User{}, false, nil
		}
		var it item.User
		if err := json.Unmarshal(v, &it); err != nil {
			return item.User{}, false, fmt.Errorf("decode user %s: %w", k, err)
		}
		k, v = c.Next()
		return it, true, nil
	}
}

// linkedAfter walks the users linked to a Slack user with ids after
// after, in id order, through the index.
func linkedAfter(tx *bolt.Tx, slackUserID, after string) func() (item.User, bool, error) {
	prefix := slackKey(slackUserID, "")
	c := bucket(tx, bucketSlack).Cursor()
	k, _ := c.Seek(slackKey(slackUserID, after))
	if after != "" && k != nil && string(k) == string(slackKey(slackUserID, after)) {
		k, _ = c.Next()
	}
	return func() (item.User, bool, error) {
		for k != nil && bytes.HasPrefix(k, prefix) {
			id := string(k[len(prefix):])
			k, _ = c.Next()
			it, ok, err := getUser(tx, id)
			if err != nil {
				return item.User{}, false, err
			}
			if ok {
				return it, true, nil
			}
		}
		return item.User{}, false, nil
	}
}

// History implements onboarding.Store: entries oldest first.
func (s *Store) History(ctx context.Context, userID string, limit int, cur string) (onboarding.HistoryPage, error) {
	return auditTrail[onboarding.AuditEntry, item.Audit](ctx, s, bucketAudit, cursorHistory, userID, userID, limit, cur)
}

// auditTrail reads a page of the audit trail of id (a user's or a role's)
// in the named bucket, oldest first, decoding each entry from an item I.
// Its cursors are of kind and hold a whole audit key, so one handed out
// for another trail is refused rather than silently misread. what names
// the trail's owner in errors.
func auditTrail[E any, I interface{ Domain() (E, error) }](ctx context.Context, s *Store, name, kind, id, what string, limit int, cur string) (onboarding.Trail[E], error) {
	if err := ctx.Err(); err != nil {
		return onboarding.Trail[E]{}, err
	}
	prefix := auditKey(id, "")
	after, err := s.decodeCursor(kind, cur)
	if err != nil {
		return onboarding.Trail[E]{}, err
	}
	if after != "" && !strings.HasPrefix(after, string(prefix)) {
		return onboarding.Trail[E]{}, onboarding.ErrBadCursor
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	var page onboarding.Trail[E]
	err = s.db.View(func(tx *bolt.Tx) error {
		c := bucket(tx, name).Cursor()
		k, v := c.Seek(prefix)
		if after != "" {
			if k, v = c.Seek([]byte(after)); k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		var last []byte
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(page.Entries) == limit {
				page.NextCursor = s.encodeCursor(kind, string(last))
				return nil
			}
			var it I
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("decode audit entry %q: %w", k, err)
			}
			a, err := it.Domain()
			if err != nil {
				return err
			}
			page.Entries, last = append(page.Entries, a), k
		}
		return nil
	})
	if err != nil {
		return onboarding.Trail[E]{}, fmt.Errorf("history of %s: %w", what, err)
	}
	return page, nil
}

// Idempotency implements onboarding.Store. A record is expired from its
// ExpiresAt on, as DynamoDB's TTL would have it even before the item is
// actually deleted.
func (s *Store) Idempotency(ctx context.Context, key string, now time.Time) (onboarding.Idempotency, bool, error) {
	if err := ctx.Err(); err != nil {
		return onboarding.Idempotency{}, false, err
	}
	var (
		rec onboarding.Idempotency
		ok  bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		it, found, err := getIdempotency(tx, key)
		if err != nil || !found || !now.Before(time.Unix(it.ExpiresAt, 0)) {
			return err
		}
		rec, err = it.Domain()
		ok = err == nil
		return err
	})
	if err != nil {
		return onboarding.Idempotency{}, false, fmt.Errorf("idempotency record %q: %w", key, err)
	}
	return rec, ok, nil
}

// Cursors go through the codec shared with the DynamoDB store, whose MAC
// refuses hand-made and truncated ones; the kind inside keeps a list
// cursor out of History and the other way round.
const (
	cursorUsers   = "users:"
	cursorHistory = "history:"
)

func (s *Store) encodeCursor(kind, after string) string { return s.cursors.Encode(kind + after) }

// decodeCursor returns the key a cursor of kind resumes after, "" for no
// cursor, or onboarding.ErrBadCursor.
func (s *Store) decodeCursor(kind, c string) (string, error) {
	pos, err := s.cursors.Decode(c)
	if err != nil || c == "" {
		return "", err
	}
	after, ok := strings.CutPrefix(pos, kind)
	if !ok || after == "" {
		return "", onboarding.ErrBadCursor
	}
	return after, nil
}

// ReadFeed returns, in order, up to max feed records (the default Lambda
// batch size of 100 when max ≤ 0) with sequence numbers after after, as
// the event Lambda would deliver, and the last sequence number returned
// (after itself when there is nothing new).
func (s *Store) ReadFeed(ctx context.Context, after uint64, max int) (events.DynamoDBEvent, uint64, error) {
	if err := ctx.Err(); err != nil {
		return events.DynamoDBEvent{}, after, err
	}
	if max <= 0 {
		max = defaultFeedBatch
	}
	var ev events.DynamoDBEvent
	last := after
	if after == math.MaxUint64 {
		return ev, last, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := bucket(tx, bucketFeed).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(ev.Records) < max; k, v = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			var rec events.DynamoDBEventRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode feed record %d: %w", seq, err)
			}
			ev.Records = append(ev.Records, rec)
			last = seq
		}
		return nil
	})
	if err != nil {
		return events.DynamoDBEvent{}, after, fmt.Errorf("read feed: %w", err)
	}
	return ev, last, nil
}

// TrimFeed deletes the records up to and including sequence number
// through, once the consumer no longer needs them. Sequence numbers are
// never reused.
func (s *Store) TrimFeed(ctx context.Context, through uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := bucket(tx, bucketFeed).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= through; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("trim feed through %d: %w", through, err)
	}
	return nil
}

// Checkpoint returns the last feed sequence number the consumer saved as
// finished, 0 when it never saved one.
func (s *Store) Checkpoint(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketMeta).Get([]byte(keyCheckpoint))
		switch len(b) {
		case 0:
		case 8:
			seq = binary.BigEndian.Uint64(b)
		default:
			return fmt.Errorf("checkpoint of %d bytes", len(b))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read feed checkpoint: %w", err)
	}
	return seq, nil
}

// SaveCheckpoint records, durably, that the consumer finished every record
// up to and including seq, so that a restarted consumer resumes after it.
func (s *Store) SaveCheckpoint(ctx context.Context, seq uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketMeta).Put([]byte(keyCheckpoint), seqKey(seq))
	})
	if err != nil {
		return fmt.Errorf("save feed checkpoint %d: %w", seq, err)
	}
	return nil
}
