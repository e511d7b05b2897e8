package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/release"
)

// TakeOver is a store whose claims a starting local mode takes over.
type TakeOver interface {
	release.Claims
	AbandonInProgress(ctx context.Context) (int, error)
}

// RunTakeOver runs the contract of taking over a killed predecessor's
// claims: every claim in progress is freed at once, completed work stays
// done.
func RunTakeOver(t *testing.T, newStore func(t *testing.T) TakeOver) {
	ctx := context.Background()
	now := At(0)
	const hold = time.Hour
	s := newStore(t)
	for _, k := range []string{"invite:u-1:v2", "invite:u-2:v2", "invite:u-3:v2"} {
		if st, err := s.Claim(ctx, k, now, hold); err != nil || st != release.Claimed {
			t.Fatalf("claim %s: %v %v", k, st, err)
		}
	}
	if err := s.Complete(ctx, "invite:u-3:v2", now); err != nil {
		t.Fatal(err)
	}
	n, err := s.AbandonInProgress(ctx)
	if err != nil || n != 2 {
		t.Fatalf("take over: %d claims, %v; want 2", n, err)
	}
	later := now.Add(time.Second) // long before the hold runs out
	for k, want := range map[string]release.ClaimState{"invite:u-1:v2": release.Claimed, "invite:u-2:v2": release.Claimed, "invite:u-3:v2": release.ClaimDone} {
		if st, err := s.Claim(ctx, k, later, hold); err != nil || st != want {
			t.Errorf("claim %s after the take-over: %v %v, want %v", k, st, err, want)
		}
	}
	if n, err := s.AbandonInProgress(ctx); err != nil || n != 2 {
		t.Errorf("second take-over: %d, %v; want the 2 claims just taken", n, err)
	}
}
