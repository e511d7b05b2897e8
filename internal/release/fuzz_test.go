package release_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/store/item/itemtest"
	"github.com/opsos/onboarding/internal/user"
)

// FuzzHandleRecord hands the release worker a batch holding records made
// from any JSON, decoded as a stream record and as an image (new image of
// an insert, old image of a remove), followed by the real record of an
// unrelated user created with Hold Invite off. What the stream needs:
//   - decoding and handling never panic, and the handler never returns an
//     error (that would fail, and redeliver, the whole batch);
//   - a batch item failure only ever names a fuzzed record: a record of
//     another entity is ignored, a user record whose image cannot be read
//     is reported, and the unrelated user is invited all the same (one
//     email, status invited).
func FuzzHandleRecord(f *testing.F) {
	for _, s := range sampleRecords(f) {
		f.Add(s)
	}
	for _, s := range []string{
		`{"eventName":"INSERT","dynamodb":{"NewImage":{"entity":{"S":"user"},"id":{"S":"x"},"status":{"S":"releasing"},"version":{"N":"1"}},"SequenceNumber":"1"}}`,
		`{"eventName":"MODIFY","dynamodb":{"OldImage":{"entity":{"S":"user"},"status":{"S":"invited"}},"NewImage":{"entity":{"S":"user"},"status":{"S":"suspended"},"hold":{"BOOL":true}}}}`,
		`{"eventName":"REMOVE","dynamodb":{"OldImage":{"entity":{"S":"user"},"id":{"S":"x"}}}}`,
		`{"entity":{"S":"user"},"version":{"N":"one"}}`,
		`{"entity":{"S":"user"},"createdAt":{"S":"yesterday"}}`,
		`{"entity":{"S":"user"},"grants":{"BS":["AA=="]}}`,
		`{"entity":{"S":"claim"},"state":{"S":"in_progress"}}`,
		`{"dynamodb":{"ApproximateCreationDateTime":"soon"}}`,
		`{}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}

	ctx := context.Background()
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, err := embedded.Open(filepath.Join(f.TempDir(), "opsos.db"), embedded.WithClock(clock))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{}, clock, uuid.NewString)
	admin, _, err := svc.Bootstrap(ctx, "admin@example.com", "")
	if err != nil {
		f.Fatal(err)
	}
	actor, err := svc.Authorize(ctx, onboarding.Identity{UserID: admin.ID, Source: onboarding.SourceAPI})
	if err != nil {
		f.Fatal(err)
	}
	mail := &fakeMailer{}
	compose := func(inv release.Invitation) (release.Message, error) {
		return release.Message{Subject: "Welcome to OpsOS", Text: inv.Username + " " + inv.TemporaryPassword}, nil
	}
	passwords := func() (string, error) { return "Temp-Pass-0001!", nil }
	worker := release.New(release.Deps{Store: store, Outcomes: svc, Identity: newFakeIdentity(), Mailer: mail, Compose: compose, Passwords: passwords, Now: clock, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}, release.Config{LoginURL: "https://login.example.com", ClaimHold: time.Minute, Notifier: &fakeNotifier{}, NotifyTimeout: 50 * time.Millisecond})
	_, last, err := store.ReadFeed(ctx, 0, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	n := 0

	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzed := fuzzedRecords(data)
		if len(fuzzed) == 0 {
			return
		}
		// The unrelated user: created released, its insert asks for an
		// invitation.
		n++
		email := fmt.Sprintf("valid-%d@example.com", n)
		released := false
		u, _, err := svc.Create(ctx, actor, user.Draft{FirstName: "Val", LastName: "Id", Email: email, Role: "staff", HoldInvite: &released}, "")
		if err != nil {
			t.Fatal(err)
		}
		feed, seq, err := store.ReadFeed(ctx, last, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		last = seq
		i := slices.IndexFunc(feed.Records, func(r events.DynamoDBEventRecord) bool {
			return r.EventName == "INSERT" && item.EntityOf(r.Change.NewImage) == item.EntityUser && r.Change.NewImage["id"].String() == u.ID
		})
		if i < 0 {
			t.Fatalf("no insert record for %s in the feed", u.ID)
		}
		valid := feed.Records[i]

		batch := events.DynamoDBEvent{Records: append(slices.Clone(fuzzed), valid)}
		resp, err := edge(worker)(ctx, batch)
		if err != nil {
			t.Fatalf("%s: the handler returned %v", data, err)
		}
		failed := map[string]bool{}
		for _, bf := range resp.BatchItemFailures {
			if !strings.HasPrefix(bf.ItemIdentifier, "fuzz-") {
				t.Fatalf("%s: batch item failure %q names a record that is not the fuzzed one", data, bf.ItemIdentifier)
			}
			failed[bf.ItemIdentifier] = true
		}
		for _, r := range fuzzed {
			isUser := item.EntityOf(r.Change.NewImage) == item.EntityUser || item.EntityOf(r.Change.OldImage) == item.EntityUser
			switch seq := r.Change.SequenceNumber; {
			case !isUser && failed[seq]:
				t.Fatalf("%s: record %s of no user is reported failed", data, seq)
			case isUser && !readable(r) && !failed[seq]:
				t.Fatalf("%s: unreadable user record %s is dropped, not reported", data, seq)
			}
		}
		got, err := store.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != user.StatusInvited || len(mail.to(email)) != 1 {
			t.Fatalf("%s: the unrelated user is %s with %d emails, want invited with 1", data, got.Status, len(mail.to(email)))
		}
	})
}

// fuzzedRecords makes the stream records data can stand for: the record
// it decodes as, and the insert and the remove of the image it decodes
// as. Each gets a sequence number of its own, so that a failure report
// says which.
func fuzzedRecords(data []byte) []events.DynamoDBEventRecord {
	var out []events.DynamoDBEventRecord
	var rec events.DynamoDBEventRecord
	if decode(data, &rec) {
		rec.Change.SequenceNumber = "fuzz-record"
		out = append(out, rec)
	}
	var img map[string]events.DynamoDBAttributeValue
	if decode(data, &img) && img != nil {
		out = append(out,
			events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: img, Keys: item.Keys(img), SequenceNumber: "fuzz-insert"}},
			events.DynamoDBEventRecord{EventName: "REMOVE", Change: events.DynamoDBStreamRecord{OldImage: img, Keys: item.Keys(img), SequenceNumber: "fuzz-remove"}})
	}
	return out
}

// decode unmarshals data into v; see itemtest.Decode.
func decode(data []byte, v any) bool { return itemtest.Decode(data, v) }

// readable reports whether the worker can read the user images of r.
func readable(r events.DynamoDBEventRecord) bool {
	for _, img := range []map[string]events.DynamoDBAttributeValue{r.Change.OldImage, r.Change.NewImage} {
		if img == nil {
			continue
		}
		var it item.User
		if err := item.FromImage(img, &it); err != nil {
			return false
		}
		if _, err := it.Domain(); err != nil {
			return false
		}
	}
	return true
}

// sampleRecords are the records of events/stream/release.json, the event
// `make invoke` sends to the release worker, each alone and its images.
func sampleRecords(tb testing.TB) [][]byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "stream", "release.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var ev struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, r := range ev.Records {
		out = append(out, r)
		var rec struct {
			Dynamodb struct{ NewImage, OldImage json.RawMessage }
		}
		if err := json.Unmarshal(r, &rec); err != nil {
			tb.Fatal(err)
		}
		for _, img := range []json.RawMessage{rec.Dynamodb.NewImage, rec.Dynamodb.OldImage} {
			if len(img) > 0 {
				out = append(out, img)
			}
		}
	}
	return out
}
