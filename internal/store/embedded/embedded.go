// Package embedded is the store of local mode: a single bbolt file holding
// the same items the DynamoDB table holds (package item), written in
// atomic, fsynced transactions.
//
// Alongside the data it keeps a change feed: every item put or deleted
// appends, in the same transaction, a record shaped exactly like a DynamoDB
// stream record with NEW_AND_OLD_IMAGES, so the release worker can be handed
// the feed as an events.DynamoDBEvent, just as Lambda hands it the stream.
//
// Buckets: users (id → item.User JSON), emails (email → user id, the
// uniqueness guard), audit (user id, NUL, audit sort key → item.Audit
// JSON), idempotency (key → item.Idempotency JSON), feed (big-endian
// sequence → stream record JSON) and meta (the feed consumer's checkpoint).
package embedded

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/user"
)

var (
	bucketUsers       = []byte("users")
	bucketEmails      = []byte("emails")
	bucketAudit       = []byte("audit")
	bucketIdempotency = []byte("idempotency")
	bucketFeed        = []byte("feed")
	bucketMeta        = []byte("meta")
	keyCheckpoint     = []byte("feed-checkpoint")
)

// StreamARN names the feed the way a DynamoDB stream is named.
const StreamARN = "arn:aws:dynamodb:local:000000000000:table/opsos/stream/embedded"

const defaultLimit = 50

// Store is the embedded store.
type Store struct {
	db  *bolt.DB
	now func() time.Time
}

