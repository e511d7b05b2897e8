package stream_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/stream"
	"github.com/opsos/onboarding/internal/user"
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

func TestEdge(t *testing.T) {
	rec := func(id, seq string) events.DynamoDBEventRecord {
		var r events.DynamoDBEventRecord
		r.EventID, r.Change.SequenceNumber = id, seq
		return r
	}
	broken := errors.New("bad image")
	// The records' event ids say what the decoder makes of them.
	decode := func(r events.DynamoDBEventRecord) (stream.Change, bool, error) {
		switch r.EventID {
		case "other":
			return stream.Change{}, false, nil
		case "unreadable":
			return stream.Change{}, true, &stream.UnreadableError{EventID: r.EventID, Sequence: r.Change.SequenceNumber, Err: broken}
		case "plain error":
			return stream.Change{}, true, broken
		}
		return stream.Change{New: &user.User{ID: r.EventID}, Sequence: r.Change.SequenceNumber}, true, nil
	}
	var got []stream.Change
	retry := func(seqs ...string) stream.Core {
		return func(_ context.Context, cs []stream.Change) []string { got = cs; return seqs }
	}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		rec("u1", "01"), rec("other", "02"), rec("unreadable", "03"), rec("u2", "04"), rec("plain error", "05"),
	}}

	resp, err := stream.Edge(decode, retry("03", "04"))(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	want := []events.DynamoDBBatchItemFailure{{ItemIdentifier: "03"}, {ItemIdentifier: "04"}}
	if !reflect.DeepEqual(resp.BatchItemFailures, want) {
		t.Errorf("failures %+v, want %+v", resp.BatchItemFailures, want)
	}
	var seqs []string
	for _, c := range got {
		seqs = append(seqs, c.Sequence)
	}
	if !slices.Equal(seqs, []string{"01", "03", "04", "05"}) {
		t.Fatalf("core got the changes %v, want 01 03 04 05: the record of no user passed over, the others in order", seqs)
	}
	if got[0].New.ID != "u1" || got[0].Unreadable != nil || got[2].New.ID != "u2" {
		t.Errorf("readable changes %+v %+v", got[0], got[2])
	}
	for _, c := range []stream.Change{got[1], got[3]} {
		if u := c.Unreadable; u == nil || c.Old != nil || c.New != nil || u.Sequence != c.Sequence || !errors.Is(u, broken) {
			t.Errorf("change %s: %+v, want unreadable, tied to its record, with the decoder's error", c.Sequence, c)
		}
	}
	if got[3].Unreadable.EventID != "plain error" {
		t.Errorf("a plain decoder error is not tied to its record's event id: %+v", got[3].Unreadable)
	}

	// Nothing to retry: no failures, as a handler with nothing to report
	// answers.
	resp, _ = stream.Edge(decode, retry())(context.Background(), ev)
	if resp.BatchItemFailures != nil {
		t.Errorf("failures %+v, want none", resp.BatchItemFailures)
	}
}
