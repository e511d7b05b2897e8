// Package stream holds what every source of table changes shares: the
// handler they feed (the shape of Lambda's DynamoDB event source mapping),
// the rule for how far a partly failed batch got, and the edge that turns
// records into the changes of users a consumer decides from. It knows no
// table layout: the decoder comes from the package that does.
package stream

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Handler handles a batch of change records and reports the ones to retry,
// as a Lambda function with ReportBatchItemFailures does.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Handled returns the sequence number of the last record before the first
// reported failure (the last record when none failed; empty when the
// first failed) and whether any failed. As with Lambda, the batch is
// retried from the first failure, later successes included.
func Handled(recs []events.DynamoDBEventRecord, resp events.DynamoDBEventResponse) (last string, failed bool) {
	bad := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		bad[f.ItemIdentifier] = true
	}
	for _, r := range recs {
		if bad[r.Change.SequenceNumber] {
			return last, true
		}
		last = r.Change.SequenceNumber
	}
	// A failure naming no record of the batch fails it all.
	if len(bad) > 0 {
		return "", true
	}
	return last, false
}

// Pause is how long a change pump rests between polls: Idle when there
// was nothing new, and after consecutive failures twice as long each time,
// up to Max, as Lambda's event source mapping backs off a failing batch.
type Pause struct {
	Idle, Max time.Duration
	failures  int
}

// After returns the rest after a poll that failed with err (nil: success).
func (p *Pause) After(err error) time.Duration {
	if err == nil {
		p.failures = 0
		return p.Idle
	}
	p.failures++
	d := p.Idle
	for i := 1; i < p.failures && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}
