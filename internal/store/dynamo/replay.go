package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/store/schema"
)

// FirstSeen implements slackops.Replays with one conditional put: the
// key is new, or its record has expired (DynamoDB's TTL deletes expired
// items only eventually, within days). The item carries the table's TTL
// attribute, so it goes away by itself.
func (s *Store) FirstSeen(ctx context.Context, k string, now, expires time.Time) (bool, error) {
	m, err := marshal(item.NewReplay(k, expires))
	if err != nil {
		return false, err
	}
	cond := expression.AttributeNotExists(expression.Name(schema.PartitionKey)).Or(
		expression.Name(schema.TTLAttribute).LessThanEqual(expression.Value(now.Unix())))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build replay condition: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: m, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remember Slack request: %w", err)
	}
	return true, nil
}
