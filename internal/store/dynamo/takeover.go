package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/store/item"
)

// AbandonInProgress gives up every claim still in progress and returns
// how many. Local mode calls it when it starts on DynamoDB Local: it is
// the only worker on its data, so a claim in progress is its killed
// predecessor's, and the work is retried at once instead of after the
// claim's hold. It scans the table: fine for local mode's tables, never
// called in AWS.
func (s *Store) AbandonInProgress(ctx context.Context) (int, error) {
	filter := expression.Name("entity").Equal(expression.Value(item.EntityClaim)).
		And(expression.Name("state").Equal(expression.Value(item.ClaimInProgress)))
	expr, err := expression.NewBuilder().WithFilter(filter).WithProjection(expression.NamesList(expression.Name("PK"))).Build()
	if err != nil {
		return 0, fmt.Errorf("build claim scan: %w", err)
	}
	pages := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName: &s.table, FilterExpression: expr.Filter(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true),
	})
	n := 0
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("find claims in progress: %w", err)
		}
		for _, it := range out.Items {
			pk, _ := it["PK"].(*types.AttributeValueMemberS)
			if pk == nil {
				continue
			}
			k, ok := item.ClaimKey(pk.Value)
			if !ok {
				continue
			}
			if err := s.Abandon(ctx, k); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
