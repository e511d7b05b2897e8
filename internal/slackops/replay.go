package slackops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"
)

// Replays remembers the signed requests already accepted, so that each is
// accepted once: a request captured on its way (a proxy's log, a browser
// extension) cannot be sent again within the five minutes its signature
// stays fresh. Both stores implement it, in the table beside the data, so
// that every instance of the function shares what it has seen.
type Replays interface {
	// FirstSeen records key until expires and reports true, or reports
	// false when key was recorded before and has not expired at now.
	FirstSeen(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// replayKey is what Replays remembers of a verified request: a hash of
// its timestamp and signature, which together identify the body signed.
func replayKey(timestamp, signature string) string {
	sum := sha256.Sum256([]byte("v0:" + timestamp + ":" + signature))
	return hex.EncodeToString(sum[:])
}

// replayExpiry is when a request signed at timestamp stops verifying, so
// it need not be remembered any longer.
func replayExpiry(timestamp string) time.Time {
	secs, _ := strconv.ParseInt(timestamp, 10, 64)
	return time.Unix(secs, 0).Add(window)
}

// memoryReplays is the Replays of a handler built without a store: one
// process's memory, enough for tests and a single local process.
type memoryReplays struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// FirstSeen implements Replays.
func (m *memoryReplays) FirstSeen(_ context.Context, key string, now, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	for k, exp := range m.seen {
		if !now.Before(exp) {
			delete(m.seen, k)
		}
	}
	if exp, ok := m.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.seen[key] = expires
	return true, nil
}
