package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/item"
)

var _ release.Claims = (*Store)(nil)

// Claim implements release.Claims.
func (s *Store) Claim(ctx context.Context, key string, now time.Time, hold time.Duration) (release.ClaimState, error) {
	state := release.Claimed
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, ok, err := getClaim(tx, key)
		if err != nil {
			return err
		}
		var oldItem any
		if ok {
			switch {
			case old.State == item.ClaimCompleted:
				state = release.ClaimDone
				return nil
			case now.UnixMilli() < old.HeldUntil:
				state = release.ClaimBusy
				return nil
			}
			oldItem = old // the holder died: take over
		}
		return putClaim(write{tx: tx, now: s.now().UTC()}, key, oldItem, item.NewClaim(key, now, hold))
	})
	if err != nil {
		return 0, fmt.Errorf("claim %s: %w", key, err)
	}
	return state, nil
}

// Complete implements release.Claims.
func (s *Store) Complete(ctx context.Context, key string, now time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, ok, err := getClaim(tx, key)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no claim")
		}
		n := old
		n.State = item.ClaimCompleted
		return putClaim(write{tx: tx, now: s.now().UTC()}, key, old, n)
	})
	if err != nil {
		return fmt.Errorf("complete claim %s: %w", key, err)
	}
	return nil
}

func getClaim(tx *bolt.Tx, key string) (item.Claim, bool, error) {
	b := bucket(tx, bucketClaims).Get([]byte(key))
	if b == nil {
		return item.Claim{}, false, nil
	}
	var c item.Claim
	if err := json.Unmarshal(b, &c); err != nil {
		return item.Claim{}, false, fmt.Errorf("decode claim: %w", err)
	}
	return c, true, nil
}

func putClaim(w write, key string, oldItem any, c item.Claim) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return w.put(bucketClaims, []byte(key), b, oldItem, c)
}

// Abandon implements release.Claims.
func (s *Store) Abandon(ctx context.Context, key string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, ok, err := getClaim(tx, key)
		if err != nil || !ok || old.State != item.ClaimInProgress {
			return err
		}
		return write{tx: tx, now: s.now().UTC()}.del(bucketClaims, []byte(key), old)
	})
	if err != nil {
		return fmt.Errorf("abandon claim %s: %w", key, err)
	}
	return nil
}
