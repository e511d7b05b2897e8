package dynamo

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/wait"
)

// API is what the store calls of DynamoDB: *dynamodb.Client in
// production, a wrapper that injects faults in tests.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	// Scan is local mode's alone: it takes a killed run's claims over at
	// start (AbandonInProgress). No Lambda function scans.
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Retry is how the store retries a write that DynamoDB cancelled because
// another transaction held one of its items at the same moment (a
// TransactionConflict reason, or TransactionConflictException on a
// single-item write). The SDK does not retry these, and DynamoDB Local
// never raises them; in AWS two managers releasing one user, or a
// manager's edit and the worker's status write, do.
//
// Each retry waits a random time in the upper half of Base, 2×Base,
// 4×Base, …: jittered, so that the two writers do not meet again, and
// bounded below, so that the one holding the item has time to finish.
// The defaults (6 attempts from 25 ms) give up within 0.8 s.
type Retry struct {
	// Attempts is how many times a write is tried in all.
	Attempts int
	// Base is the longest wait before the first retry.
	Base time.Duration
	// Sleep waits d, or until ctx is done and then returns its error.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a random duration in [0, d).
	Jitter func(d time.Duration) time.Duration
}

// DefaultRetry is the retry of stores made without WithRetry.
var DefaultRetry = Retry{Attempts: 6, Base: 25 * time.Millisecond, Sleep: wait.Sleep, Jitter: jitter}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// Option changes how New builds the store.
type Option func(*Store)

// WithRetry sets how the store retries conflicting writes; zero fields
// keep DefaultRetry's.
func WithRetry(r Retry) Option {
	return func(s *Store) {
		if r.Attempts > 0 {
			s.retry.Attempts = r.Attempts
		}
		if r.Base > 0 {
			s.retry.Base = r.Base
		}
		if r.Sleep != nil {
			s.retry.Sleep = r.Sleep
		}
		if r.Jitter != nil {
			s.retry.Jitter = r.Jitter
		}
	}
}

// errConflicted: every attempt of a write met a concurrent transaction on
// one of its items. Callers turn it into the domain's answer.
var errConflicted = errors.New("the write kept conflicting with concurrent transactions on the same items")

// conflicted reports whether err is DynamoDB refusing a write because a
// concurrent transaction held one of its items, and nothing else: a
// transaction that also failed a condition is answered by the condition.
func conflicted(err error) bool {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		found := false
		for _, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "TransactionConflict":
				found = true
			case "", "None":
			default:
				return false
			}
		}
		return found
	}
	var tc *types.TransactionConflictException
	return errors.As(err, &tc)
}

// withRetry calls write until it succeeds, fails other than by a
// conflict, or has been tried Retry.Attempts times; it then returns
// errConflicted wrapping the last conflict. It stops early, with the
// context's error, when ctx is done.
func (s *Store) withRetry(ctx context.Context, write func() error) error {
	r := s.retry
	var err error
	for attempt := range r.Attempts {
		if attempt > 0 {
			d := r.Base << (attempt - 1)
			if serr := r.Sleep(ctx, d/2+r.Jitter(d-d/2)); serr != nil {
				return errors.Join(serr, err)
			}
		}
		if err = write(); !conflicted(err) {
			return err
		}
	}
	return errors.Join(errConflicted, err)
}
