package dynamo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/storetest"
)

func endpoint(t testing.TB) string { return emulators.DynamoDB(t) }

var tables atomic.Int64

// newTable creates a fresh table for one test on DynamoDB Local.
func newTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	db := dynamo.NewLocalClient(endpoint(t))
	name := fmt.Sprintf("opsos-test-%d-%d", time.Now().UnixNano(), tables.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name}) })
	return db, name
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) onboarding.Store {
		db, name := newTable(t)
		return dynamo.New(db, name)
	})
}

func TestCreateTableIsIdempotent(t *testing.T) {
	db, name := newTable(t)
	if err := dynamo.CreateTable(context.Background(), db, name); err != nil {
		t.Errorf("second CreateTable: %v", err)
	}
}

func TestClaims(t *testing.T) {
	storetest.RunClaims(t, func(t *testing.T) release.Claims {
		db, name := newTable(t)
		return dynamo.New(db, name)
	})
}
