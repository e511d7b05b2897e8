package wait_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/wait"
)

func TestSleepEndsWithItsContext(t *testing.T) {
	if err := wait.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("a short sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := wait.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("a sleep under a cancelled context: %v, want context.Canceled at once", err)
	}
}
