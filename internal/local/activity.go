package local

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
)

// withActivityLog logs one line per change of a user, read from the
// table's change records, then hands the batch to next: a developer sees
// what the release worker is given.
func withActivityLog(log *slog.Logger, next stream.Handler) stream.Handler {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, r := range ev.Records {
			var old, cur item.User
			if item.EntityOf(r.Change.NewImage) != item.EntityUser && item.EntityOf(r.Change.OldImage) != item.EntityUser {
				continue
			}
			if r.Change.OldImage != nil {
				if err := item.FromImage(r.Change.OldImage, &old); err != nil {
					log.WarnContext(ctx, "unreadable change record", "eventId", r.EventID, "error", err.Error())
					continue
				}
			}
			if r.Change.NewImage != nil {
				if err := item.FromImage(r.Change.NewImage, &cur); err != nil {
					log.WarnContext(ctx, "unreadable change record", "eventId", r.EventID, "error", err.Error())
					continue
				}
			}
			id := cur.ID
			if id == "" {
				id = old.ID
			}
			log.InfoContext(ctx, "user changed", "event", r.EventName, "userId", id,
				"statusFrom", old.Status, "statusTo", cur.Status, "version", cur.Version, "by", cur.UpdatedBy)
		}
		return next(ctx, ev)
	}
}
