package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/store/schema"
)

// streamFilters returns the release mapping's filter patterns, read from
// the synthesised template: what Lambda will apply.
func streamFilters(t *testing.T) []map[string]any {
	t.Helper()
	m := one(t, "AWS::Lambda::EventSourceMapping")
	var out []map[string]any
	for _, f := range asList(get(m.props, "FilterCriteria.Filters")) {
		var p map[string]any
		if err := json.Unmarshal([]byte(get(f, "Pattern").(string)), &p); err != nil {
			t.Fatalf("filter pattern: %v", err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatal("the release function's event source mapping has no filter")
	}
	return out
}

// passes reports whether Lambda hands the record to the function: when
// any filter matches (filters are ORed).
func passes(t *testing.T, filters []map[string]any, record any) bool {
	for _, f := range filters {
		if matchObject(t, f, record) {
			return true
		}
	}
	return false
}

// matchObject applies Lambda's event filtering to an object: every key of
// the pattern must match. A nested pattern object needs an object in the
// record; an array is a list of allowed values or operators, any one of
// which may match.
func matchObject(t *testing.T, pattern map[string]any, v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k, p := range pattern {
		field, present := obj[k]
		switch p := p.(type) {
		case map[string]any:
			if !present || !matchObject(t, p, field) {
				return false
			}
		case []any:
			if !matchField(t, p, field, present) {
				return false
			}
		default:
			t.Fatalf("filter rule %s is %s: Lambda wants an object or an array", k, js(p))
		}
	}
	return true
}

// matchField matches one field against a rule's alternatives. An array in
// the record matches when any of its elements does.
func matchField(t *testing.T, alternatives []any, field any, present bool) bool {
	values := []any{field}
	if l, ok := field.([]any); ok {
		values = l
	}
	for _, alt := range alternatives {
		if op, ok := alt.(map[string]any); ok {
			if len(op) != 1 {
				t.Fatalf("filter operator %s: one operator per object", js(op))
			}
			if e, ok := op["exists"]; ok {
				// exists applies to leaves: an object is not one.
				_, isObj := field.(map[string]any)
				if e == (present && !isObj) {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		for _, v := range values {
			if matchValue(t, alt, v) {
				return true
			}
		}
	}
	return false
}

// matchValue matches one value against one alternative: an exact value or
// a content filter (prefix, suffix, equals-ignore-case, anything-but,
// numeric). An operator the test does not know fails it, so a pattern
// cannot pass unread.
func matchValue(t *testing.T, alt, v any) bool {
	op, ok := alt.(map[string]any)
	if !ok {
		return exactly(alt, v)
	}
	for name, arg := range op {
		s, isString := v.(string)
		switch name {
		case "prefix":
			if a, ok := arg.(map[string]any); ok && a["equals-ignore-case"] != nil {
				return isString && strings.HasPrefix(strings.ToLower(s), strings.ToLower(fmt.Sprint(a["equals-ignore-case"])))
			}
			return isString && strings.HasPrefix(s, fmt.Sprint(arg))
		case "suffix":
			return isString && strings.HasSuffix(s, fmt.Sprint(arg))
		case "equals-ignore-case":
			return isString && strings.EqualFold(s, fmt.Sprint(arg))
		case "anything-but":
			return anythingBut(t, arg, v)
		case "numeric":
			return numeric(t, arg, v)
		default:
			t.Fatalf("filter operator %q: the test does not know it; teach matchValue Lambda's meaning of it", name)
		}
	}
	return false
}

// anythingBut is the anything-but filter: none of a list of values, not
// one value, or no such prefix.
func anythingBut(t *testing.T, arg, v any) bool {
	s, isString := v.(string)
	switch a := arg.(type) {
	case []any:
		for _, x := range a {
			if exactly(x, v) {
				return false
			}
		}
		return true
	case map[string]any:
		if p, ok := a["prefix"]; ok {
			return isString && !strings.HasPrefix(s, fmt.Sprint(p))
		}
		t.Fatalf("anything-but %s: the test does not know it", js(a))
		return false
	default:
		return !exactly(a, v)
	}
}

// numeric is the numeric filter: a number within every one of the
// [operator, bound] pairs.
func numeric(t *testing.T, arg, v any) bool {
	n, isNum := v.(float64)
	conds := asList(arg)
	if !isNum || len(conds)%2 != 0 {
		return false
	}
	for i := 0; i < len(conds); i += 2 {
		bound, _ := conds[i+1].(float64)
		var ok bool
		switch conds[i] {
		case "=":
			ok = n == bound
		case "<":
			ok = n < bound
		case "<=":
			ok = n <= bound
		case ">":
			ok = n > bound
		case ">=":
			ok = n >= bound
		default:
			t.Fatalf("numeric operator %v: the test does not know it", conds[i])
		}
		if !ok {
			return false
		}
	}
	return true
}

// exactly is Lambda's exact match: same JSON type and value (null only
// matches a null that is there).
func exactly(a, b any) bool { return js(a) == js(b) }

func TestFilterSemantics(t *testing.T) {
	rec := func(event string, entity any) any {
		r := map[string]any{"eventName": event, "dynamodb": map[string]any{"Keys": map[string]any{"PK": map[string]any{"S": "X"}}}}
		if entity != nil {
			r["dynamodb"].(map[string]any)["NewImage"] = map[string]any{"entity": map[string]any{"S": entity}, "n": map[string]any{"N": "5"}}
		}
		var out any
		json.Unmarshal([]byte(js(r)), &out)
		return out
	}
	cases := []struct {
		pattern string
		record  any
		want    bool
	}{
		{`{"eventName":["INSERT","MODIFY"]}`, rec("MODIFY", nil), true},
		{`{"eventName":["INSERT","MODIFY"]}`, rec("REMOVE", nil), false},
		{`{"dynamodb":{"NewImage":{"entity":{"S":["user"]}}}}`, rec("INSERT", "user"), true},
		{`{"dynamodb":{"NewImage":{"entity":{"S":["user"]}}}}`, rec("INSERT", "audit"), false},
		{`{"dynamodb":{"NewImage":{"entity":{"S":["user"]}}}}`, rec("REMOVE", nil), false},
		{`{"dynamodb":{"NewImage":{"entity":{"S":[{"exists":true}]}}}}`, rec("INSERT", "audit"), true},
		{`{"dynamodb":{"NewImage":{"entity":{"S":[{"exists":false}]}}}}`, rec("INSERT", "audit"), false},
		{`{"dynamodb":{"NewImage":[{"exists":false}]}}`, rec("REMOVE", nil), true},
		{`{"dynamodb":{"NewImage":{"entity":{"S":[{"prefix":"us"}]}}}}`, rec("INSERT", "user"), true},
		{`{"dynamodb":{"NewImage":{"entity":{"S":[{"anything-but":["audit","claim"]}]}}}}`, rec("INSERT", "claim"), false},
		{`{"dynamodb":{"NewImage":{"entity":{"S":[{"anything-but":"audit"}]}}}}`, rec("INSERT", "user"), true},
		{`{"dynamodb":{"NewImage":{"entity":{"S":[{"anything-but":{"prefix":"us"}}]}}}}`, rec("INSERT", "user"), false},
		{`{"dynamodb":{"NewImage":{"entity":{"S":[{"equals-ignore-case":"USER"}]}}}}`, rec("INSERT", "user"), true},
		// DynamoDB numbers reach the filter as strings: numeric never matches them.
		{`{"dynamodb":{"NewImage":{"n":{"N":[{"numeric":[">",1]}]}}}}`, rec("INSERT", "user"), false},
		{`{"eventName":[null]}`, rec("INSERT", nil), false},
	}
	for _, c := range cases {
		var p map[string]any
		if err := json.Unmarshal([]byte(c.pattern), &p); err != nil {
			t.Fatal(err)
		}
		if got := passes(t, []map[string]any{p}, c.record); got != c.want {
			t.Errorf("%s on %s = %v, want %v", c.pattern, js(c.record), got, c.want)
		}
	}
}

// kindOf names the item a record is about from its keys, as the table's
// layout (store/item) lays them out, not from its entity attribute,
// which is what the filter reads.
func kindOf(pk, sk string) string {
	switch {
	case dynamo.IsCursorKey(pk):
		return "cursor key"
	case strings.HasPrefix(pk, item.UserPK("")) && sk == item.ProfileSK:
		return "user"
	case strings.HasPrefix(pk, item.UserPK("")) && strings.HasPrefix(sk, strings.TrimSuffix(item.AuditSK(0), "000000000000")):
		return "audit entry"
	case strings.HasPrefix(pk, item.EmailPK("")):
		return "email guard"
	case strings.HasPrefix(pk, item.IdempotencyPK("")):
		return "idempotency key"
	case strings.HasPrefix(pk, item.ClaimPK("invite:")):
		return "invitation claim"
	case strings.HasPrefix(pk, item.ClaimPK("")):
		return "notice claim"
	case strings.HasPrefix(pk, item.ReplayPK("")) && sk == item.ReplaySK:
		return "Slack request remembered"
	case pk == item.RolesPK && strings.HasPrefix(sk, item.RoleSK("")):
		return "role"
	case pk == item.RolesPK && item.IsRolesVersion(sk):
		return "roles version"
	case strings.HasPrefix(pk, item.RoleAuditPK("")) && strings.HasPrefix(sk, strings.TrimSuffix(item.AuditSK(0), "000000000000")):
		return "role audit entry"
	case strings.HasPrefix(pk, item.RoleNamePK("")) && sk == item.RoleNameSK:
		return "role name guard"
	}
	return "unknown " + pk + " " + sk
}

// wire renders an attribute value as DynamoDB's JSON, {"S":"user"}, as
// Lambda's records carry it.
func wire(v streamtypes.AttributeValue) any {
	switch x := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return map[string]any{"S": x.Value}
	case *streamtypes.AttributeValueMemberN:
		return map[string]any{"N": x.Value}
	case *streamtypes.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(x.Value)}
	case *streamtypes.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": x.Value}
	case *streamtypes.AttributeValueMemberNULL:
		return map[string]any{"NULL": x.Value}
	case *streamtypes.AttributeValueMemberSS:
		return map[string]any{"SS": toAny(x.Value)}
	case *streamtypes.AttributeValueMemberNS:
		return map[string]any{"NS": toAny(x.Value)}
	case *streamtypes.AttributeValueMemberBS:
		var l []any
		for _, b := range x.Value {
			l = append(l, base64.StdEncoding.EncodeToString(b))
		}
		return map[string]any{"BS": l}
	case *streamtypes.AttributeValueMemberL:
		l := []any{}
		for _, e := range x.Value {
			l = append(l, wire(e))
		}
		return map[string]any{"L": l}
	case *streamtypes.AttributeValueMemberM:
		return map[string]any{"M": wireImage(x.Value)}
	}
	panic(fmt.Sprintf("attribute value %T", v))
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func wireImage(m map[string]streamtypes.AttributeValue) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = wire(v)
	}
	return out
}

// asLambda is a stream record as Lambda hands it to the filter and the
// function.
func asLambda(r streamtypes.Record, arn string) map[string]any {
	d := map[string]any{"Keys": wireImage(r.Dynamodb.Keys), "SequenceNumber": aws.ToString(r.Dynamodb.SequenceNumber),
		"SizeBytes": aws.ToInt64(r.Dynamodb.SizeBytes), "StreamViewType": string(r.Dynamodb.StreamViewType)}
	if r.Dynamodb.ApproximateCreationDateTime != nil {
		d["ApproximateCreationDateTime"] = r.Dynamodb.ApproximateCreationDateTime.Unix()
	}
	if r.Dynamodb.NewImage != nil {
		d["NewImage"] = wireImage(r.Dynamodb.NewImage)
	}
	if r.Dynamodb.OldImage != nil {
		d["OldImage"] = wireImage(r.Dynamodb.OldImage)
	}
	var out map[string]any
	// Through JSON, so numbers are float64 as in any decoded event.
	json.Unmarshal([]byte(js(map[string]any{"eventID": aws.ToString(r.EventID), "eventName": string(r.EventName),
		"eventVersion": aws.ToString(r.EventVersion), "eventSource": aws.ToString(r.EventSource), "awsRegion": aws.ToString(r.AwsRegion),
		"eventSourceARN": arn, "dynamodb": d})), &out)
	return out
}

// streamRecords reads every record the table's stream holds, shard by
// shard from the trim horizon: all of them, the cursor key's too, which
// local mode's poller drops before any handler.
func streamRecords(t *testing.T, endpoint, table string) ([]streamtypes.Record, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := dynamo.NewLocalClient(endpoint).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(d.Table.LatestStreamArn)
	streams := dynamostream.NewLocalClient(endpoint)
	var recs []streamtypes.Record
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: &arn}
	for {
		ds, err := streams.DescribeStream(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range ds.StreamDescription.Shards {
			it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn: &arn, ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			for iter := it.ShardIterator; iter != nil; {
				out, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, out.Records...)
				if len(out.Records) == 0 {
					break // the open end of the shard
				}
				iter = out.NextShardIterator
			}
		}
		if in.ExclusiveStartShardId = ds.StreamDescription.LastEvaluatedShardId; in.ExclusiveStartShardId == nil {
			return recs, arn
		}
	}
}

// checkStreamFilter holds the template's filter against every record the
// table's stream carried, as Lambda presents it: user changes pass,
// nothing else does.
func checkStreamFilter(t *testing.T, endpoint, table string) {
	filters := streamFilters(t)
	recs, arn := streamRecords(t, endpoint, table)
	seen := map[string]int{}
	for _, r := range recs {
		kind := kindOf(attrString(r.Dynamodb.Keys[schema.PartitionKey]), attrString(r.Dynamodb.Keys[schema.SortKey]))
		event := string(r.EventName)
		seen[kind+" "+event]++
		rec := asLambda(r, arn)
		want := kind == "user" && (event == "INSERT" || event == "MODIFY")
		if got := passes(t, filters, rec); got != want {
			t.Errorf("%s %s: the filter lets it through = %v, want %v: %s", kind, event, got, want, js(rec))
		}
	}
	var lines []string
	for k, n := range seen {
		lines = append(lines, fmt.Sprintf("  %-28s %3d", k, n))
	}
	sort.Strings(lines)
	t.Logf("%d stream records by kind, against the filter %s:\n%s", len(recs), js(filters), strings.Join(lines, "\n"))
	for _, k := range []string{"user INSERT", "user MODIFY", "audit entry INSERT", "email guard INSERT", "email guard REMOVE",
		"idempotency key INSERT", "invitation claim INSERT", "invitation claim MODIFY", "invitation claim REMOVE",
		"notice claim INSERT", "cursor key INSERT", "Slack request remembered INSERT",
		"role INSERT", "role MODIFY", "role REMOVE", "role audit entry INSERT", "role name guard INSERT", "role name guard REMOVE",
		"roles version INSERT", "roles version MODIFY"} {
		if seen[k] == 0 {
			t.Errorf("no %s record on the stream: the run no longer makes that change, so the filter is not checked against it", k)
		}
	}
	for k := range seen {
		if strings.HasPrefix(k, "unknown") {
			t.Errorf("a record of an item the test does not know: %s; name its kind in kindOf", k)
		}
	}
}

// driveRoles checks that the default roles were seeded (by the
// bootstrap, as bootstrap-admin does), then creates, renames and deletes
// a custom one, so that every role item is inserted, changed and removed
// on the stream. The release worker then reads those records and must
// pass over them.
func (r *rig) driveRoles() {
	t, ctx := r.t, r.ctx
	store := dynamo.New(dynamo.NewLocalClient(r.ddb), r.table)
	now := time.Now().UTC()
	if roles, _, err := store.ListRoles(ctx); err != nil || len(roles) < len(access.DefaultCatalogue().Roles()) {
		t.Fatalf("seeded roles: %d %v", len(roles), err)
	}
	night := access.Role{ID: "night-supervisor", Name: "Night Supervisor", Permissions: []string{access.PlannerView},
		Version: 1, CreatedAt: now, UpdatedAt: now, UpdatedBy: "admin@example.com"}
	audit := func(r access.Role, action string) onboarding.RoleAuditEntry {
		return onboarding.RoleAuditEntry{RoleID: r.ID, Audit: onboarding.Audit{Version: r.Version, At: now, ActorID: "admin", ActorEmail: "admin@example.com",
			Source: onboarding.SourceAPI, Action: action}}
	}
	if err := store.CreateRole(ctx, night, audit(night, "create")); err != nil {
		t.Fatal(err)
	}
	evening := night
	evening.Name, evening.Version = "Evening Supervisor", 2
	if err := store.UpdateRole(ctx, evening, 1, audit(evening, "edit")); err != nil {
		t.Fatal(err)
	}
	gone := evening
	gone.Version = 3
	if err := store.DeleteRole(ctx, evening, audit(gone, "delete")); err != nil {
		t.Fatal(err)
	}
	r.pump()
}

func attrString(v streamtypes.AttributeValue) string {
	if s, ok := v.(*streamtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
