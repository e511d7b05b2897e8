// Package stream holds what every source of table changes shares: the
// handler they feed (the shape of Lambda's DynamoDB event source mapping)
// and the rule for how far a partly failed batch got.
package stream

import (
	"context"

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
