package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/store/cursor"
)

// The secret that signs pagination cursors lives in the table itself, as
// one item of its own kind:
//
//	CURSORKEY  CURSORKEY  entity "cursorKey", secret (binary, 32 bytes)
//
// so that every function of the deployment (and `opsos` against the same
// table) signs with the same key without a new AWS service, secret or IAM
// grant: the functions that list users already hold GetItem and PutItem
// on the table. The item has no "id", so it is in no index, and its entity
// is not "user", so the stream's event filter keeps it from the release
// worker (whose own decoding skips anything else too). Nothing returns or
// logs it.
const (
	cursorKeyPK     = "CURSORKEY"
	cursorKeySK     = "CURSORKEY"
	entityCursorKey = "cursorKey"
)

// IsCursorKey reports whether an item's partition key is the cursor key's,
// for readers of the table's stream, which carries the key's one INSERT:
// they drop it unread, as the embedded feed never has it.
func IsCursorKey(pk string) bool { return pk == cursorKeyPK }

// cursorKeys loads the table's cursor key once, on first use: New has no
// context and is called at every cold start, when paging may never come.
// A failed load is not remembered, so the next request tries again.
type cursorKeys struct {
	mu    sync.Mutex
	codec *cursor.Codec
}

// cursors returns the codec of the table's cursor key, creating the key
// if the table has none: a conditional put, so when two functions race
// the loser reads the winner's key.
func (s *Store) cursors(ctx context.Context) (cursor.Codec, error) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if s.keys.codec != nil {
		return *s.keys.codec, nil
	}
	key, err := s.readCursorKey(ctx)
	if err != nil {
		return cursor.Codec{}, err
	}
	if key == nil {
		fresh, err := cursor.NewKey()
		if err != nil {
			return cursor.Codec{}, err
		}
		in := &dynamodb.PutItemInput{
			TableName: &s.table,
			Item: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: cursorKeyPK}, "SK": &types.AttributeValueMemberS{Value: cursorKeySK},
				"entity": &types.AttributeValueMemberS{Value: entityCursorKey}, "secret": &types.AttributeValueMemberB{Value: fresh},
			},
			ConditionExpression: aws.String("attribute_not_exists(PK)"),
		}
		err = s.withRetry(ctx, func() error {
			_, err := s.db.PutItem(ctx, in)
			return err
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			key = fresh
		case errors.As(err, &ccf), errors.Is(err, errConflicted):
			// Another function is storing its key: read the winner's.
			if key, err = s.readCursorKey(ctx); err == nil && key == nil {
				err = errors.New("the key item vanished after a conditional put failed on it")
			}
			if err != nil {
				return cursor.Codec{}, err
			}
		default:
			return cursor.Codec{}, fmt.Errorf("store cursor key: %w", err)
		}
	}
	c, err := cursor.New(key)
	if err != nil {
		return cursor.Codec{}, err
	}
	s.keys.codec = &c
	return c, nil
}

// readCursorKey returns the table's cursor key, nil when it has none.
func (s *Store) readCursorKey(ctx context.Context) ([]byte, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(cursorKeyPK, cursorKeySK), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("secret"),
	})
	if err != nil {
		return nil, fmt.Errorf("read cursor key: %w", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	b, ok := out.Item["secret"].(*types.AttributeValueMemberB)
	if !ok {
		return nil, errors.New("read cursor key: the item holds no binary secret")
	}
	return b.Value, nil
}
