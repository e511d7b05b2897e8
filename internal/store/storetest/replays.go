package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/slackops"
)

// RunReplays runs the contract of the Slack handler's replay memory
// against stores made by newReplays: each key is first seen once until
// it expires.
func RunReplays(t *testing.T, newReplays func(t *testing.T) slackops.Replays) {
	ctx := context.Background()
	now := At(0).Truncate(time.Second)
	expires := now.Add(5 * time.Minute)
	seen := func(t *testing.T, r slackops.Replays, key string, at time.Time, want bool) {
		t.Helper()
		got, err := r.FirstSeen(ctx, key, at, expires)
		if err != nil || got != want {
			t.Fatalf("FirstSeen(%s) at %v: %v %v, want %v", key, at, got, err, want)
		}
	}
	t.Run("OnceUntilExpiry", func(t *testing.T) {
		r := newReplays(t)
		seen(t, r, "k1", now, true)
		seen(t, r, "k1", now.Add(time.Second), false)
		seen(t, r, "k2", now, true) // another key is new
		seen(t, r, "k1", expires.Add(-time.Second), false)
	})
	t.Run("ExpiredKeyIsNewAgain", func(t *testing.T) {
		r := newReplays(t)
		seen(t, r, "k1", now, true)
		// An expired record may still be stored (DynamoDB's TTL is lazy);
		// it must not count.
		got, err := r.FirstSeen(ctx, "k1", expires, expires.Add(5*time.Minute))
		if err != nil || !got {
			t.Fatalf("FirstSeen after expiry: %v %v, want true", got, err)
		}
		got, err = r.FirstSeen(ctx, "k1", expires.Add(time.Second), expires.Add(5*time.Minute))
		if err != nil || got {
			t.Fatalf("FirstSeen of the renewed key: %v %v, want false", got, err)
		}
	})
	t.Run("ConcurrentOneWinner", func(t *testing.T) {
		r := newReplays(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := r.FirstSeen(ctx, "same", now, expires)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Errorf("%d concurrent FirstSeen of one key reported first, want exactly 1", n)
		}
	})
}
