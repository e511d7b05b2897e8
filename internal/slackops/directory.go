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
	api       API
	workspace Workspace
	ttl       time.Duration
	now       func() time.Time

	mu      sync.Mutex
	entries map[string]cachedEmail
}

type cachedEmail struct {
	email   string
	refusal string
	expires time.Time
}

func newEmailCache(api API, workspace Workspace, ttl time.Duration, now func() time.Time) *emailCache {
	return &emailCache{api: api, workspace: workspace, ttl: ttl, now: now, entries: map[string]cachedEmail{}}
}

// lookup returns the email of a Slack user, "" if Slack has none (an app
// without the users:read.email scope); or, instead, why the email may not
// stand for them (Workspace.fallbackRefusal): a guest, a bot, someone
// from another organisation, an unconfirmed address.
func (c *emailCache) lookup(ctx context.Context, slackUser string) (email, refusal string, err error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[slackUser]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.email, e.refusal, nil
	}
	u, err := c.api.GetUserInfoContext(ctx, slackUser)
	if err != nil {
		return "", "", fmt.Errorf("users.info %s: %w", slackUser, err)
	}
	if refusal = c.workspace.fallbackRefusal(u); refusal == "" {
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
	c.entries[slackUser] = cachedEmail{email: email, refusal: refusal, expires: now.Add(c.ttl)}
	return email, refusal, nil
}
