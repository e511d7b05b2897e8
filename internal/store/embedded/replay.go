package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketReplays holds the Slack requests already accepted: key → expiry
// (big-endian Unix nanoseconds). It is written without feed records, so
// the release worker never sees it, as the stream mapping's filter keeps
// replay items from it in AWS.
const bucketReplays = "slackReplays"

// FirstSeen implements slackops.Replays. Expired keys are pruned in the
// same transaction; they are few, since each lives five minutes.
func (s *Store) FirstSeen(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	first := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketReplays))
		if err != nil {
			return err
		}
		var expired [][]byte
		err = b.ForEach(func(k, v []byte) error {
			if len(v) != 8 || !now.Before(time.Unix(0, int64(binary.BigEndian.Uint64(v)))) {
				expired = append(expired, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		if b.Get([]byte(key)) != nil {
			return nil
		}
		first = true
		return b.Put([]byte(key), binary.BigEndian.AppendUint64(nil, uint64(expires.UnixNano())))
	})
	if err != nil {
		return false, fmt.Errorf("remember Slack request: %w", err)
	}
	return first, nil
}
