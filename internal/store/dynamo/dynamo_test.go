package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamotest"
	"github.com/opsos/onboarding/internal/store/storetest"
)

func endpoint(t testing.TB) string { return emulators.DynamoDB(t) }

// newTable creates a fresh table for one test on DynamoDB Local.
func newTable(t testing.TB) (*dynamodb.Client, string) { return dynamotest.Table(t) }

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

// TestCreateTableAddsMissingIndexes starts from a table made before the
// bySlackUser index existed, holding a linked user already: CreateTable
// adds the index, and the index finds the user.
func TestCreateTableAddsMissingIndexes(t *testing.T) {
	ctx := context.Background()
	db := dynamo.NewLocalClient(endpoint(t))
	name := fmt.Sprintf("opsos-test-old-%d", time.Now().UnixNano())
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}, {AttributeName: aws.String(rng), KeyType: types.KeyTypeRange}}
	}
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str("PK"), str("SK"), str("entity"), str("status"), str("id")},
		KeySchema:            keys("PK", "SK"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String(dynamo.IndexByEntity), KeySchema: keys("entity", "id"), Projection: all},
			{IndexName: aws.String(dynamo.IndexByStatus), KeySchema: keys("status", "id"), Projection: all},
		},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name}) })
	store := dynamo.New(db, name)
	u := storetest.User(1, "ann@example.com")
	u.SlackUserID = "U0ANN"
	if err := store.CreateUser(ctx, u, storetest.Audit(u, "create"), nil); err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateTable(ctx, db, name); err != nil {
		t.Fatalf("CreateTable on a table without %s: %v", dynamo.IndexBySlackUser, err)
	}
	p, err := store.ListUsers(ctx, onboarding.ListQuery{SlackUserID: "U0ANN"})
	if err != nil || len(p.Users) != 1 || p.Users[0].ID != u.ID {
		t.Errorf("list by Slack user on the upgraded table: %+v %v", p.Users, err)
	}
}

func TestTakeOver(t *testing.T) {
	storetest.RunTakeOver(t, func(t *testing.T) storetest.TakeOver {
		db, name := newTable(t)
		return dynamo.New(db, name)
	})
}

func TestRoles(t *testing.T) {
	storetest.RunRoles(t, func(t *testing.T) onboarding.RoleStore {
		db, name := newTable(t)
		return dynamo.New(db, name)
	})
}

func TestClaims(t *testing.T) {
	storetest.RunClaims(t, func(t *testing.T) release.Claims {
		db, name := newTable(t)
		return dynamo.New(db, name)
	})
}