var _ onboarding.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that stamps feed records.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open opens (or creates) the store file at path.
func Open(path string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: the data directory is in use by another opsos process; stop it or set OPSOS_DATA_DIR to another directory", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketUsers, bucketEmails, bucketAudit, bucketIdempotency, bucketFeed, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare %s: %w", path, err)
	}
	s := &Store{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Close closes the file; every committed write is already on disk.
func (s *Store) Close() error { return s.db.Close() }

// write is one transaction: its puts and deletes, and the feed records
// they make.
type write struct {
	tx  *bolt.Tx
	now time.Time
}

// put stores newItem (an item struct) under key in bucket, with old the
// item it replaces (nil when new), and appends the feed record.
func (w write) put(bucket, key []byte, value []byte, oldItem, newItem any) error {
	if err := w.tx.Bucket(bucket).Put(key, value); err != nil {
		return err
	}
	return w.record(oldItem, newItem)
}

func (w write) del(bucket, key []byte, oldItem any) error {
	if err := w.tx.Bucket(bucket).Delete(key); err != nil {
		return err
	}
	return w.record(oldItem, nil)
}

// record appends the stream record DynamoDB would emit for the change.
func (w write) record(oldItem, newItem any) error {
	var rec events.DynamoDBEventRecord
	change := events.DynamoDBStreamRecord{
		StreamViewType:              string(events.DynamoDBStreamViewTypeNewAndOldImages),
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
	switch {
	case oldItem == nil:
		rec.EventName = string(events.DynamoDBOperationTypeInsert)
	case newItem == nil:
		rec.EventName = string(events.DynamoDBOperationTypeRemove)
	default:
		rec.EventName = string(events.DynamoDBOperationTypeModify)
	}
	feed := w.tx.Bucket(bucketFeed)
	seq, err := feed.NextSequence()
	if err != nil {
		return err
	}
	change.SequenceNumber = fmt.Sprintf("%021d", seq)
	rec.EventID = strconv.FormatUint(seq, 10)
	rec.EventSource, rec.EventVersion, rec.AWSRegion, rec.EventSourceArn = "aws:dynamodb", "1.1", "local", StreamARN
	images, _ := json.Marshal([]any{change.Keys, change.OldImage, change.NewImage})
	change.SizeBytes = int64(len(images))
	rec.Change = change
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode feed record: %w", err)
	}
	return feed.Put(seqKey(seq), b)
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// CreateUser implements onboarding.Store.
func (s *Store) CreateUser(ctx context.Context, u user.User, a onboarding.AuditEntry, idem *onboarding.Idempotency) error {
	email := user.NormalizeEmail(u.Email)
	return s.db.Update(func(tx *bolt.Tx) error {
		w := write{tx: tx, now: s.now().UTC()}
		var oldIdem any
		if idem != nil {
			if old, ok, err := getIdempotency(tx, idem.Key); err != nil {
				return err
			} else if ok {
				if idem.CreatedAt.Before(time.Unix(old.ExpiresAt, 0)) {
					return onboarding.ErrIdempotencyKeyUsed
				}
				oldIdem = old // expired: DynamoDB would overwrite it too
			}
		}
		// After the key: a retry whose first attempt made the user must be
		// told about the key, not about the email its own user now holds.
		if tx.Bucket(bucketUsers).Get([]byte(u.ID)) != nil {
			return fmt.Errorf("user id %s already exists", u.ID)
		}
		if tx.Bucket(bucketEmails).Get([]byte(email)) != nil {
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
		if idem != nil {
			it, err := item.FromIdempotency(*idem)
			if err != nil {
				return err
			}
			b, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := w.put(bucketIdempotency, []byte(idem.Key), b, oldIdem, it); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpdateUser implements onboarding.Store.
func (s *Store) UpdateUser(ctx context.Context, u user.User, expectedVersion int64, a onboarding.AuditEntry) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		w := write{tx: tx, now: s.now().UTC()}
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
			emails := tx.Bucket(bucketEmails)
			if emails.Get([]byte(newEmail)) != nil {
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
	}
	return w.put(bucketUsers, []byte(u.ID), b, oldItem, it)
}

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
	if prev := w.tx.Bucket(bucketAudit).Get(key); prev != nil {
		var p item.Audit
		if err := json.Unmarshal(prev, &p); err != nil {
			return fmt.Errorf("decode audit entry: %w", err)
		}
		oldItem = p
	}
	return w.put(bucketAudit, key, b, oldItem, it)
}

func auditKey(userID, sk string) []byte { return []byte(userID + "\x00" + sk) }

func getUser(tx *bolt.Tx, id string) (item.User, bool, error) {
	b := tx.Bucket(bucketUsers).Get([]byte(id))
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
	b := tx.Bucket(bucketIdempotency).Get([]byte(key))
	if b == nil {
		return item.Idempotency{}, false, nil
	}
	var it item.Idempotency
	if err := json.Unmarshal(b, &it); err != nil {
		return item.Idempotency{}, false, fmt.Errorf("decode idempotency record: %w", err)
	}
	return it, true, nil
}

// GetUser implements onboarding.Store.
func (s *Store) GetUser(ctx context.Context, id string) (user.User, error) {
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
	return u, err
}

// ListUsers implements onboarding.Store: users in id order.
func (s *Store) ListUsers(ctx context.Context, q onboarding.ListQuery) (onboarding.Page, error) {
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return onboarding.Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	var page onboarding.Page
	err = s.db.View(func(tx *bolt.Tx) error {
		match := matcher(q)
		if q.Email != "" {
			// Emails are unique: at most one user, found through the guard.
			id := tx.Bucket(bucketEmails).Get([]byte(user.NormalizeEmail(q.Email)))
			if id == nil || string(id) <= after {
				return nil
			}
			it, ok, err := getUser(tx, string(id))
			if err != nil || !ok || !match(it) {
				return err
			}
			u, err := it.Domain()
			page.Users = append(page.Users, u)
			return err
		}
		c := tx.Bucket(bucketUsers).Cursor()
		k, v := c.First()
		if after != "" {
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			var it item.User
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("decode user %s: %w", k, err)
			}
			if !match(it) {
				continue
			}
			if len(page.Users) == limit {
				// Another match exists: there is a next page.
				page.NextCursor = encodeCursor(page.Users[limit-1].ID)
				return nil
			}
			u, err := it.Domain()
			if err != nil {
				return err
			}
			page.Users = append(page.Users, u)
		}
		return nil
	})
	if err != nil {
		return onboarding.Page{}, err
	}
	return page, nil
}

func matcher(q onboarding.ListQuery) func(item.User) bool {
	needle := strings.ToLower(strings.TrimSpace(q.Q))
	return func(it item.User) bool {
		switch {
		case q.Status != "" && it.Status != string(q.Status),
			q.Role != "" && it.Role != q.Role,
			q.Type != "" && it.Type != string(q.Type):
			return false
		case needle == "":
			return true
		}
		for _, hay := range []string{it.FirstName + " " + it.LastName, it.Email, it.JobTitle} {
			if strings.Contains(strings.ToLower(hay), needle) {
				return true
			}
		}
		return false
	}
}

// History implements onboarding.Store: entries oldest first.
func (s *Store) History(ctx context.Context, userID string, limit int, cursor string) (onboarding.HistoryPage, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return onboarding.HistoryPage{}, err
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	var page onboarding.HistoryPage
	err = s.db.View(func(tx *bolt.Tx) error {
		prefix := []byte(userID + "\x00")
		c := tx.Bucket(bucketAudit).Cursor()
		k, v := c.Seek(prefix)
		if after != "" {
			start := auditKey(userID, after)
			k, v = c.Seek(start)
			if k != nil && bytes.Equal(k, start) {
				k, v = c.Next()
			}
		}
		var last string
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(page.Entries) == limit {
				page.NextCursor = encodeCursor(last)
				return nil
			}
			var it item.Audit
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("decode audit entry %q: %w", k, err)
			}
			a, err := it.Domain()
			if err != nil {
				return err
			}
			page.Entries = append(page.Entries, a)
			last = it.SK
		}
		return nil
	})
	return page, err
}

// Idempotency implements onboarding.Store.
func (s *Store) Idempotency(ctx context.Context, key string, now time.Time) (onboarding.Idempotency, bool, error) {
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
	return rec, ok, err
}

// Cursors are opaque to callers but must come from this store: a tag keeps
// hand-made ones out.
const cursorTag = "c1:"

func encodeCursor(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorTag + after))
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !bytes.HasPrefix(b, []byte(cursorTag)) || len(b) == len(cursorTag) {
		return "", onboarding.ErrBadCursor
	}
	return string(b[len(cursorTag):]), nil
}

// ReadFeed returns up to max feed records after sequence number after, in
// order, as the event Lambda would deliver, and the last sequence number
// returned (after itself when there is nothing new).
func (s *Store) ReadFeed(ctx context.Context, after uint64, max int) (events.DynamoDBEvent, uint64, error) {
	var ev events.DynamoDBEvent
	last := after
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFeed).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(ev.Records) < max; k, v = c.Next() {
			var rec events.DynamoDBEventRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode feed record %d: %w", binary.BigEndian.Uint64(k), err)
			}
			ev.Records = append(ev.Records, rec)
			last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return ev, last, err
}

// TrimFeed deletes the records up to and including sequence number through.
func (s *Store) TrimFeed(ctx context.Context, through uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFeed).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= through; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Checkpoint returns the last feed sequence number the consumer finished.
func (s *Store) Checkpoint(ctx context.Context) (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta).Get(keyCheckpoint); len(b) == 8 {
			seq = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return seq, err
}

// SaveCheckpoint records that the consumer finished every record up to seq.
func (s *Store) SaveCheckpoint(ctx context.Context, seq uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyCheckpoint, seqKey(seq))
	})
}
