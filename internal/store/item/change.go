package item

import (
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/stream"
	"github.com/opsos/onboarding/internal/user"
)

// DecodeChange is the stream's decoder (a stream.Decoder): it reads a
// record of the table's stream as the change of the user it carries. A
// record of any other item (claim, audit entry, email guard, idempotency
// record, cursor key, Slack replay record, role, role audit entry, role
// name guard, the roles' version) is passed over, ok false; so
// the stream needs no filter to be safe to consume. A user record whose
// image cannot be read is a *stream.UnreadableError naming the record.
func DecodeChange(r events.DynamoDBEventRecord) (c stream.Change, ok bool, err error) {
	if EntityOf(r.Change.NewImage) != EntityUser && EntityOf(r.Change.OldImage) != EntityUser {
		return stream.Change{}, false, nil
	}
	c.Sequence = r.Change.SequenceNumber
	unreadable := func(which string, err error) (stream.Change, bool, error) {
		return stream.Change{Sequence: c.Sequence}, true,
			&stream.UnreadableError{EventID: r.EventID, Sequence: c.Sequence, UserID: userOfKeys(r.Change.Keys), Err: fmt.Errorf("%s image: %w", which, err)}
	}
	if c.Old, err = userOf(r.Change.OldImage); err != nil {
		return unreadable("old", err)
	}
	if c.New, err = userOf(r.Change.NewImage); err != nil {
		return unreadable("new", err)
	}
	return c, true, nil
}

// userOfKeys returns the user id a record's keys name, "" when they name
// no user.
func userOfKeys(keys map[string]events.DynamoDBAttributeValue) string {
	pk, ok := keys["PK"]
	if !ok || pk.DataType() != events.DataTypeString {
		return ""
	}
	id, ok := strings.CutPrefix(pk.String(), userPrefix)
	if !ok {
		return ""
	}
	return id
}

// userOf decodes a user's image; nil when there is none.
func userOf(img map[string]events.DynamoDBAttributeValue) (*user.User, error) {
	if img == nil {
		return nil, nil
	}
	var it User
	if err := FromImage(img, &it); err != nil {
		return nil, err
	}
	u, err := it.Domain()
	return &u, err
}

var _ stream.Decoder = DecodeChange
