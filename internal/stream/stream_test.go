package stream_test

import (
	"errors"
	"testing"
	"time"

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

func TestPauseBacksOff(t *testing.T) {
	p := stream.Pause{Idle: 100 * time.Millisecond, Max: time.Second}
	fail := errors.New("throttled")
	var got []time.Duration
	for _, err := range []error{nil, fail, fail, fail, fail, fail, nil, fail} {
		got = append(got, p.After(err))
	}
	want := []time.Duration{100, 100, 200, 400, 800, 1000, 100, 100}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("pauses %v, want %v ms", got, want)
		}
	}
}
