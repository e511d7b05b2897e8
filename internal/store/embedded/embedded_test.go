package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	bolt "go.etcd.io/bbolt"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/store/storetest"
	"github.com/opsos/onboarding/internal/user"
)

// now is the fixed feed clock; its nanoseconds show the truncation to
// seconds that Lambda's events carry.
func now() time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 500, time.UTC) }

func open(t testing.TB, path string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path, embedded.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fresh(t testing.TB) *embedded.Store {
	t.Helper()
	s := open(t, filepath.Join(t.TempDir(), "data", "opsos.db"))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) onboarding.Store { return fresh(t) })
}

func create(t testing.TB, s *embedded.Store, u user.User, idem *onboarding.Idempotency) {
	t.Helper()
	if err := s.CreateUser(context.Background(), u, storetest.Audit(u, "create"), idem); err != nil {
		t.Fatalf("create %s: %v", u.ID, err)
	}
}

func update(t testing.TB, s *embedded.Store, u user.User, expected int64) {
	t.Helper()
	if err := s.UpdateUser(context.Background(), u, expected, storetest.Audit(u, "edit")); err != nil {
		t.Fatalf("update %s: %v", u.ID, err)
	}
}

// feed returns every record after seq and the last sequence number.
func feed(t *testing.T, s *embedded.Store, after uint64) ([]events.DynamoDBEventRecord, uint64) {
	t.Helper()
	ev, last, err := s.ReadFeed(context.Background(), after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Records, last
}

// summary is what a record did to which item.
type summary struct{ name, entity, pk, sk string }

func summarise(recs []events.DynamoDBEventRecord) []summary {
	var out []summary
	for _, r := range recs {
		img := r.Change.NewImage
		if img == nil {
			img = r.Change.OldImage
		}
		out = append(out, summary{r.EventName, item.EntityOf(img), r.Change.Keys["PK"].String(), r.Change.Keys["SK"].String()})
	}
	return out
}

func wantRecords(t *testing.T, recs []events.DynamoDBEventRecord, want ...summary) {
	t.Helper()
	if got := summarise(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("records\n got %v\nwant %v", got, want)
	}
}

func decode[T any](t *testing.T, img map[string]events.DynamoDBAttributeValue) T {
	t.Helper()
	var it T
	if err := item.FromImage(img, &it); err != nil {
		t.Fatal(err)
	}
	return it
}

func decodeUser(t *testing.T, img map[string]events.DynamoDBAttributeValue) user.User {
	t.Helper()
	u, err := decode[item.User](t, img).Domain()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFeedOfCreate(t *testing.T) {
	s := fresh(t)
	u := storetest.User(1, "ann@example.com")
	u.Grants = []string{"reports.view"}
	create(t, s, u, nil)
	recs, last := feed(t, s, 0)
	wantRecords(t, recs,
		summary{"INSERT", "user", "USER#u-0001", "PROFILE"},
		summary{"INSERT", "email", "EMAIL#ann@example.com", "EMAIL"},
		summary{"INSERT", "audit", "USER#u-0001", "AUDIT#000000000001"})
	if last != 3 {
		t.Errorf("last = %d, want 3", last)
	}
	for i, r := range recs {
		c := r.Change
		if r.EventID == "" || r.EventSource != "aws:dynamodb" || r.EventVersion != "1.1" || r.AWSRegion != "local" ||
			r.EventSourceArn != "arn:aws:dynamodb:local:000000000000:table/opsos/stream/embedded" ||
			c.StreamViewType != "NEW_AND_OLD_IMAGES" || c.OldImage != nil || c.SizeBytes <= 0 ||
			c.SequenceNumber != fmt.Sprintf("%021d", i+1) || !c.ApproximateCreationDateTime.Equal(now().Truncate(time.Second)) {
			t.Errorf("record %d framing: %+v", i, r)
		}
	}
	storetest.SameUser(t, decodeUser(t, recs[0].Change.NewImage), u)
	if g := decode[item.Email](t, recs[1].Change.NewImage); g.UserID != u.ID {
		t.Errorf("guard image %+v", g)
	}
	a, err := decode[item.Audit](t, recs[2].Change.NewImage).Domain()
	if err != nil || a.UserID != u.ID || a.Version != 1 || a.Action != "create" {
		t.Errorf("audit image %+v %v", a, err)
	}
}

func TestFeedOfUpdate(t *testing.T) {
	s := fresh(t)
	u := storetest.User(1, "ann@example.com")
	create(t, s, u, nil)
	_, last := feed(t, s, 0)

	n := u
	n.Role, n.Version = "planner", 2
	update(t, s, n, 1)
	recs, last := feed(t, s, last)
	wantRecords(t, recs,
		summary{"MODIFY", "user", "USER#u-0001", "PROFILE"},
		summary{"INSERT", "audit", "USER#u-0001", "AUDIT#000000000002"})
	storetest.SameUser(t, decodeUser(t, recs[0].Change.OldImage), u)
	storetest.SameUser(t, decodeUser(t, recs[0].Change.NewImage), n)

	m := n
	m.Email, m.Version, m.HoldInvite, m.Status = "ann.new@example.com", 3, false, user.StatusReleasing
	update(t, s, m, 2)
	recs, _ = feed(t, s, last)
	wantRecords(t, recs,
		summary{"REMOVE", "email", "EMAIL#ann@example.com", "EMAIL"},
		summary{"INSERT", "email", "EMAIL#ann.new@example.com", "EMAIL"},
		summary{"MODIFY", "user", "USER#u-0001", "PROFILE"},
		summary{"INSERT", "audit", "USER#u-0001", "AUDIT#000000000003"})
	if c := recs[0].Change; c.NewImage != nil || decode[item.Email](t, c.OldImage).UserID != u.ID {
		t.Errorf("REMOVE must carry only the old image: %+v", c)
	}
	if c := recs[1].Change; c.OldImage != nil || decode[item.Email](t, c.NewImage).UserID != u.ID {
		t.Errorf("INSERT must carry only the new image: %+v", c)
	}
	mod := recs[2].Change
	if mod.OldImage["version"].Number() != "2" || mod.NewImage["version"].Number() != "3" ||
		!mod.OldImage["hold"].Boolean() || mod.NewImage["hold"].Boolean() {
		t.Errorf("MODIFY images: old %v new %v", mod.OldImage, mod.NewImage)
	}
	storetest.SameUser(t, decodeUser(t, mod.NewImage), m)
}

func TestFeedOfIdempotency(t *testing.T) {
	s := fresh(t)
	u := storetest.User(1, "ann@example.com")
	rec := &onboarding.Idempotency{Key: "k1", Fingerprint: "fp1", User: u, CreatedAt: storetest.At(0), ExpiresAt: storetest.At(time.Hour)}
	create(t, s, u, rec)
	recs, last := feed(t, s, 0)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	wantRecords(t, recs[3:], summary{"INSERT", "idempotency", "IDEMPOTENCY#k1", "IDEMPOTENCY"})
	got, err := decode[item.Idempotency](t, recs[3].Change.NewImage).Domain()
	if err != nil || got.Fingerprint != "fp1" {
		t.Fatalf("idempotency image: %+v %v", got, err)
	}
	storetest.SameUser(t, got.User, u)

	// An expired key is put over: a MODIFY, as DynamoDB names it.
	v := storetest.User(2, "bob@example.com")
	create(t, s, v, &onboarding.Idempotency{Key: "k1", Fingerprint: "fp2", User: v, CreatedAt: storetest.At(2 * time.Hour), ExpiresAt: storetest.At(3 * time.Hour)})
	recs, _ = feed(t, s, last)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	wantRecords(t, recs[3:], summary{"MODIFY", "idempotency", "IDEMPOTENCY#k1", "IDEMPOTENCY"})
	if decode[item.Idempotency](t, recs[3].Change.OldImage).Fingerprint != "fp1" ||
		decode[item.Idempotency](t, recs[3].Change.NewImage).Fingerprint != "fp2" {
		t.Errorf("MODIFY images: %+v", recs[3].Change)
	}
}

func TestFailedWritesAddNoRecord(t *testing.T) {
	ctx := context.Background()
	s := fresh(t)
	u := storetest.User(1, "ann@example.com")
	create(t, s, u, &onboarding.Idempotency{Key: "k1", User: u, CreatedAt: storetest.At(0), ExpiresAt: storetest.At(time.Hour)})
	create(t, s, storetest.User(2, "bob@example.com"), nil)
	_, last := feed(t, s, 0)

	dup := storetest.User(3, "ANN@example.com")
	taken := u
	taken.Email, taken.Version = "bob@example.com", 2
	stale := u
	stale.Role, stale.Version = "planner", 2
	unknown := storetest.User(9, "nine@example.com")
	reuse := storetest.User(4, "dee@example.com")
	for _, w := range []struct {
		name string
		err  error
		want error
	}{
		{"create with a taken email", s.CreateUser(ctx, dup, storetest.Audit(dup, "create"), nil), user.ErrEmailTaken},
		{"update to a taken email", s.UpdateUser(ctx, taken, 1, storetest.Audit(taken, "edit")), user.ErrEmailTaken},
		{"stale update", s.UpdateUser(ctx, stale, 5, storetest.Audit(stale, "edit")), user.ErrVersionConflict},
		{"update of an unknown user", s.UpdateUser(ctx, unknown, 1, storetest.Audit(unknown, "edit")), user.ErrNotFound},
		{"create with a used key", s.CreateUser(ctx, reuse, storetest.Audit(reuse, "create"),
			&onboarding.Idempotency{Key: "k1", User: reuse, CreatedAt: storetest.At(time.Minute)}), onboarding.ErrIdempotencyKeyUsed},
	} {
		if !errors.Is(w.err, w.want) {
			t.Errorf("%s: err = %v, want %v", w.name, w.err, w.want)
		}
	}
	if recs, same := feed(t, s, last); len(recs) != 0 || same != last {
		t.Errorf("refused writes added records: %v", summarise(recs))
	}
}

func TestReadFeedPaging(t *testing.T) {
	ctx := context.Background()
	s := fresh(t)
	for i := 1; i <= 40; i++ { // 3 records each
		create(t, s, storetest.User(i, fmt.Sprintf("u%d@example.com", i)), nil)
	}
	seqs := func(ev events.DynamoDBEvent) (out []string) {
		for _, r := range ev.Records {
			out = append(out, r.EventID)
		}
		return out
	}
	ev, last, err := s.ReadFeed(ctx, 0, 5)
	if err != nil || fmt.Sprint(seqs(ev)) != "[1 2 3 4 5]" || last != 5 {
		t.Fatalf("first page: %v, last %d, %v", seqs(ev), last, err)
	}
	ev, last, _ = s.ReadFeed(ctx, last, 4)
	if fmt.Sprint(seqs(ev)) != "[6 7 8 9]" || last != 9 {
		t.Fatalf("second page: %v, last %d", seqs(ev), last)
	}
	ev, last, _ = s.ReadFeed(ctx, 110, 0) // max ≤ 0: Lambda's default batch of 100
	if len(ev.Records) != 10 || last != 120 {
		t.Errorf("tail: %d records, last %d", len(ev.Records), last)
	}
	if ev, _, _ := s.ReadFeed(ctx, 0, 0); len(ev.Records) != 100 {
		t.Errorf("default batch: %d records, want 100", len(ev.Records))
	}
	if ev, same, err := s.ReadFeed(ctx, 120, 10); len(ev.Records) != 0 || same != 120 || err != nil {
		t.Errorf("nothing new: %d records, last %d, %v", len(ev.Records), same, err)
	}

	if err := s.TrimFeed(ctx, 9); err != nil {
		t.Fatal(err)
	}
	ev, last, _ = s.ReadFeed(ctx, 0, 3)
	if fmt.Sprint(seqs(ev)) != "[10 11 12]" || last != 12 {
		t.Errorf("after trim: %v, last %d", seqs(ev), last)
	}
}

func TestCheckpointAndFeedSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsos.db")
	s := open(t, path)
	if cp, err := s.Checkpoint(ctx); err != nil || cp != 0 {
		t.Errorf("checkpoint of a new store: %d %v", cp, err)
	}
	for i := 1; i <= 4; i++ {
		create(t, s, storetest.User(i, fmt.Sprintf("u%d@example.com", i)), nil)
	}
	if err := s.SaveCheckpoint(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := s.TrimFeed(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	defer s.Close()
	cp, err := s.Checkpoint(ctx)
	if err != nil || cp != 8 {
		t.Fatalf("checkpoint after reopen: %d %v", cp, err)
	}
	// A restarted consumer resumes where it left off, and sequence
	// numbers keep growing across restarts and trims.
	create(t, s, storetest.User(9, "u9@example.com"), nil)
	ev, last, err := s.ReadFeed(ctx, cp, 100)
	if err != nil || len(ev.Records) != 7 || ev.Records[0].EventID != "9" || last != 15 {
		t.Errorf("resume after %d: %v, last %d, %v", cp, summarise(ev.Records), last, err)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsos.db")
	s := open(t, path)
	u := storetest.User(1, "ann@example.com")
	create(t, s, u, &onboarding.Idempotency{Key: "k1", User: u, CreatedAt: storetest.At(0), ExpiresAt: storetest.At(time.Hour)})
	n := u
	n.Version, n.Role = 2, "planner"
	update(t, s, n, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	defer s.Close()
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	storetest.SameUser(t, got, n)
	if h, err := s.History(ctx, u.ID, 10, ""); err != nil || len(h.Entries) != 2 {
		t.Errorf("history after reopen: %d entries, %v", len(h.Entries), err)
	}
	if _, ok, err := s.Idempotency(ctx, "k1", storetest.At(time.Minute)); !ok || err != nil {
		t.Errorf("idempotency record after reopen: %v %v", ok, err)
	}
	dup := storetest.User(2, "ann@example.com")
	if err := s.CreateUser(ctx, dup, storetest.Audit(dup, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Errorf("email guard after reopen: %v", err)
	}
}

func TestOpenCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := open(t, filepath.Join(dir, "opsos.db"))
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("data directory mode %v, want no group or other access", perm)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opsos.db")
	s := open(t, path)
	defer s.Close()
	// bbolt's file lock is per open file, so a second Open in this
	// process meets it just as a second process would.
	done := make(chan error, 1)
	go func() {
		s2, err := embedded.Open(path)
		if err == nil {
			s2.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "data directory is in use by another opsos process") {
			t.Errorf("second open: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("second open hangs")
	}
}

func TestDefaultLimit(t *testing.T) {
	ctx := context.Background()
	s := fresh(t)
	u := storetest.User(1, "u1@example.com")
	create(t, s, u, nil)
	for i := 2; i <= 51; i++ {
		create(t, s, storetest.User(i, fmt.Sprintf("u%d@example.com", i)), nil)
	}
	for v := int64(2); v <= 51; v++ {
		n := u
		n.Version = v
		update(t, s, n, v-1)
	}
	for _, limit := range []int{0, -1} {
		p, err := s.ListUsers(ctx, onboarding.ListQuery{Limit: limit})
		if err != nil || len(p.Users) != 50 || p.NextCursor == "" {
			t.Errorf("list, limit %d: %d users, cursor %q, %v", limit, len(p.Users), p.NextCursor, err)
		}
		h, err := s.History(ctx, u.ID, limit, "")
		if err != nil || len(h.Entries) != 50 || h.NextCursor == "" {
			t.Errorf("history, limit %d: %d entries, cursor %q, %v", limit, len(h.Entries), h.NextCursor, err)
		}
	}
}

func TestCursorsAreNotInterchangeable(t *testing.T) {
	ctx := context.Background()
	s := fresh(t)
	for i := 1; i <= 2; i++ {
		u := storetest.User(i, fmt.Sprintf("u%d@example.com", i))
		create(t, s, u, nil)
		n := u
		n.Version = 2
		update(t, s, n, 1)
	}
	list, err := s.ListUsers(ctx, onboarding.ListQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, "u-0001", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListUsers(ctx, onboarding.ListQuery{Cursor: hist.NextCursor}); !errors.Is(err, onboarding.ErrBadCursor) {
		t.Errorf("history cursor accepted by list: %v", err)
	}
	if _, err := s.History(ctx, "u-0001", 1, list.NextCursor); !errors.Is(err, onboarding.ErrBadCursor) {
		t.Errorf("list cursor accepted by history: %v", err)
	}
	if _, err := s.History(ctx, "u-0002", 1, hist.NextCursor); !errors.Is(err, onboarding.ErrBadCursor) {
		t.Errorf("another user's history cursor accepted: %v", err)
	}
}

func TestCanceledContextWritesNothing(t *testing.T) {
	s := fresh(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	u := storetest.User(1, "ann@example.com")
	if err := s.CreateUser(ctx, u, storetest.Audit(u, "create"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := s.GetUser(context.Background(), u.ID); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("a canceled create was stored: %v", err)
	}
}

func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	s := fresh(b)
	i := 0
	for b.Loop() {
		i++
		u := storetest.User(i, fmt.Sprintf("user%d@example.com", i))
		if err := s.CreateUser(ctx, u, storetest.Audit(u, "create"), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	s := fresh(b)
	for i := 1; i <= 1000; i++ {
		u := storetest.User(i, fmt.Sprintf("user%d@example.com", i))
		if i%3 == 0 {
			u.HoldInvite, u.Status = false, user.StatusActive
		}
		create(b, s, u, nil)
	}
	b.Run("FirstPage50/Status", func(b *testing.B) {
		for b.Loop() {
			p, err := s.ListUsers(ctx, onboarding.ListQuery{Status: user.StatusIntroduction, Limit: 50})
			if err != nil || len(p.Users) != 50 {
				b.Fatal(len(p.Users), err)
			}
		}
	})
	b.Run("FullWalk/Q", func(b *testing.B) {
		for b.Loop() {
			// "user1" is in the emails of users 1, 10-19, 100-199 and 1000.
			q, n := onboarding.ListQuery{Q: "user1", Limit: 50}, 0
			for {
				p, err := s.ListUsers(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				n += len(p.Users)
				if q.Cursor = p.NextCursor; q.Cursor == "" {
					break
				}
			}
			if n != 112 {
				b.Fatalf("walk found %d users, want 112", n)
			}
		}
	})
}

func TestPumpHandsTheFeedOnAndRetriesFromTheFirstFailure(t *testing.T) {
	ctx := context.Background()
	s := fresh(t)
	for i := 1; i <= 2; i++ {
		u := storetest.User(i, fmt.Sprintf("u%d@example.com", i))
		if err := s.CreateUser(ctx, u, storetest.Audit(u, "create"), nil); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	failOnce := map[string]bool{"EMAIL#u2@example.com": true}
	h := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		var resp events.DynamoDBEventResponse
		for _, r := range ev.Records {
			pk := r.Change.Keys["PK"].String()
			seen = append(seen, pk)
			if failOnce[pk] {
				delete(failOnce, pk)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			}
		}
		return resp, nil
	}
	if n, err := s.PumpOnce(ctx, h); err == nil || n != 4 {
		t.Fatalf("first pump: %d finished, err %v; want 4 and the failure", n, err)
	}
	if n, err := s.PumpOnce(ctx, h); err != nil || n != 2 {
		t.Fatalf("second pump: %d finished, err %v; want the last 2", n, err)
	}
	if n, err := s.PumpOnce(ctx, h); err != nil || n != 0 {
		t.Errorf("third pump: %d, %v; want nothing", n, err)
	}
	want := "[USER#u-0001 EMAIL#u1@example.com USER#u-0001 USER#u-0002 EMAIL#u2@example.com USER#u-0002 EMAIL#u2@example.com USER#u-0002]"
	if fmt.Sprint(seen) != want {
		t.Errorf("delivered %v\nwant      %s", seen, want)
	}
	if ev, _, _ := s.ReadFeed(ctx, 0, 100); len(ev.Records) != 0 {
		t.Errorf("%d handled records left in the feed", len(ev.Records))
	}
}

func TestRoles(t *testing.T) {
	storetest.RunRoles(t, func(t *testing.T) onboarding.RoleStore { return fresh(t) })
}

// Role writes reach the feed as the table's stream carries them, and the
// worker's decoder passes over every one.
func TestFeedOfRoles(t *testing.T) {
	ctx := context.Background()
	s := fresh(t)
	r := storetest.Role(1, "Night")
	if err := s.CreateRole(ctx, r, storetest.RoleAudit(r, "create")); err != nil {
		t.Fatal(err)
	}
	renamed := r
	renamed.Name, renamed.Version = "Day", 2
	if err := s.UpdateRole(ctx, renamed, 1, storetest.RoleAudit(renamed, "edit")); err != nil {
		t.Fatal(err)
	}
	gone := renamed
	gone.Version = 3
	if err := s.DeleteRole(ctx, renamed, storetest.RoleAudit(gone, "delete")); err != nil {
		t.Fatal(err)
	}
	recs, _ := feed(t, s, 0)
	wantRecords(t, recs,
		summary{"INSERT", "role", "ROLES", "ROLE#r-01"},
		summary{"INSERT", "roleName", "ROLENAME#night", "ROLENAME"},
		summary{"INSERT", "roleAudit", "ROLE#r-01", "AUDIT#000000000001"},
		summary{"INSERT", "rolesVersion", "ROLES", "VERSION"},
		summary{"REMOVE", "roleName", "ROLENAME#night", "ROLENAME"},
		summary{"INSERT", "roleName", "ROLENAME#day", "ROLENAME"},
		summary{"MODIFY", "role", "ROLES", "ROLE#r-01"},
		summary{"INSERT", "roleAudit", "ROLE#r-01", "AUDIT#000000000002"},
		summary{"MODIFY", "rolesVersion", "ROLES", "VERSION"},
		summary{"REMOVE", "role", "ROLES", "ROLE#r-01"},
		summary{"REMOVE", "roleName", "ROLENAME#day", "ROLENAME"},
		summary{"INSERT", "roleAudit", "ROLE#r-01", "AUDIT#000000000003"},
		summary{"MODIFY", "rolesVersion", "ROLES", "VERSION"})
	for _, rec := range recs {
		if c, ok, err := item.DecodeChange(rec); ok || err != nil {
			t.Errorf("the decoder took %s %v: %+v %v", rec.EventName, rec.Change.Keys, c, err)
		}
	}
}

func TestClaims(t *testing.T) {
	storetest.RunClaims(t, func(t *testing.T) release.Claims { return fresh(t) })
}

func TestTakeOver(t *testing.T) {
	storetest.RunTakeOver(t, func(t *testing.T) storetest.TakeOver { return fresh(t) })
}

// A store written before the Slack index existed gets it built on open,
// so linked managers are found; the index makes no change records.
func TestSlackIndexIsBuiltForOlderStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsos.db")
	s := open(t, path)
	linked := storetest.User(1, "ann@example.com")
	linked.SlackUserID = "UANN000001"
	create(t, s, linked, nil)
	create(t, s, storetest.User(2, "bob@example.com"), nil)
	feed, _, err := s.ReadFeed(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range feed.Records {
		if e := item.EntityOf(r.Change.NewImage); e != item.EntityUser && e != item.EntityAudit && e != item.EntityEmail {
			t.Errorf("a change record of a %q item: the index must not reach the stream", e)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("slackUsers")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = open(t, path)
	defer s.Close()
	p, err := s.ListUsers(ctx, onboarding.ListQuery{SlackUserID: "UANN000001", Limit: 5})
	if err != nil || len(p.Users) != 1 || p.Users[0].ID != linked.ID {
		t.Fatalf("after rebuilding the index: %+v %v, want only %s", p.Users, err, linked.ID)
	}
}
