package embedded

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/opsos/onboarding/internal/store/cursor"
)

// keyCursor is where the meta bucket keeps the secret that signs this
// store's pagination cursors. It is made once, when the file is first
// opened, and written straight into the meta bucket: not through write,
// so no change record carries it to the feed (and the release worker).
const keyCursor = "cursor-key"

// loadCursorCodec returns the codec of the store's cursor key, creating
// the key on first use.
func loadCursorCodec(db *bolt.DB) (cursor.Codec, error) {
	var key []byte
	err := db.Update(func(tx *bolt.Tx) error {
		meta := bucket(tx, bucketMeta)
		if k := meta.Get([]byte(keyCursor)); k != nil {
			key = append([]byte(nil), k...) // bbolt's slice dies with tx
			return nil
		}
		k, err := cursor.NewKey()
		if err != nil {
			return err
		}
		key = k
		return meta.Put([]byte(keyCursor), k)
	})
	if err != nil {
		return cursor.Codec{}, fmt.Errorf("cursor key: %w", err)
	}
	return cursor.New(key)
}
