package dynamotest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/store/dynamo"
)

// Conflicts is a DynamoDB client that refuses writes the way AWS does when
// two transactions meet on one item — TransactionCanceledException with a
// TransactionConflict reason, TransactionConflictException on a single-item
// write — which DynamoDB Local never does. Writes it lets through, and all
// reads, go to the client it wraps.
type Conflicts struct {
	dynamo.API
	mu sync.Mutex
	// Conflict says whether a write conflicts, given how many times the
	// same request (the same input, as the store's retries resend it) was
	// tried before.
	Conflict func(tried int) bool

	tries    map[any]int
	injected int
	attempts int
}

// FirstAttempt conflicts the first attempt of every write.
func FirstAttempt(tried int) bool { return tried == 0 }

// Forever conflicts every attempt.
func Forever(int) bool { return true }

// FirstN conflicts the first n attempts of every write.
func FirstN(n int) func(int) bool { return func(tried int) bool { return tried < n } }

// NewConflicts wraps db.
func NewConflicts(db dynamo.API, conflict func(tried int) bool) *Conflicts {
	return &Conflicts{API: db, Conflict: conflict, tries: map[any]int{}}
}

// Set changes what conflicts from now on.
func (c *Conflicts) Set(conflict func(tried int) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Conflict = conflict
}

// Injected returns how many writes were refused.
func (c *Conflicts) Injected() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.injected
}

// Attempts returns how many writes were tried, refused or not.
func (c *Conflicts) Attempts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts
}

// refuse counts an attempt of in and says whether it conflicts. Keeping
// the input in the map keeps its address from being reused by another.
func (c *Conflicts) refuse(in any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	n := c.tries[in]
	c.tries[in] = n + 1
	if c.Conflict(n) {
		c.injected++
		return true
	}
	return false
}

func conflictException() error {
	return &types.TransactionConflictException{Message: aws.String("Transaction is ongoing for the item")}
}

// TransactWriteItems implements dynamo.API; a conflict names the first
// item, as AWS names the one that was held.
func (c *Conflicts) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.refuse(in) {
		reasons := make([]types.CancellationReason, len(in.TransactItems))
		for i := range reasons {
			reasons[i] = types.CancellationReason{Code: aws.String("None")}
		}
		reasons[0] = types.CancellationReason{Code: aws.String("TransactionConflict"), Message: aws.String("Transaction is ongoing for the item")}
		return nil, &types.TransactionCanceledException{
			Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]"),
			CancellationReasons: reasons,
		}
	}
	return c.API.TransactWriteItems(ctx, in, opts...)
}

// PutItem implements dynamo.API.
func (c *Conflicts) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if c.refuse(in) {
		return nil, conflictException()
	}
	return c.API.PutItem(ctx, in, opts...)
}

// UpdateItem implements dynamo.API.
func (c *Conflicts) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if c.refuse(in) {
		return nil, conflictException()
	}
	return c.API.UpdateItem(ctx, in, opts...)
}

// DeleteItem implements dynamo.API.
func (c *Conflicts) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if c.refuse(in) {
		return nil, conflictException()
	}
	return c.API.DeleteItem(ctx, in, opts...)
}

// NoSleep is a dynamo.Retry sleep that returns at once, unless ctx is done.
func NoSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// ConflictingStore returns a store on a fresh table of DynamoDB Local
// whose writes conflict as conflict says, retried without sleeping, and
// the wrapper that injects the conflicts.
func ConflictingStore(t testing.TB, conflict func(tried int) bool) (*dynamo.Store, *Conflicts) {
	t.Helper()
	db, name := Table(t)
	c := NewConflicts(db, conflict)
	return dynamo.New(c, name, dynamo.WithRetry(dynamo.Retry{Sleep: NoSleep})), c
}
