package item

import "time"

// EntityReplay marks a Slack request already accepted. The release
// worker reads only user items: the stream mapping's filter passes only
// entity "user", and the worker skips any other entity, so these never
// reach it.
const EntityReplay = "slackReplay"

// Key prefix and sort key of replay records:
//
//	SLACKREPLAY#<key>  SLACKREPLAY  a Slack request accepted, until ExpiresAt (TTL)
const (
	replayPrefix = "SLACKREPLAY#"
	ReplaySK     = "SLACKREPLAY"
)

// ReplayPK is the partition key of a replay record.
func ReplayPK(key string) string { return replayPrefix + key }

// Replay records that a signed Slack request was accepted.
type Replay struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Entity string `dynamodbav:"entity"`
	// ExpiresAt (epoch seconds) is the TTL: when the request's signature
	// stops verifying, so it need not be remembered.
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// NewReplay returns the record of key until expires.
func NewReplay(key string, expires time.Time) Replay {
	return Replay{PK: ReplayPK(key), SK: ReplaySK, Entity: EntityReplay, ExpiresAt: expires.Unix()}
}
