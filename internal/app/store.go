package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/stream"
)

// Store is the table as the whole product uses it: the onboarding
// service's users, audit trail, idempotency records and roles
// (onboarding.Store includes onboarding.RoleStore), the release
// worker's claims, and the Slack handler's memory of accepted requests.
// Both stores (DynamoDB, and the embedded one of local mode) are one, so
// every part is built from it without asking what it can do.
type Store interface {
	onboarding.Store
	release.Claims
	// FirstSeen records a Slack request's key until expires and reports
	// whether it is new (slackops.Replays).
	FirstSeen(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

var _ Store = (*dynamo.Store)(nil)

// Storage is an opened store: the store, its change feed, and how to
// close it.
type Storage struct {
	Store Store
	// Changes delivers the table's changes to a stream handler in local
	// mode: the embedded feed, or DynamoDB Local's stream. In Lambda the
	// event source mapping does this instead.
	Changes func(ctx context.Context, h stream.Handler) error
	Close   func() error
}

// StorageOpener opens the store of cfg: local mode passes its own (the
// embedded store, or DynamoDB Local), so that the Lambda binaries link
// only DynamoDB.
type StorageOpener func(ctx context.Context, cfg Config, log *slog.Logger) (Storage, error)
