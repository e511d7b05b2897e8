package embedded_test

import (
	"context"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/storetest"
)

func TestReplays(t *testing.T) {
	storetest.RunReplays(t, func(t *testing.T) slackops.Replays { return fresh(t) })
}

// A remembered request makes no change record: the release worker never
// hears of it.
func TestReplaysStayOutOfTheFeed(t *testing.T) {
	s := fresh(t)
	_, before := feed(t, s, 0)
	now := time.Now()
	if ok, err := s.FirstSeen(context.Background(), "k", now, now.Add(5*time.Minute)); err != nil || !ok {
		t.Fatalf("FirstSeen: %v %v", ok, err)
	}
	if recs, after := feed(t, s, before); len(recs) != 0 || after != before {
		t.Errorf("remembering a Slack request wrote %d feed records", len(recs))
	}
}
