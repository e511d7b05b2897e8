package embedded

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/opsos/onboarding/internal/store/item"
)

// AbandonInProgress gives up every claim still in progress and returns
// how many. Local mode calls it at start: the data directory's lock makes
// it the only worker on the store, so a claim in progress is its killed
// predecessor's, and the work is retried at once instead of after the
// claim's hold.
func (s *Store) AbandonInProgress(ctx context.Context) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		type claim struct {
			key string
			c   item.Claim
		}
		var live []claim
		err := bucket(tx, bucketClaims).ForEach(func(k, v []byte) error {
			var c item.Claim
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode claim %s: %w", k, err)
			}
			if c.State == item.ClaimInProgress {
				live = append(live, claim{string(k), c})
			}
			return nil
		})
		if err != nil {
			return err
		}
		w := write{tx: tx, now: s.now().UTC()}
		for _, l := range live {
			if err := w.del(bucketClaims, []byte(l.key), l.c); err != nil {
				return err
			}
		}
		n = len(live)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("abandon claims in progress: %w", err)
	}
	return n, nil
}
