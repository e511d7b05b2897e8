package local

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/stream"
)

// idle is how long the change pump rests when nothing is new.
const idle = 200 * time.Millisecond

// OpenStorage opens local mode's store: DynamoDB Local (or any endpoint)
// when OPSOS_DYNAMODB_ENDPOINT is set, its table created if missing and
// its stream polled; else the embedded store in the data directory, with
// its change feed.
func OpenStorage(ctx context.Context, cfg app.Config, log *slog.Logger) (app.Storage, error) {
	if cfg.DynamoDBEndpoint != "" {
		db := dynamo.NewLocalClient(cfg.DynamoDBEndpoint)
		if err := dynamo.CreateTable(ctx, db, cfg.TableName); err != nil {
			return app.Storage{}, fmt.Errorf("OPSOS_DYNAMODB_ENDPOINT=%s: %w", cfg.DynamoDBEndpoint, err)
		}
		streams := dynamostream.NewLocalClient(cfg.DynamoDBEndpoint)
		checkpoints := dynamostream.FileCheckpoints{Path: filepath.Join(cfg.DataDir, "stream-checkpoints.json")}
		store := dynamo.New(db, cfg.TableName)
		return app.Storage{
			Store: store,
			Changes: func(ctx context.Context, h stream.Handler) error {
				takeOverClaims(ctx, store, log)
				p, err := dynamostream.NewPoller(ctx, db, streams, cfg.TableName, h, checkpoints, log)
				if err != nil {
					return err
				}
				return p.Run(ctx, idle)
			},
			Close: func() error { return nil },
		}, nil
	}
	store, err := embedded.Open(filepath.Join(cfg.DataDir, "opsos.db"))
	if err != nil {
		return app.Storage{}, err
	}
	return app.Storage{
		Store: store,
		Changes: func(ctx context.Context, h stream.Handler) error {
			takeOverClaims(ctx, store, log)
			store.Pump(ctx, h, idle, func(err error) { log.Warn("change feed", "error", err.Error()) })
			return nil
		},
		Close: store.Close,
	}, nil
}

// claimsInProgress is a store whose release claims local mode takes over.
type claimsInProgress interface {
	AbandonInProgress(ctx context.Context) (int, error)
}

// takeOverClaims frees the claims a killed predecessor left in progress
// before the change pump starts. Local mode is one process per data
// directory, so those deliveries are dead: their work is retried at once,
// not after their claims' hold. A failure is logged; the claims then run
// out on their own.
func takeOverClaims(ctx context.Context, store claimsInProgress, log *slog.Logger) {
	n, err := store.AbandonInProgress(ctx)
	switch {
	case err != nil:
		log.Warn("take over the release claims of a previous run", "error", err.Error())
	case n > 0:
		log.Info("took over the release claims of a previous run", "claims", n)
	}
}
