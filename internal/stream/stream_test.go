package stream_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/stream"
)

func TestHandled(t *testing.T) {
	recs := make([]events.DynamoDBEventRecord, 3)
	for i, seq := range []string{"01", "02", "03"} {
		recs[i].Change.SequenceNumber = seq
	}
	fail := func(ids ...string) events.DynamoDBEventResponse {
		var r events.DynamoDBEventResponse
		for _, id := range ids {
			r.BatchItemFailures = append(r.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
		}
		return r
	}
	tests := []struct {
		name   string
		resp   events.DynamoDBEventResponse
		last   string
		failed bool
	}{
		{"all good", fail(), "03", false},
		{"middle fails", fail("02"), "01", true},
		{"first of two failures counts", fail("03", "02"), "01", true},
		{"first fails", fail("01"), "", true},
		{"unknown id fails the batch", fail("99"), "", true},
	}
	for _, tt := range tests {
		if last, failed := stream.Handled(recs, tt.resp); last != tt.last || failed != tt.failed {
			t.Errorf("%s: got %q %v, want %q %v", tt.name, last, failed, tt.last, tt.failed)
		}
	}
}
