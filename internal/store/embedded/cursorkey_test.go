package embedded_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/storetest"
)

// The cursor key is made once and kept in the file: a cursor handed out
// before a restart still works after it, and the key reaches neither the
// change feed (so not the release worker) nor anything but the meta bucket.
func TestCursorKeySurvivesRestartAndStaysOutOfTheFeed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsos.db")
	s := open(t, path)
	for n := 1; n <= 3; n++ {
		create(t, s, storetest.User(n, string(rune('a'+n))+"@example.com"), nil)
	}
	p, err := s.ListUsers(ctx, onboarding.ListQuery{Limit: 1})
	if err != nil || p.NextCursor == "" {
		t.Fatalf("first page: %v %q", err, p.NextCursor)
	}
	feed, _, err := s.ReadFeed(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, path)
	defer s.Close()
	if q, err := s.ListUsers(ctx, onboarding.ListQuery{Limit: 1, Cursor: p.NextCursor}); err != nil || len(q.Users) != 1 || q.Users[0].ID != "u-0002" {
		t.Fatalf("the cursor after a restart: %v %v", q.Users, err)
	}
	s.Close()

	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var key []byte
	db.View(func(tx *bolt.Tx) error {
		key = append(key, tx.Bucket([]byte("meta")).Get([]byte("cursor-key"))...)
		return nil
	})
	if len(key) != 32 {
		t.Fatalf("meta holds a %d-byte cursor key, want 32", len(key))
	}
	raw, err := json.Marshal(feed)
	if err != nil {
		t.Fatal(err)
	}
	if len(feed.Records) == 0 || bytes.Contains(raw, key) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(key))) {
		t.Errorf("the feed (%d records) carries the cursor key", len(feed.Records))
	}
}
