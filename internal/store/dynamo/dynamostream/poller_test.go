package dynamostream_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamotest"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func endpoint(t testing.TB) string { return emulators.DynamoDB(t) }

// newTable creates a fresh table for one test on DynamoDB Local.
func newTable(t testing.TB) (*dynamodb.Client, string) { return dynamotest.Table(t) }

// collector is a stream handler that keeps what it is given and fails the
// records it is told to, once each.
type collector struct {
	records []events.DynamoDBEventRecord
	failOn  map[string]bool // by EventName+key, failed once
}

func (c *collector) handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for _, r := range ev.Records {
		c.records = append(c.records, r)
		k := r.EventName + " " + r.Change.Keys["PK"].String() + " " + r.Change.Keys["SK"].String()
		if c.failOn[k] {
			delete(c.failOn, k)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
		}
	}
	return resp, nil
}

// drain polls until the handler has seen want records, within a deadline.
func drain(t *testing.T, p *dynamostream.Poller, c *collector, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(c.records) < want {
		if time.Now().After(deadline) {
			t.Fatalf("stream delivered %d records, want %d", len(c.records), want)
		}
		if n, _ := p.Poll(context.Background()); n == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// script runs the same writes through the onboarding service on any store,
// with the same clock and ids: create, edit, release, hold.
func script(t *testing.T, store onboarding.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	n := 0
	svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{}, func() time.Time { now = now.Add(time.Second); return now },
		func() string { n++; return fmt.Sprintf("id-%04d", n) })
	admin, _, err := svc.Bootstrap(ctx, "admin@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	actor, err := svc.Authorize(ctx, onboarding.Identity{UserID: admin.ID, Source: onboarding.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := svc.Create(ctx, actor, user.Draft{FirstName: "Priya", LastName: "Shah", Email: "Priya@Example.com", Role: "staff"}, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	role, email := "planner", "priya.shah@example.com"
	if _, err := svc.Edit(ctx, actor, u.ID, 1, user.Patch{Role: &role, Email: &email}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Release(ctx, actor, u.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Hold(ctx, actor, u.ID, 3); err != nil {
		t.Fatal(err)
	}
}

// byKey groups records per item key, in delivery order: DynamoDB keeps
// order per item, not across items.
func byKey(recs []events.DynamoDBEventRecord) map[string][]string {
	out := map[string][]string{}
	for _, r := range recs {
		k := r.Change.Keys["PK"].String() + "|" + r.Change.Keys["SK"].String()
		out[k] = append(out[k], fmt.Sprintf("%s old=%v new=%v view=%s", r.EventName, canon(r.Change.OldImage), canon(r.Change.NewImage), r.Change.StreamViewType))
	}
	return out
}

func canon(img map[string]events.DynamoDBAttributeValue) string {
	if img == nil {
		return "none"
	}
	keys := make([]string, 0, len(img))
	for k := range img {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for _, k := range keys {
		b, _ := img[k].MarshalJSON()
		s += k + "=" + string(b) + ";"
	}
	return s
}

func TestEmbeddedFeedAndDynamoStreamDeliverTheSameRecords(t *testing.T) {
	ctx := context.Background()
	emb, err := embedded.Open(filepath.Join(t.TempDir(), "opsos.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	script(t, emb)
	feed, _, err := emb.ReadFeed(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}

	db, table := newTable(t)
	script(t, dynamo.New(db, table))
	c := &collector{}
	p, err := dynamostream.NewPoller(ctx, db, dynamostream.NewLocalClient(endpoint(t)), table, c.handle, dynamostream.FileCheckpoints{Path: filepath.Join(t.TempDir(), "cp.json")}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, p, c, len(feed.Records))

	want, got := byKey(feed.Records), byKey(c.records)
	if len(c.records) != len(feed.Records) || !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%s:\n embedded %v\n dynamo   %v", k, want[k], got[k])
			}
		}
		t.Fatalf("dynamo stream: %d records, embedded feed: %d", len(c.records), len(feed.Records))
	}
	for _, r := range c.records {
		if r.EventSource != "aws:dynamodb" || r.EventSourceArn != p.StreamARN() || r.Change.SequenceNumber == "" || r.Change.ApproximateCreationDateTime.IsZero() {
			t.Errorf("record framing: %+v", r)
		}
	}
}

func TestPollerResumesFromCheckpointAndRetriesFailures(t *testing.T) {
	ctx := context.Background()
	db, table := newTable(t)
	store := dynamo.New(db, table)
	cp := dynamostream.FileCheckpoints{Path: filepath.Join(t.TempDir(), "cp.json")}
	streams := dynamostream.NewLocalClient(endpoint(t))
	create := func(n int) {
		u := user.User{ID: fmt.Sprintf("u-%04d", n), Type: user.Internal, FirstName: "A", LastName: "B", Email: fmt.Sprintf("u%d@example.com", n),
			Role: "staff", HoldInvite: true, Status: user.StatusIntroduction, Version: 1}
		if err := store.CreateUser(ctx, u, onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: 1, Action: "create"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	create(1)
	create(2) // 6 records: user, guard, audit each

	c := &collector{failOn: map[string]bool{"INSERT EMAIL#u2@example.com EMAIL": true}}
	p, err := dynamostream.NewPoller(ctx, db, streams, table, c.handle, cp, quiet)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, p, c, 6+2) // the failed record and the one after it come again
	counts := map[string]int{}
	for _, r := range c.records {
		counts[r.Change.Keys["PK"].String()+"|"+r.Change.Keys["SK"].String()]++
	}
	if counts["EMAIL#u2@example.com|EMAIL"] != 2 || counts["USER#u-0001|PROFILE"] != 1 {
		t.Errorf("deliveries per item: %v", counts)
	}

	// A new poller on the same checkpoints starts after what was handled.
	create(3)
	c2 := &collector{}
	p2, err := dynamostream.NewPoller(ctx, db, streams, table, c2.handle, cp, quiet)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, p2, c2, 3)
	if n, err := p2.Poll(ctx); err != nil || n != 0 || len(c2.records) != 3 {
		t.Errorf("after restart: %d records (%v), then %d more", len(c2.records), err, n)
	}
	for _, r := range c2.records {
		if pk := r.Change.Keys["PK"].String(); pk != "USER#u-0003" && pk != "EMAIL#u3@example.com" {
			t.Errorf("replayed %s after restart", pk)
		}
	}
}
