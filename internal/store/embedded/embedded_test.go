package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/store/storetest"
	"github.com/opsos/onboarding/internal/user"
)

var clock = func() time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC) }

func open(t testing.TB, path string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path, embedded.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fresh(t testing.TB) *embedded.Store {
	s := open(t, filepath.Join(t.TempDir(), "data", "opsos.db"))
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) onboarding.Store { return fresh(t) })
}

func auditOf(u user.User, action string) onboarding.AuditEntry {
	return onboarding.AuditEntry{UserID: u.ID, Version: u.Version, At: u.UpdatedAt, ActorID: "a", ActorEmail: "a@example.com", Source: onboarding.SourceAPI, Action: action}
}

func feed(t *testing.T, s *embedded.Store, after uint64) ([]events.DynamoDBEventRecord, uint64) {
	t.Helper()
	ev, last, err := s.ReadFeed(context.Background(), after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Records, last
}

type summary struct{ name, entity, pk string }

func summarise(recs []events.DynamoDBEventRecord) []summary {
	var out []summary
	for _, r := range recs {
		img := r.Change.NewImage
		if img == nil {
			img = r.Change.OldImage
		}
		out = append(out, summary{r.EventName, item.EntityOf(img), r.Change.Keys["PK"].String()})
	}
	return out
}

func TestFeedRecordsEveryWriteAsDynamoDBWould(t *testing.T) {
	ctx := context.Background()
	s := fresh(t)
	u := storetest.User(1, "ann@example.com")
	if err := s.CreateUser(ctx, u, auditOf(u, "create"), nil); err != nil {
		t.Fatal(err)
	}
	recs, last := feed(t, s, 0)
	want := []summary{{"INSERT", "user", "USER#u-0001"}, {"INSERT", "email", "EMAIL#ann@example.com"}, {"INSERT", "audit", "USER#u-0001"}}
	if got := summarise(recs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("create records %v, want %v", got, want)
	}
	r := recs[0]
	if r.EventSource != "aws:dynamodb" || r.EventVersion != "1.1" || r.EventSourceArn != embedded.StreamARN ||
		r.Change.StreamViewType != "NEW_AND_OLD_IMAGES" || r.Change.OldImage != nil || r.Change.SizeBytes == 0 ||
		!r.Change.ApproximateCreationDateTime.Equal(clock()) {
		t.Errorf("record framing: %+v", r)
	}
	var it item.User
	if err := item.FromImage(r.Change.NewImage, &it); err != nil {
		t.Fatal(err)
	}
	if got, err := it.Domain(); err != nil || got.ID != u.ID || got.Email != u.Email || got.Version != 1 || !got.HoldInvite {
		t.Errorf("image decodes to %+v (%v)", got, err)
	}
	if r.Change.NewImage["hold"].Boolean() != true || r.Change.Keys["SK"].String() != "PROFILE" {
		t.Errorf("image attributes: %v", r.Change.NewImage)
	}

	n := u
	n.Email, n.Version, n.HoldInvite, n.Status = "ann.new@example.com", 2, false, user.StatusReleasing
	if err := s.UpdateUser(ctx, n, 1, auditOf(n, "edit")); err != nil {
		t.Fatal(err)
	}
	recs, last2 := feed(t, s, last)
	want = []summary{{"REMOVE", "email", "EMAIL#ann@example.com"}, {"INSERT", "email", "EMAIL#ann.new@example.com"},
		{"MODIFY", "user", "USER#u-0001"}, {"INSERT", "audit", "USER#u-0001"}}
	if got := summarise(recs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("update records %v, want %v", got, want)
	}
	if recs[0].Change.NewImage != nil || recs[0].Change.OldImage == nil {
		t.Error("REMOVE must carry only the old image")
	}
	mod := recs[2].Change
	if mod.OldImage["version"].Number() != "1" || mod.NewImage["version"].Number() != "2" ||
		mod.OldImage["hold"].Boolean() != true || mod.NewImage["hold"].Boolean() != false {
		t.Errorf("MODIFY images: old %v new %v", mod.OldImage, mod.NewImage)
	}
	if recs[0].Change.SequenceNumber <= fmt.Sprintf("%021d", last) {
		t.Error("sequence numbers must increase")
	}

	// Refused writes leave no trace in the feed.
	dup := storetest.User(2, "ANN.NEW@example.com")
	s.CreateUser(ctx, dup, auditOf(dup, "create"), nil)
	s.UpdateUser(ctx, n, 1, auditOf(n, "edit"))
	if recs, _ := feed(t, s, last2); len(recs) != 0 {
		t.Errorf("refused writes added %d records", len(recs))
	}
}

func TestFeedPagingTrimAndCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsos.db")
	s := open(t, path)
	for i := 1; i <= 4; i++ { // 3 records each
		u := storetest.User(i, fmt.Sprintf("u%d@example.com", i))
		if err := s.CreateUser(ctx, u, auditOf(u, "create"), nil); err != nil {
			t.Fatal(err)
		}
	}
	ev, last, err := s.ReadFeed(ctx, 0, 5)
	if err != nil || len(ev.Records) != 5 || last != 5 {
		t.Fatalf("first page: %d records, last %d, %v", len(ev.Records), last, err)
	}
	ev, last, _ = s.ReadFeed(ctx, last, 100)
	if len(ev.Records) != 7 || last != 12 || ev.Records[0].EventID != "6" {
		t.Fatalf("second page: %d records, last %d", len(ev.Records), last)
	}
	if ev, same, _ := s.ReadFeed(ctx, last, 100); len(ev.Records) != 0 || same != last {
		t.Errorf("nothing new: %d records, last %d", len(ev.Records), same)
	}
	if err := s.SaveCheckpoint(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := s.TrimFeed(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if ev, _, _ := s.ReadFeed(ctx, 0, 100); len(ev.Records) != 4 || ev.Records[0].EventID != "9" {
		t.Errorf("after trim: %d records", len(ev.Records))
	}
	s.Close()

	s = open(t, path)
	defer s.Close()
	if cp, err := s.Checkpoint(ctx); err != nil || cp != 8 {
		t.Errorf("checkpoint after reopen: %d %v", cp, err)
	}
	// Sequence numbers keep growing across restarts.
	u := storetest.User(9, "u9@example.com")
	s.CreateUser(ctx, u, auditOf(u, "create"), nil)
	if ev, _, _ := s.ReadFeed(ctx, 12, 100); len(ev.Records) != 3 || ev.Records[0].EventID != "13" {
		t.Errorf("after reopen: %+v", ev.Records)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsos.db")
	s := open(t, path)
	u := storetest.User(1, "ann@example.com")
	s.CreateUser(ctx, u, auditOf(u, "create"), nil)
	n := u
	n.Version, n.Role = 2, "planner"
	if err := s.UpdateUser(ctx, n, 1, auditOf(n, "edit")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	defer s.Close()
	got, err := s.GetUser(ctx, u.ID)
	if err != nil || got.Role != "planner" || got.Version != 2 {
		t.Errorf("after reopen: %+v %v", got, err)
	}
	if h, _ := s.History(ctx, u.ID, 10, ""); len(h.Entries) != 2 {
		t.Errorf("history after reopen: %d entries", len(h.Entries))
	}
	dup := storetest.User(2, "ann@example.com")
	if err := s.CreateUser(ctx, dup, auditOf(dup, "create"), nil); err != user.ErrEmailTaken {
		t.Errorf("email guard after reopen: %v", err)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opsos.db")
	s := open(t, path)
	defer s.Close()
	start := time.Now()
	_, err := embedded.Open(path)
	if err == nil || !strings.Contains(err.Error(), "in use by another opsos process") {
		t.Errorf("second open: %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Error("second open hung")
	}
}

func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	s := fresh(b)
	i := 0
	for b.Loop() {
		i++
		u := storetest.User(i, fmt.Sprintf("user%d@example.com", i))
		if err := s.CreateUser(ctx, u, auditOf(u, "create"), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func preload(b *testing.B, n int) *embedded.Store {
	ctx := context.Background()
	s := fresh(b)
	for i := 1; i <= n; i++ {
		u := storetest.User(i, fmt.Sprintf("user%d@example.com", i))
		if i%3 == 0 {
			u.HoldInvite, u.Status = false, user.StatusActive
		}
		if err := s.CreateUser(ctx, u, auditOf(u, "create"), nil); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	s := preload(b, 1000)
	b.Run("first-page-50-status-filter", func(b *testing.B) {
		for b.Loop() {
			p, err := s.ListUsers(ctx, onboarding.ListQuery{Status: user.StatusIntroduction, Limit: 50})
			if err != nil || len(p.Users) != 50 {
				b.Fatal(len(p.Users), err)
			}
		}
	})
	b.Run("full-walk-q-filter", func(b *testing.B) {
		for b.Loop() {
			q := onboarding.ListQuery{Q: "user1", Limit: 50}
			for {
				p, err := s.ListUsers(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if q.Cursor = p.NextCursor; q.Cursor == "" {
					break
				}
			}
		}
	})
}
