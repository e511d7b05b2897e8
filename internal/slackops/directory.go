package slackops

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// maxCached bounds the email cache; a workspace's managers fit many times.
const maxCached = 1000

// emailCache remembers the email Slack has for each Slack user, so that
// a manager without a linked Slack id costs one users.info call per
// expiry, not one per command.
type emailCache struct {
	api API
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedEmail
}

type cachedEmail struct {
	email   string
	expires time.Time
}

func newEmailCache(api API, ttl time.Duration, now func() time.Time) *emailCache {
	return &emailCache{api: api, ttl: ttl, now: now, entries: map[string]cachedEmail{}}
}

// lookup returns the email of a Slack user, "" if Slack has none (a bot,
// or an app without the users:read.email scope).
func (c *emailCache) lookup(ctx context.Context, slackUser string) (string, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[slackUser]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.email, nil
	}
	u, err := c.api.GetUserInfoContext(ctx, slackUser)
	if err != nil {
		return "", fmt.Errorf("users.info %s: %w", slackUser, err)
	}
	email := ""
	if !u.Deleted && !u.IsBot {
		email = u.Profile.Email
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCached {
		for k, v := range c.entries {
			if !now.Before(v.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCached {
			clear(c.entries)
		}
	}
	c.entries[slackUser] = cachedEmail{email: email, expires: now.Add(c.ttl)}
	return email, nil
}
