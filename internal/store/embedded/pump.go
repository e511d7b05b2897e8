package embedded

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/opsos/onboarding/internal/stream"
)

// PumpOnce hands the next batch of the change feed after the saved
// checkpoint to h, then saves the checkpoint past what h finished and
// trims it from the feed. It returns how many records h finished; a batch
// h partly failed is offered again from the first failure next time.
func (s *Store) PumpOnce(ctx context.Context, h stream.Handler) (int, error) {
	cp, err := s.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	ev, _, err := s.ReadFeed(ctx, cp, defaultFeedBatch)
	if err != nil || len(ev.Records) == 0 {
		return 0, err
	}
	resp, err := h(ctx, ev)
	if err != nil {
		return 0, fmt.Errorf("stream handler: %w", err)
	}
	last, failed := stream.Handled(ev.Records, resp)
	finished := 0
	if last != "" {
		seq, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("feed sequence number %q: %w", last, err)
		}
		if err := s.SaveCheckpoint(ctx, seq); err != nil {
			return 0, err
		}
		if err := s.TrimFeed(ctx, seq); err != nil {
			return 0, err
		}
		finished = int(seq - cp)
	}
	if failed {
		return finished, fmt.Errorf("%d record(s) failed; retrying from %s", len(resp.BatchItemFailures), resp.BatchItemFailures[0].ItemIdentifier)
	}
	return finished, nil
}

// Pump runs PumpOnce until ctx ends, resting for idle when the feed is
// empty and backing off while the handler fails.
func (s *Store) Pump(ctx context.Context, h stream.Handler, idle time.Duration, onError func(error)) {
	pause := stream.Pause{Idle: idle, Max: 30 * time.Second}
	for ctx.Err() == nil {
		n, err := s.PumpOnce(ctx, h)
		if err != nil && ctx.Err() == nil {
			onError(err)
		}
		rest := pause.After(err)
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(rest):
		}
	}
}
