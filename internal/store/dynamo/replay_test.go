package dynamo_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/store/schema"
	"github.com/opsos/onboarding/internal/store/storetest"
)

func TestReplays(t *testing.T) {
	storetest.RunReplays(t, func(t *testing.T) slackops.Replays {
		db, name := newTable(t)
		return dynamo.New(db, name)
	})
}

// A replay record reaches the table's stream as an item of its own
// entity with the TTL attribute: the stream mapping's filter (entity
// "user" only) and the worker's own check both pass over it.
func TestReplayRecordOnTheStream(t *testing.T) {
	ctx := context.Background()
	db, table := newTable(t)
	var got []events.DynamoDBEventRecord
	handle := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		got = append(got, ev.Records...)
		return events.DynamoDBEventResponse{}, nil
	}
	p, err := dynamostream.NewPoller(ctx, db, dynamostream.NewLocalClient(emulators.DynamoDB(t)), table, handle,
		dynamostream.FileCheckpoints{Path: filepath.Join(t.TempDir(), "cp.json")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if ok, err := dynamo.New(db, table).FirstSeen(ctx, "abc", now, now.Add(5*time.Minute)); err != nil || !ok {
		t.Fatalf("FirstSeen: %v %v", ok, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		if n, _ := p.Poll(ctx); n == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(got) != 1 {
		t.Fatalf("stream delivered %d records, want the replay record's insert", len(got))
	}
	img := got[0].Change.NewImage
	if e := item.EntityOf(img); e != item.EntityReplay || e == item.EntityUser {
		t.Errorf("the replay record's entity is %q, want %q", e, item.EntityReplay)
	}
	if _, ok := img[schema.TTLAttribute]; !ok {
		t.Errorf("the replay record has no %s: DynamoDB would keep it forever", schema.TTLAttribute)
	}
}
