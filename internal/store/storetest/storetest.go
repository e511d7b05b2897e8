// Package storetest is the contract every onboarding.Store adapter must
// keep. Each adapter's tests call Run with a constructor of fresh stores,
// so the embedded store and DynamoDB are held to the same cases.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// NewStore returns an empty store for one test case.
type NewStore func(t *testing.T) onboarding.Store

var t0 = time.Date(2026, 11, 28, 9, 30, 15, 123456789, time.UTC)

// Run runs every contract case against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s onboarding.Store)
	}{
		{"CreateThenGet", testCreateThenGet},
		{"GetUnknown", testGetUnknown},
		{"EmailTakenInOtherCase", testEmailTaken},
		{"Update", testUpdate},
		{"UpdateStaleVersion", testUpdateStale},
		{"UpdateUnknown", testUpdateUnknown},
		{"UpdateMovesEmailGuard", testUpdateMovesEmail},
		{"UpdateToTakenEmail", testUpdateToTakenEmail},
		{"ListPages", testListPages},
		{"ListFilters", testListFilters},
		{"ListBadCursor", testListBadCursor},
		{"History", testHistory},
		{"Idempotency", testIdempotency},
		{"IdempotencyExpires", testIdempotencyExpires},
		{"ConcurrentCreatesOneEmail", testConcurrentCreates},
		{"ConcurrentUpdatesOneWinner", testConcurrentUpdates},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

// User returns a valid user in Introduction Mode with id n.
func User(n int, email string) user.User {
	return user.User{
		ID: fmt.Sprintf("u-%04d", n), Type: user.Internal, FirstName: "First", LastName: fmt.Sprintf("Last%04d", n),
		Email: email, Phone: "+447911123456", JobTitle: "Shift Lead", Role: "staff",
		HoldInvite: true, Status: user.StatusIntroduction, Version: 1,
		CreatedAt: t0, CreatedBy: "admin@example.com", UpdatedAt: t0, UpdatedBy: "admin@example.com",
	}
}

func audit(u user.User, action string) onboarding.AuditEntry {
	return onboarding.AuditEntry{
		UserID: u.ID, Version: u.Version, At: u.UpdatedAt, ActorID: "admin", ActorEmail: "admin@example.com",
		Source: onboarding.SourceAPI, Action: action,
		Changes: []user.Change{{Field: "version", From: float64(u.Version - 1), To: float64(u.Version)}},
	}
}

func mustCreate(t *testing.T, s onboarding.Store, u user.User) {
	t.Helper()
	if err := s.CreateUser(context.Background(), u, audit(u, "create"), nil); err != nil {
		t.Fatalf("create %s: %v", u.ID, err)
	}
}

func mustGet(t *testing.T, s onboarding.Store, id string) user.User {
	t.Helper()
	u, err := s.GetUser(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return u
}

// equal compares users field by field, times by instant.
func equal(t *testing.T, got, want user.User) {
	t.Helper()
	for _, tm := range []struct{ g, w time.Time }{{got.CreatedAt, want.CreatedAt}, {got.UpdatedAt, want.UpdatedAt},
		{got.InvitedAt, want.InvitedAt}, {got.ActivatedAt, want.ActivatedAt}} {
		if !tm.g.Equal(tm.w) {
			t.Errorf("time %v, want %v", tm.g, tm.w)
		}
	}
	got.CreatedAt, got.UpdatedAt, got.InvitedAt, got.ActivatedAt = want.CreatedAt, want.UpdatedAt, want.InvitedAt, want.ActivatedAt
	if len(got.Grants) == 0 && len(want.Grants) == 0 {
		got.Grants = want.Grants
	}
	if len(got.Revokes) == 0 && len(want.Revokes) == 0 {
		got.Revokes = want.Revokes
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("user differs:\n got %+v\nwant %+v", got, want)
	}
}

func ids(us []user.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func historyLen(t *testing.T, s onboarding.Store, id string) int {
	t.Helper()
	p, err := s.History(context.Background(), id, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Entries)
}

func testCreateThenGet(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	u.Grants, u.Revokes = []string{"reports.view"}, []string{"planner.view"}
	u.Type, u.ExternalPlannerAccess = user.External, true
	u.HoldInvite, u.Status, u.StatusReason, u.InviteGeneration = false, user.StatusReleaseFailed, "address rejected", 3
	u.InvitedAt, u.ActivatedAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
	mustCreate(t, s, u)
	equal(t, mustGet(t, s, u.ID), u)
	if n := historyLen(t, s, u.ID); n != 1 {
		t.Errorf("history after create has %d entries, want 1", n)
	}
}

func testGetUnknown(t *testing.T, s onboarding.Store) {
	if _, err := s.GetUser(context.Background(), "u-9999"); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func testEmailTaken(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	mustCreate(t, s, User(1, "ann@example.com"))
	second := User(2, "ANN@Example.com")
	if err := s.CreateUser(ctx, second, audit(second, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}
	if _, err := s.GetUser(ctx, second.ID); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("the refused user was stored: %v", err)
	}
	if n := historyLen(t, s, second.ID); n != 0 {
		t.Errorf("the refused user has %d audit entries", n)
	}
}

func testUpdate(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	n := u
	n.Role, n.Version, n.UpdatedAt, n.UpdatedBy = "planner", 2, t0.Add(time.Minute), "boss@example.com"
	if err := s.UpdateUser(context.Background(), n, 1, audit(n, "edit")); err != nil {
		t.Fatal(err)
	}
	equal(t, mustGet(t, s, u.ID), n)
	p, _ := s.History(context.Background(), u.ID, 10, "")
	if len(p.Entries) != 2 || p.Entries[1].Action != "edit" || p.Entries[1].Version != 2 {
		t.Errorf("history: %+v", p.Entries)
	}
}

func testUpdateStale(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	n := u
	n.Role, n.Version = "planner", 2
	if err := s.UpdateUser(context.Background(), n, 7, audit(n, "edit")); !errors.Is(err, user.ErrVersionConflict) {
		t.Fatalf("err = %v, want ErrVersionConflict", err)
	}
	equal(t, mustGet(t, s, u.ID), u)
	if n := historyLen(t, s, u.ID); n != 1 {
		t.Errorf("a stale update added audit entries: %d", n)
	}
}

func testUpdateUnknown(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	u.Version = 2
	if err := s.UpdateUser(context.Background(), u, 1, audit(u, "edit")); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func testUpdateMovesEmail(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	u := User(1, "old@example.com")
	mustCreate(t, s, u)
	n := u
	n.Email, n.Version = "new@example.com", 2
	if err := s.UpdateUser(ctx, n, 1, audit(n, "edit")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, User(2, "old@example.com")) // freed
	third := User(3, "NEW@example.com")
	if err := s.CreateUser(ctx, third, audit(third, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Errorf("new address not guarded: %v", err)
	}
	p, err := s.ListUsers(ctx, onboarding.ListQuery{Email: "new@example.com"})
	if err != nil || !slices.Equal(ids(p.Users), []string{"u-0001"}) {
		t.Errorf("list by new email: %v %v", ids(p.Users), err)
	}
}

func testUpdateToTakenEmail(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	mustCreate(t, s, User(2, "bob@example.com"))
	n := u
	n.Email, n.Version = "bob@example.com", 2
	if err := s.UpdateUser(context.Background(), n, 1, audit(n, "edit")); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}
	equal(t, mustGet(t, s, u.ID), u)
	// The old address is still guarded.
	third := User(3, "ann@example.com")
	if err := s.CreateUser(context.Background(), third, audit(third, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Errorf("old address lost its guard: %v", err)
	}
}

func walk(t *testing.T, s onboarding.Store, q onboarding.ListQuery) []string {
	t.Helper()
	var all []string
	for pages := 0; ; pages++ {
		p, err := s.ListUsers(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if q.Limit > 0 && len(p.Users) > q.Limit {
			t.Fatalf("page of %d over limit %d", len(p.Users), q.Limit)
		}
		all = append(all, ids(p.Users)...)
		if p.NextCursor == "" {
			return all
		}
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		q.Cursor = p.NextCursor
	}
}

func testListPages(t *testing.T, s onboarding.Store) {
	var want []string
	for i := 1; i <= 12; i++ {
		u := User(i, fmt.Sprintf("u%d@example.com", i))
		mustCreate(t, s, u)
		want = append(want, u.ID)
	}
	for _, limit := range []int{1, 5, 6, 12, 50} {
		if got := walk(t, s, onboarding.ListQuery{Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
	}
	p, _ := s.ListUsers(context.Background(), onboarding.ListQuery{Limit: 12})
	if p.NextCursor != "" {
		t.Error("an exact last page announces another")
	}
}

func testListFilters(t *testing.T, s onboarding.Store) {
	mk := func(n int, email string, edit func(*user.User)) {
		u := User(n, email)
		edit(&u)
		mustCreate(t, s, u)
	}
	mk(1, "priya.shah@example.com", func(u *user.User) { u.FirstName, u.LastName, u.Role = "Priya", "Shah", "supervisor" })
	mk(2, "sam@contractor.io", func(u *user.User) {
		u.Type, u.JobTitle, u.HoldInvite, u.Status = user.External, "Buyer", false, user.StatusInvited
	})
	mk(3, "jo@example.com", func(u *user.User) { u.Role, u.JobTitle = "supervisor", "Night Supervisor" })
	mk(4, "kim@example.com", func(u *user.User) { u.HoldInvite, u.Status = false, user.StatusActive })
	mk(5, "lee@example.com", func(u *user.User) { u.Role = "supervisor" })
	tests := []struct {
		name string
		q    onboarding.ListQuery
		want []string
	}{
		{"status", onboarding.ListQuery{Status: user.StatusIntroduction}, []string{"u-0001", "u-0003", "u-0005"}},
		{"role", onboarding.ListQuery{Role: "supervisor"}, []string{"u-0001", "u-0003", "u-0005"}},
		{"type", onboarding.ListQuery{Type: user.External}, []string{"u-0002"}},
		{"email", onboarding.ListQuery{Email: "kim@example.com"}, []string{"u-0004"}},
		{"email and other status", onboarding.ListQuery{Email: "kim@example.com", Status: user.StatusIntroduction}, nil},
		{"q in name", onboarding.ListQuery{Q: "priya sh"}, []string{"u-0001"}},
		{"q in email", onboarding.ListQuery{Q: "CONTRACTOR"}, []string{"u-0002"}},
		{"q in job title", onboarding.ListQuery{Q: "supervisor"}, []string{"u-0003"}},
		{"combined", onboarding.ListQuery{Status: user.StatusIntroduction, Role: "supervisor", Q: "example"}, []string{"u-0001", "u-0003", "u-0005"}},
		{"combined, paged", onboarding.ListQuery{Status: user.StatusIntroduction, Role: "supervisor", Limit: 2}, []string{"u-0001", "u-0003", "u-0005"}},
		{"nothing", onboarding.ListQuery{Status: user.StatusSuspended}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := walk(t, s, tt.q); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func testListBadCursor(t *testing.T, s onboarding.Store) {
	mustCreate(t, s, User(1, "ann@example.com"))
	for _, c := range []string{"garbage!", "dGFtcGVyZWQ", strings.Repeat("A", 40)} {
		if _, err := s.ListUsers(context.Background(), onboarding.ListQuery{Cursor: c}); !errors.Is(err, onboarding.ErrBadCursor) {
			t.Errorf("cursor %q: err = %v, want ErrBadCursor", c, err)
		}
	}
}

func testHistory(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	mustCreate(t, s, User(2, "other@example.com"))
	for v := int64(2); v <= 7; v++ {
		n := u
		n.Version, n.JobTitle = v, fmt.Sprintf("Title %d", v)
		if err := s.UpdateUser(ctx, n, v-1, audit(n, "edit")); err != nil {
			t.Fatal(err)
		}
	}
	var versions []int64
	cursor := ""
	for {
		p, err := s.History(ctx, u.ID, 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			versions = append(versions, e.Version)
			if e.UserID != u.ID || e.Source != onboarding.SourceAPI || e.ActorEmail != "admin@example.com" || len(e.Changes) != 1 {
				t.Errorf("entry %+v", e)
			}
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(versions, []int64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("versions %v, want 1..7 oldest first", versions)
	}
	if _, err := s.History(ctx, u.ID, 3, "not a cursor"); !errors.Is(err, onboarding.ErrBadCursor) {
		t.Errorf("bad history cursor: %v", err)
	}
}

func idem(key string, u user.User, at time.Time) *onboarding.Idempotency {
	return &onboarding.Idempotency{Key: key, Fingerprint: "fp-" + u.ID, User: u, CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
}

func testIdempotency(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	u := User(1, "ann@example.com")
	if err := s.CreateUser(ctx, u, audit(u, "create"), idem("k1", u, t0)); err != nil {
		t.Fatal(err)
	}
	rec, ok, err := s.Idempotency(ctx, "k1", t0.Add(time.Hour))
	if err != nil || !ok || rec.Fingerprint != "fp-u-0001" || rec.Key != "k1" || !rec.ExpiresAt.Equal(t0.Add(24*time.Hour).Truncate(time.Second)) {
		t.Fatalf("record: %+v ok=%v err=%v", rec, ok, err)
	}
	equal(t, rec.User, u)
	other := User(2, "bob@example.com")
	if err := s.CreateUser(ctx, other, audit(other, "create"), idem("k1", other, t0.Add(time.Hour))); !errors.Is(err, onboarding.ErrIdempotencyKeyUsed) {
		t.Fatalf("reused key: err = %v", err)
	}
	if _, err := s.GetUser(ctx, other.ID); !errors.Is(err, user.ErrNotFound) {
		t.Error("a create with a used key was stored")
	}
	// A retry of the very same create learns of the key, not of its email.
	if err := s.CreateUser(ctx, u, audit(u, "create"), idem("k1", u, t0.Add(time.Minute))); !errors.Is(err, onboarding.ErrIdempotencyKeyUsed) {
		t.Errorf("retry of the same create: err = %v, want ErrIdempotencyKeyUsed", err)
	}
	if _, ok, _ := s.Idempotency(ctx, "k2", t0); ok {
		t.Error("unknown key found")
	}
}

func testIdempotencyExpires(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	u := User(1, "ann@example.com")
	if err := s.CreateUser(ctx, u, audit(u, "create"), idem("k1", u, t0)); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(25 * time.Hour)
	if _, ok, _ := s.Idempotency(ctx, "k1", later); ok {
		t.Error("expired record reported")
	}
	other := User(2, "bob@example.com")
	if err := s.CreateUser(ctx, other, audit(other, "create"), idem("k1", other, later)); err != nil {
		t.Fatalf("reusing an expired key: %v", err)
	}
	if rec, ok, _ := s.Idempotency(ctx, "k1", later); !ok || rec.User.ID != other.ID {
		t.Errorf("record after reuse: %+v %v", rec, ok)
	}
}

func testConcurrentCreates(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := []byte("race.winner@example.com")
			for j := range email {
				if (i>>(j%6))&1 == 1 {
					email[j] = strings.ToUpper(string(email[j]))[0]
				}
			}
			u := User(i+1, user.NormalizeEmail(string(email)))
			u.Email = string(email) // the store must not rely on the caller's case
			errs[i] = s.CreateUser(ctx, u, audit(u, "create"), nil)
		}()
	}
	wg.Wait()
	won, taken := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, user.ErrEmailTaken):
			taken++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 || taken != n-1 {
		t.Errorf("%d created, %d refused; want 1 and %d", won, taken, n-1)
	}
	if got := walk(t, s, onboarding.ListQuery{}); len(got) != 1 {
		t.Errorf("store holds %d users, want 1", len(got))
	}
}

func testConcurrentUpdates(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := u
			m.Version, m.JobTitle = 2, fmt.Sprintf("Title %d", i)
			errs[i] = s.UpdateUser(context.Background(), m, 1, audit(m, "edit"))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if !errors.Is(err, user.ErrVersionConflict) {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d updates won, want 1", won)
	}
	if n := historyLen(t, s, u.ID); n != 2 {
		t.Errorf("history has %d entries, want 2", n)
	}
}
