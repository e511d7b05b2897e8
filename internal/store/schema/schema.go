// Package schema names the DynamoDB table's keys, indexes and TTL
// attribute. The store adapter (which creates the table for local mode and
// tests) and the CDK stack (which owns it in AWS) both build the table from
// it, so the two cannot drift apart. It imports nothing.
package schema

// The primary key and the TTL attribute.
const (
	PartitionKey = "PK"
	SortKey      = "SK"
	// TTLAttribute holds epoch seconds after which DynamoDB deletes the
	// item (idempotency records, release claims).
	TTLAttribute = "expiresAt"
)

// Index names.
const (
	IndexByEntity = "byEntity"
	IndexByStatus = "byStatus"
	// IndexBySlackUser holds only the users linked to a Slack user.
	IndexBySlackUser = "bySlackUser"
)

// Index is a global secondary index; all attributes are strings and every
// index projects all attributes.
type Index struct {
	Name, Hash, Range string
}

// Indexes are the table's global secondary indexes, each ranged by id so
// that lists come in id order.
func Indexes() []Index {
	return []Index{
		{IndexByEntity, "entity", "id"},
		{IndexByStatus, "status", "id"},
		{IndexBySlackUser, "slackUserId", "id"},
	}
}
