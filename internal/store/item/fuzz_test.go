package item_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/store/item/itemtest"
	"github.com/opsos/onboarding/internal/user"
)

// FuzzFromImage decodes any JSON as a stream image, the attribute map a
// DynamoDB stream record carries, the way the release worker reads it.
// What the worker relies on:
//   - nothing panics (item.EntityOf, item.FromImage into every item kind,
//     Domain), and whatever decodes encodes again;
//   - the entity the worker filters on is the one the item decodes with;
//   - a user that decodes survives the store's round trip: item.Image of
//     item.FromUser, decoded again, is the same user (times as instants,
//     no grants as no grants), and a second round trip changes nothing.
func FuzzFromImage(f *testing.F) {
	for _, img := range sampleImages(f) {
		f.Add(img)
	}
	at := time.Date(2026, 11, 28, 9, 0, 0, 123456789, time.UTC)
	u := user.User{ID: "0193a1b2", Type: user.External, FirstName: "Zoë", LastName: "O’Neil", Email: "zoe@example.com",
		Phone: "+14155552671", SlackUserID: "U012AB3CD", Role: "planner", ExternalPlannerAccess: true, Status: user.StatusInvited,
		Grants: []string{"reports.view"}, Revokes: []string{"planner.edit"}, InviteGeneration: 2, Version: 5,
		CreatedAt: at, CreatedBy: "admin@localhost", UpdatedAt: at, UpdatedBy: "release-worker", InvitedAt: at}
	audit, err := item.FromAudit(onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: 5, At: at, ActorID: "a", ActorEmail: "admin@localhost",
		Source: onboarding.SourceAPI, Action: "edit", Changes: []user.Change{{Field: "role", From: "staff", To: "planner"}}}})
	if err != nil {
		f.Fatal(err)
	}
	idem, err := item.FromIdempotency(onboarding.Idempotency{Key: "k", Fingerprint: "fp", User: u, CreatedAt: at, ExpiresAt: at.Add(time.Hour)})
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range []any{item.FromUser(u), item.FromUser(user.User{ID: "x"}), audit, item.FromEmail(u.Email, u.ID), idem,
		item.NewClaim("invite:x:v2", at, time.Minute)} {
		img, err := item.Image(v)
		if err != nil {
			f.Fatal(err)
		}
		js, err := json.Marshal(img)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	for _, s := range []string{`{}`, `null`, `{"entity":{"S":"user"}}`, `{"entity":{"N":"1"}}`,
		`{"entity":{"S":"user"},"createdAt":{"S":"2026-11-28T09:00:00+01:00"},"grants":{"SS":[]},"version":{"N":"1e3"}}`,
		`{"entity":{"S":"user"},"hold":{"S":"true"},"grants":{"L":[{"S":"a"},{"NULL":true}]},"id":{"NULL":true}}`} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		img, ok := decodeImage(t, data)
		if !ok {
			return
		}
		entity := item.EntityOf(img)
		item.Keys(img)
		for _, out := range []any{&item.Audit{}, &item.Email{}, &item.Idempotency{}, &item.Claim{}} {
			if item.FromImage(img, out) != nil {
				continue
			}
			if _, err := item.Image(reflect.ValueOf(out).Elem().Interface()); err != nil {
				t.Fatalf("%s: %T decodes but does not encode: %v", data, out, err)
			}
			switch v := out.(type) {
			case *item.Audit:
				v.Domain()
			case *item.Idempotency:
				v.Domain()
			}
		}
		var it item.User
		if err := item.FromImage(img, &it); err != nil {
			return
		}
		// The SDK's decoder matches attribute names to fields ignoring case
		// (in map order when two names differ only in case), EntityOf
		// exactly: a record the worker takes for a user must decode as
		// one. The stores write exact names only, so the other way round
		// ("entitY") is a record the worker rightly ignores.
		if entity == item.EntityUser && it.Entity != item.EntityUser && !foldedTwice(img) {
			t.Fatalf("%s: EntityOf says %q, the item decodes as %q", data, entity, it.Entity)
		}
		u, err := it.Domain()
		if err != nil {
			return
		}
		once := roundTrip(t, data, u)
		if !sameUser(once, u) {
			t.Fatalf("%s: the store's round trip changes the user:\nbefore %+v\nafter  %+v", data, u, once)
		}
		if twice := roundTrip(t, data, once); !reflect.DeepEqual(twice, once) {
			t.Fatalf("%s: a second round trip changes the user:\nonce  %+v\ntwice %+v", data, once, twice)
		}
	})
}

// decodeImage unmarshals data as an attribute map; see itemtest.Decode.
func decodeImage(t *testing.T, data []byte) (img map[string]events.DynamoDBAttributeValue, ok bool) {
	t.Helper()
	ok = itemtest.Decode(data, &img)
	return img, ok
}

// foldedTwice reports whether two attribute names of img differ only in
// case, which the SDK's decoder resolves in random order.
func foldedTwice(img map[string]events.DynamoDBAttributeValue) bool {
	seen := map[string]bool{}
	for k := range img {
		if seen[strings.ToLower(k)] {
			return true
		}
		seen[strings.ToLower(k)] = true
	}
	return false
}

// roundTrip stores u as the stores do and reads it back as the worker does.
func roundTrip(t *testing.T, data []byte, u user.User) user.User {
	t.Helper()
	img, err := item.Image(item.FromUser(u))
	if err != nil {
		t.Fatalf("%s: user %+v does not encode: %v", data, u, err)
	}
	var it item.User
	if err := item.FromImage(img, &it); err != nil {
		t.Fatalf("%s: the image of user %+v does not decode: %v", data, u, err)
	}
	back, err := it.Domain()
	if err != nil {
		t.Fatalf("%s: the image of user %+v is not a user: %v", data, u, err)
	}
	return back
}

// sameUser compares users by meaning: times as instants, an empty list as
// no list.
func sameUser(a, b user.User) bool {
	for _, p := range [][2]*time.Time{{&a.CreatedAt, &b.CreatedAt}, {&a.UpdatedAt, &b.UpdatedAt}, {&a.InvitedAt, &b.InvitedAt}, {&a.ActivatedAt, &b.ActivatedAt}} {
		if !p[0].Equal(*p[1]) {
			return false
		}
		*p[0], *p[1] = time.Time{}, time.Time{}
	}
	if !slices.Equal(a.Grants, b.Grants) || !slices.Equal(a.Revokes, b.Revokes) {
		return false
	}
	a.Grants, a.Revokes, b.Grants, b.Revokes = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// sampleImages are the images of events/stream/release.json, the record
// `make invoke` sends to the release worker.
func sampleImages(tb testing.TB) [][]byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "stream", "release.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var ev struct {
		Records []struct {
			Dynamodb struct{ NewImage, OldImage json.RawMessage }
		}
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, r := range ev.Records {
		for _, img := range []json.RawMessage{r.Dynamodb.NewImage, r.Dynamodb.OldImage} {
			if len(img) > 0 {
				out = append(out, img)
			}
		}
	}
	return out
}
