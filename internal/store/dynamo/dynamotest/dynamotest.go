// Package dynamotest gives tests a fresh table on DynamoDB Local, the one
// `make test` starts (the test is skipped without it, or fails under CI).
package dynamotest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/store/dynamo"
)

var tables atomic.Int64

// Table creates a table for one test, deleted when the test ends.
func Table(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	db := dynamo.NewLocalClient(emulators.DynamoDB(t))
	name := fmt.Sprintf("opsos-test-%d-%d", time.Now().UnixNano(), tables.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name}) })
	return db, name
}
