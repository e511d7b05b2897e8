package local

import (
	"context"
	"log/slog"

	"github.com/opsos/onboarding/internal/stream"
	"github.com/opsos/onboarding/internal/user"
)

// withActivityLog logs one line per change of a user, then hands the
// changes to next: a developer sees what the release worker is given.
func withActivityLog(log *slog.Logger, next stream.Core) stream.Core {
	return func(ctx context.Context, changes []stream.Change) []string {
		for _, c := range changes {
			if c.Unreadable != nil {
				continue // the worker logs it, and has it retried
			}
			// The record's event name, as DynamoDB derives it from the
			// images.
			var old, cur user.User
			event := "MODIFY"
			if c.Old != nil {
				old = *c.Old
			} else {
				event = "INSERT"
			}
			if c.New != nil {
				cur = *c.New
			} else {
				event = "REMOVE"
			}
			id := cur.ID
			if id == "" {
				id = old.ID
			}
			log.InfoContext(ctx, "user changed", "event", event, "userId", id,
				"statusFrom", old.Status, "statusTo", cur.Status, "version", cur.Version, "by", cur.UpdatedBy)
		}
		return next(ctx, changes)
	}
}
