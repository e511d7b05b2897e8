package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/item"
)

var _ release.Claims = (*Store)(nil)

// Claim implements release.Claims with one conditional put: the key is
// new, or its holder's claim ran out.
func (s *Store) Claim(ctx context.Context, k string, now time.Time, hold time.Duration) (release.ClaimState, error) {
	m, err := marshal(item.NewClaim(k, now, hold))
	if err != nil {
		return 0, err
	}
	cond := expression.AttributeNotExists(expression.Name("PK")).Or(
		expression.Name("state").Equal(expression.Value(item.ClaimInProgress)).
			And(expression.Name("heldUntil").LessThanEqual(expression.Value(now.UnixMilli()))))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return 0, fmt.Errorf("build claim condition: %w", err)
	}
	in := &dynamodb.PutItemInput{
		TableName: &s.table, Item: m, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	err = s.withRetry(ctx, func() error {
		_, err := s.db.PutItem(ctx, in)
		return err
	})
	if errors.Is(err, errConflicted) {
		// Another delivery kept writing the claim: it holds the work.
		return release.ClaimBusy, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		out, gerr := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(item.ClaimPK(k), item.ClaimSK), ConsistentRead: aws.Bool(true)})
		if gerr != nil {
			return 0, fmt.Errorf("read claim %s: %w", k, gerr)
		}
		var c item.Claim
		if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
			return 0, fmt.Errorf("decode claim %s: %w", k, err)
		}
		if c.State == item.ClaimCompleted {
			return release.ClaimDone, nil
		}
		return release.ClaimBusy, nil
	}
	if err != nil {
		return 0, fmt.Errorf("claim %s: %w", k, err)
	}
	return release.Claimed, nil
}

// Complete implements release.Claims.
func (s *Store) Complete(ctx context.Context, k string, now time.Time) error {
	upd := expression.Set(expression.Name("state"), expression.Value(item.ClaimCompleted))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(expression.AttributeExists(expression.Name("PK"))).Build()
	if err != nil {
		return fmt.Errorf("build claim update: %w", err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(item.ClaimPK(k), item.ClaimSK), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	err = s.withRetry(ctx, func() error {
		_, err := s.db.UpdateItem(ctx, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("complete claim %s: %w", k, err)
	}
	return nil
}

// Abandon implements release.Claims: it deletes the claim if it is still
// in progress.
func (s *Store) Abandon(ctx context.Context, k string) error {
	expr, err := expression.NewBuilder().WithCondition(expression.Name("state").Equal(expression.Value(item.ClaimInProgress))).Build()
	if err != nil {
		return fmt.Errorf("build abandon condition: %w", err)
	}
	in := &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(item.ClaimPK(k), item.ClaimSK), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	err = s.withRetry(ctx, func() error {
		_, err := s.db.DeleteItem(ctx, in)
		return err
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("abandon claim %s: %w", k, err)
	}
	return nil
}
