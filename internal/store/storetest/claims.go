package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/release"
)

// RunClaims runs the contract of the release worker's claims against
// stores made by newClaims.
func RunClaims(t *testing.T, newClaims func(t *testing.T) release.Claims) {
	ctx := context.Background()
	now := At(0)
	const hold = 2 * time.Minute
	expect := func(t *testing.T, c release.Claims, key string, at time.Time, want release.ClaimState) {
		t.Helper()
		got, err := c.Claim(ctx, key, at, hold)
		if err != nil || got != want {
			t.Fatalf("claim %s at %v: %v %v, want %v", key, at, got, err, want)
		}
	}
	t.Run("ClaimBusyComplete", func(t *testing.T) {
		c := newClaims(t)
		expect(t, c, "u-1:v2", now, release.Claimed)
		expect(t, c, "u-1:v2", now.Add(time.Second), release.ClaimBusy)
		expect(t, c, "u-1:v3", now, release.Claimed) // another key is free
		if err := c.Complete(ctx, "u-1:v2", now.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		expect(t, c, "u-1:v2", now.Add(3*time.Second), release.ClaimDone)
		expect(t, c, "u-1:v2", now.Add(time.Hour), release.ClaimDone)
	})
	t.Run("ExpiredClaimIsTakenOver", func(t *testing.T) {
		c := newClaims(t)
		expect(t, c, "k", now, release.Claimed)
		expect(t, c, "k", now.Add(hold-time.Millisecond), release.ClaimBusy)
		expect(t, c, "k", now.Add(hold), release.Claimed)
		expect(t, c, "k", now.Add(hold+time.Second), release.ClaimBusy)
	})
	t.Run("AbandonFreesAtOnce", func(t *testing.T) {
		c := newClaims(t)
		expect(t, c, "k", now, release.Claimed)
		if err := c.Abandon(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		expect(t, c, "k", now.Add(time.Second), release.Claimed)
		c.Complete(ctx, "k", now)
		if err := c.Abandon(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		expect(t, c, "k", now.Add(time.Hour), release.ClaimDone) // completed work stays done
		if err := c.Abandon(ctx, "never-claimed"); err != nil {
			t.Errorf("abandoning an unknown key: %v", err)
		}
	})
	t.Run("CompleteUnclaimedFails", func(t *testing.T) {
		if err := newClaims(t).Complete(ctx, "never", now); err == nil {
			t.Error("completing a key never claimed succeeded")
		}
	})
	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) {
		c := newClaims(t)
		const n = 20
		states := make([]release.ClaimState, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				states[i], errs[i] = c.Claim(ctx, "race", now, hold)
			}()
		}
		wg.Wait()
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if states[i] == release.Claimed {
				won++
			} else if states[i] != release.ClaimBusy {
				t.Errorf("state %v", states[i])
			}
		}
		if won != 1 {
			t.Errorf("%d claims won, want 1", won)
		}
	})
}
