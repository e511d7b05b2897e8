// Package wait pauses in step with a context: a retry's backoff that a
// cancelled request or an invocation's deadline cuts short.
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done and then returns its error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
