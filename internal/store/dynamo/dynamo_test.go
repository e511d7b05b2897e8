package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamotest"
	"github.com/opsos/onboarding/internal/store/item"
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

// A role stored under a key of its name that access.RoleNameKey no longer
// makes (as a change to the key's normalisation would leave older roles)
// is still updated and deleted, with the guard it was stored with.
func TestRoleStoredUnderAnOlderNameKey(t *testing.T) {
	ctx := context.Background()
	db, name := newTable(t)
	s := dynamo.New(db, name)
	older := func(r access.Role, key string) {
		t.Helper()
		for _, in := range []*dynamodb.TransactWriteItemsInput{{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: &name, Key: itemKey(item.RolesPK, item.RoleSK(r.ID)),
				UpdateExpression:          aws.String("SET nameKey = :k"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: key}}}},
			{Delete: &types.Delete{TableName: &name, Key: itemKey(item.RoleNamePK(r.Name), item.RoleNameSK)}},
			{Put: &types.Put{TableName: &name, Item: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: item.RoleNameKeyPK(key)}, "SK": &types.AttributeValueMemberS{Value: item.RoleNameSK},
				"entity": &types.AttributeValueMemberS{Value: item.EntityRoleName}, "roleId": &types.AttributeValueMemberS{Value: r.ID}}}},
		}}} {
			if _, err := db.TransactWriteItems(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	night, day := storetest.Role(1, "Night Shift"), storetest.Role(2, "Day Shift")
	for _, r := range []access.Role{night, day} {
		if err := s.CreateRole(ctx, r, storetest.RoleAudit(r, "create")); err != nil {
			t.Fatal(err)
		}
	}
	older(night, "Night Shift")
	older(day, "Day Shift")

	gone := night
	gone.Version++
	if err := s.DeleteRole(ctx, night, storetest.RoleAudit(gone, "delete")); err != nil {
		t.Fatalf("delete a role stored under an older name key: %v", err)
	}
	renamed := day
	renamed.Name, renamed.Version = "Early Shift", 2
	if err := s.UpdateRole(ctx, renamed, 1, storetest.RoleAudit(renamed, "edit")); err != nil {
		t.Fatalf("rename a role stored under an older name key: %v", err)
	}
	// The older guards went with them: their names are free again.
	for i, n := range []string{"Night Shift", "Day Shift"} {
		r := storetest.Role(3+i, n)
		if err := s.CreateRole(ctx, r, storetest.RoleAudit(r, "create")); err != nil {
			t.Errorf("create %q after its older guard's role was deleted or renamed: %v", n, err)
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &name, Key: itemKey(item.RoleNameKeyPK(n), item.RoleNameSK), ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item != nil {
			t.Errorf("the older guard of %q is left: %v %v", n, out.Item, err)
		}
	}
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}
}
