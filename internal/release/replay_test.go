package release_test

import (
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/store/item"
)

// The Slack handler's replay records share the table, so its stream: the
// worker must pass over their insertion and their expiry (a TTL REMOVE)
// without acting or failing.
func TestReplayRecordsAreIgnored(t *testing.T) {
	w := newWorld(t)
	img, err := item.Image(item.NewReplay("0123abcd", w.now.Add(5*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		{EventID: "1", EventName: "INSERT", Change: events.DynamoDBStreamRecord{Keys: item.Keys(img), NewImage: img, SequenceNumber: "1"}},
		{EventID: "2", EventName: "REMOVE", Change: events.DynamoDBStreamRecord{Keys: item.Keys(img), OldImage: img, SequenceNumber: "2"}},
	}}
	resp, err := edge(w.worker)(w.ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("replay records: %+v %v, want handled without failures", resp, err)
	}
	if len(w.identity.calls) != 0 || len(w.mail.sent) != 0 || len(w.notes.notices) != 0 {
		t.Errorf("replay records made the worker act: identity %v, %d emails, %d notices", w.identity.calls, len(w.mail.sent), len(w.notes.notices))
	}
}
