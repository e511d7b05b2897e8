package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/store/schema"
)

// CreateTable creates the table with its indexes, stream and TTL unless it
// exists, and waits until it is active. A table made by an earlier version
// gets the indexes it lacks. In AWS the CDK stack owns the table; this is
// for local mode and tests.
func CreateTable(ctx context.Context, db *dynamodb.Client, table string) error {
	s := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	attrs := []types.AttributeDefinition{s(schema.PartitionKey), s(schema.SortKey)}
	seen := map[string]bool{}
	for _, ix := range schema.Indexes() {
		for _, a := range []string{ix.Hash, ix.Range} {
			if !seen[a] {
				seen[a] = true
				attrs = append(attrs, s(a))
			}
		}
	}
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:              aws.String(table),
		BillingMode:            types.BillingModePayPerRequest,
		AttributeDefinitions:   attrs,
		KeySchema:              keys(schema.PartitionKey, schema.SortKey),
		GlobalSecondaryIndexes: indexes(),
		StreamSpecification:    &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	if errors.As(err, &inUse) {
		return addMissingIndexes(ctx, db, table, attrs)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(schema.TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", table, err)
	}
	return nil
}

func keys(hash, rng string) []types.KeySchemaElement {
	return []types.KeySchemaElement{
		{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
	}
}

// indexes are the table's global secondary indexes (see the package
// comment), each ranged by id so that lists come in id order.
func indexes() []types.GlobalSecondaryIndex {
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	var out []types.GlobalSecondaryIndex
	for _, ix := range schema.Indexes() {
		out = append(out, types.GlobalSecondaryIndex{IndexName: aws.String(ix.Name), KeySchema: keys(ix.Hash, ix.Range), Projection: all})
	}
	return out
}

// addMissingIndexes creates, one at a time as DynamoDB requires, the
// indexes an existing table lacks, and waits until each is active.
func addMissingIndexes(ctx context.Context, db *dynamodb.Client, table string, attrs []types.AttributeDefinition) error {
	for _, gsi := range indexes() {
		status, err := indexStatus(ctx, db, table, *gsi.IndexName)
		if err != nil {
			return err
		}
		if status == "" {
			_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
				TableName: aws.String(table), AttributeDefinitions: attrs,
				GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
					IndexName: gsi.IndexName, KeySchema: gsi.KeySchema, Projection: gsi.Projection,
				}}},
			})
			if err != nil {
				return fmt.Errorf("add index %s to table %s: %w", *gsi.IndexName, table, err)
			}
		}
		if err := waitForIndex(ctx, db, table, *gsi.IndexName); err != nil {
			return err
		}
	}
	return nil
}

// indexStatus returns the status of the table's index name, "" when the
// table has no such index.
func indexStatus(ctx context.Context, db *dynamodb.Client, table, name string) (types.IndexStatus, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("describe table %s: %w", table, err)
	}
	for _, gsi := range out.Table.GlobalSecondaryIndexes {
		if aws.ToString(gsi.IndexName) == name {
			return gsi.IndexStatus, nil
		}
	}
	return "", nil
}

// waitForIndex polls until the index is active: DynamoDB builds a new
// index from the existing items before it answers queries.
func waitForIndex(ctx context.Context, db *dynamodb.Client, table, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		status, err := indexStatus(ctx, db, table, name)
		if err != nil {
			return err
		}
		if status == types.IndexStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for index %s of table %s (status %q): %w", name, table, status, ctx.Err())
		case <-tick.C:
		}
	}
}
