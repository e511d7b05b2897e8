package stream

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/user"
)

// Change is one change of a user, read from a record of the table's
// stream: what a consumer decides from, without knowing how the table
// stores users.
type Change struct {
	// Old is the user before the change; nil when the change created it.
	Old *user.User
	// New is the user after the change; nil when the change removed it.
	New *user.User
	// Sequence is the record's sequence number: what a consumer names to
	// have the record retried.
	Sequence string
	// Unreadable is set, and Old and New are nil, when the record is of a
	// user but could not be read: the consumer fails the record, so that
	// it stays in the stream instead of being lost.
	Unreadable *UnreadableError
}

// UnreadableError is a record of a user whose images could not be read.
type UnreadableError struct {
	EventID, Sequence string
	// UserID is the user the record's keys name, "" when they name none,
	// for the log line that reports the record.
	UserID string
	Err    error
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("change record %s: %v", e.Sequence, e.Err)
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// Decoder reads a stream record as the change of a user it carries; ok
// is false for a record of anything else, which consumers pass over. A
// user record it cannot read is an *UnreadableError.
type Decoder func(r events.DynamoDBEventRecord) (c Change, ok bool, err error)

// Core handles a batch of changes in order and returns the sequence
// numbers of the changes to retry.
type Core func(ctx context.Context, changes []Change) (retry []string)

// Edge makes the Handler that decodes a batch with decode and hands the
// changes to core, in the order of their records; the records core names
// are reported as batch item failures (ReportBatchItemFailures). A record
// decode cannot read goes to core in its place, as an Unreadable change.
// The batch itself never fails: a failure of the whole batch would replay
// the records that were handled.
func Edge(decode Decoder, core Core) Handler {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		changes := make([]Change, 0, len(ev.Records))
		for _, r := range ev.Records {
			c, ok, err := decode(r)
			if err != nil {
				var bad *UnreadableError
				if !errors.As(err, &bad) {
					bad = &UnreadableError{EventID: r.EventID, Sequence: r.Change.SequenceNumber, Err: err}
				}
				c, ok = Change{Sequence: r.Change.SequenceNumber, Unreadable: bad}, true
			}
			if ok {
				changes = append(changes, c)
			}
		}
		var resp events.DynamoDBEventResponse
		for _, seq := range core(ctx, changes) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
		}
		return resp, nil
	}
}
