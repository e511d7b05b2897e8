// Package storetest is the contract every onboarding.Store adapter must
// keep, in the manner of go-cloud's docstore/drivertest. Each adapter's
// tests call Run with a constructor of fresh stores, so the embedded store
// and DynamoDB are held to the same cases. It uses nothing but the port.
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

// Run runs every contract case as a subtest, each against a fresh, empty
// store made by newStore. newStore should register the store's cleanup
// with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) onboarding.Store) {
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
		{"ListBySlackUser", testListBySlackUser},
		{"ListBadCursor", testListBadCursor},
		{"History", testHistory},
		{"Idempotency", testIdempotency},
		{"IdempotencyExpires", testIdempotencyExpires},
		{"ConcurrentCreatesOneEmail", testConcurrentCreates},
		{"ConcurrentUpdatesOneWinner", testConcurrentUpdates},
		{"UserWriteAtStaleRolesVersion", testUserWriteStaleRoles},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
	t.Run("TamperedCursor", func(t *testing.T) { testTamperedCursor(t, newStore(t)) })
	t.Run("CursorOfAnotherStore", func(t *testing.T) { testForeignCursor(t, newStore(t), newStore(t)) })
}

// At returns the suite's fixed time plus d. The base time has nanoseconds,
// so a store that rounds them off fails the comparisons.
func At(d time.Duration) time.Time {
	return time.Date(2026, 11, 28, 9, 30, 15, 123456789, time.UTC).Add(d)
}

// User returns a valid user in Introduction Mode with the sortable id
// "u-%04d" of n, created at At(0).
func User(n int, email string) user.User {
	return user.User{
		ID: fmt.Sprintf("u-%04d", n), Type: user.Internal, FirstName: "First", LastName: fmt.Sprintf("Last%04d", n),
		Email: email, Phone: "+447911123456", JobTitle: "Shift Lead", Role: "staff",
		HoldInvite: true, Status: user.StatusIntroduction, Version: 1,
		CreatedAt: At(0), CreatedBy: "admin@example.com", UpdatedAt: At(0), UpdatedBy: "admin@example.com",
	}
}

// Audit returns the audit entry of u's current version.
func Audit(u user.User, action string) onboarding.AuditEntry {
	return onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{
		Version: u.Version, At: u.UpdatedAt, ActorID: "admin", ActorEmail: "admin@example.com",
		Source: onboarding.SourceAPI, Action: action,
		// float64: what change values read back as from JSON.
		Changes: []user.Change{{Field: "version", From: float64(u.Version - 1), To: float64(u.Version)}},
	}}
}

// SameUser reports a test error unless got and want are the same user:
// every field, times by instant, and empty permission lists alike
// whether nil or not (DynamoDB drops empty lists).
func SameUser(t testing.TB, got, want user.User) {
	t.Helper()
	for _, tm := range []struct {
		name string
		g, w time.Time
	}{{"CreatedAt", got.CreatedAt, want.CreatedAt}, {"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
		{"InvitedAt", got.InvitedAt, want.InvitedAt}, {"ActivatedAt", got.ActivatedAt, want.ActivatedAt}} {
		if !tm.g.Equal(tm.w) {
			t.Errorf("user %s: %s %v, want %v", want.ID, tm.name, tm.g, tm.w)
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

func mustCreate(t *testing.T, s onboarding.Store, u user.User) {
	t.Helper()
	if err := s.CreateUser(context.Background(), u, Audit(u, "create"), nil); err != nil {
		t.Fatalf("create %s: %v", u.ID, err)
	}
}

func mustUpdate(t *testing.T, s onboarding.Store, u user.User, expected int64) {
	t.Helper()
	if err := s.UpdateUser(context.Background(), u, expected, Audit(u, "edit")); err != nil {
		t.Fatalf("update %s to v%d: %v", u.ID, u.Version, err)
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

func ids(us []user.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func history(t *testing.T, s onboarding.Store, id string) []onboarding.AuditEntry {
	t.Helper()
	p, err := s.History(context.Background(), id, 100, "")
	if err != nil {
		t.Fatalf("history of %s: %v", id, err)
	}
	return p.Entries
}

// walk lists every page of q and returns the ids in the order served.
func walk(t *testing.T, s onboarding.Store, q onboarding.ListQuery) []string {
	t.Helper()
	var all []string
	for pages := 0; ; pages++ {
		p, err := s.ListUsers(context.Background(), q)
		if err != nil {
			t.Fatalf("list %+v: %v", q, err)
		}
		if q.Limit > 0 && len(p.Users) > q.Limit {
			t.Fatalf("page of %d over limit %d", len(p.Users), q.Limit)
		}
		if p.NextCursor != "" && len(p.Users) == 0 {
			t.Fatalf("an empty page announces another")
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

func testCreateThenGet(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	u.Grants, u.Revokes = []string{"reports.view", "users.manage"}, []string{"planner.view"}
	u.Type, u.ExternalPlannerAccess, u.ExternalPurchasingAccess = user.External, true, true
	u.HoldInvite, u.Status, u.StatusReason, u.InviteGeneration = false, user.StatusReleaseFailed, "address rejected", 3
	// A time given in another zone comes back as the same instant, in UTC.
	u.InvitedAt = At(time.Hour).In(time.FixedZone("CET", 3600))
	u.ActivatedAt = At(2 * time.Hour)
	u.SlackUserID = "U012AB3CD"
	// The change came through Slack: the audit entry names the Slack user.
	want := Audit(u, "create")
	want.Source, want.SlackUserID = onboarding.SourceSlack, "W0ACTOR1"
	if err := s.CreateUser(context.Background(), u, want, nil); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, u.ID)
	SameUser(t, got, u)
	for _, tm := range []time.Time{got.CreatedAt, got.UpdatedAt, got.InvitedAt, got.ActivatedAt} {
		if tm.Location() != time.UTC {
			t.Errorf("time %v is not in UTC", tm)
		}
	}
	h := history(t, s, u.ID)
	if len(h) != 1 {
		t.Fatalf("history after create has %d entries, want 1", len(h))
	}
	if !h[0].At.Equal(want.At) {
		t.Errorf("audit time %v, want %v", h[0].At, want.At)
	}
	h[0].At = want.At
	if !reflect.DeepEqual(h[0], want) {
		t.Errorf("audit entry:\n got %+v\nwant %+v", h[0], want)
	}
}

func testGetUnknown(t *testing.T, s onboarding.Store) {
	if _, err := s.GetUser(context.Background(), "u-9999"); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func testEmailTaken(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	first := User(1, "ann@example.com")
	mustCreate(t, s, first)
	second := User(2, "ANN@Example.com")
	if err := s.CreateUser(ctx, second, Audit(second, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}
	if _, err := s.GetUser(ctx, second.ID); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("the refused user was stored: %v", err)
	}
	if n := len(history(t, s, second.ID)); n != 0 {
		t.Errorf("the refused user has %d audit entries", n)
	}
	SameUser(t, mustGet(t, s, first.ID), first)
}

func testUpdate(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	n := u
	n.Role, n.Version, n.UpdatedAt, n.UpdatedBy = "planner", 2, At(time.Minute), "boss@example.com"
	n.Grants = []string{"reports.view"}
	mustUpdate(t, s, n, 1)
	SameUser(t, mustGet(t, s, u.ID), n)
	h := history(t, s, u.ID)
	if len(h) != 2 || h[1].Action != "edit" || h[1].Version != 2 || !h[1].At.Equal(n.UpdatedAt) {
		t.Errorf("history: %+v", h)
	}
}

func testUpdateStale(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	n := u
	n.Role, n.Version = "planner", 2
	mustUpdate(t, s, n, 1)
	stale := n
	stale.Role, stale.Version = "supervisor", 2
	for _, expected := range []int64{1, 3} { // behind and ahead
		if err := s.UpdateUser(context.Background(), stale, expected, Audit(stale, "edit")); !errors.Is(err, user.ErrVersionConflict) {
			t.Errorf("expected version %d: err = %v, want ErrVersionConflict", expected, err)
		}
	}
	SameUser(t, mustGet(t, s, u.ID), n)
	if h := history(t, s, u.ID); len(h) != 2 || h[1].Version != 2 {
		t.Errorf("a stale update changed the history: %+v", h)
	}
}

func testUpdateUnknown(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	u.Version = 2
	if err := s.UpdateUser(context.Background(), u, 1, Audit(u, "edit")); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetUser(context.Background(), u.ID); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("an update created the user: %v", err)
	}
}

func testUpdateMovesEmail(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	u := User(1, "old@example.com")
	mustCreate(t, s, u)
	n := u
	n.Email, n.Version = "new@example.com", 2
	mustUpdate(t, s, n, 1)
	mustCreate(t, s, User(2, "old@example.com")) // freed
	third := User(3, "NEW@example.com")
	if err := s.CreateUser(ctx, third, Audit(third, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Errorf("new address not guarded: %v", err)
	}
	for email, want := range map[string][]string{"new@example.com": {"u-0001"}, "old@example.com": {"u-0002"}} {
		if got := walk(t, s, onboarding.ListQuery{Email: email}); !slices.Equal(got, want) {
			t.Errorf("list by %s: %v, want %v", email, got, want)
		}
	}
	// A change of letter case only is no change of address.
	m := n
	m.Email, m.Version = "New@Example.com", 3
	mustUpdate(t, s, m, 2)
	if err := s.CreateUser(ctx, third, Audit(third, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Errorf("address unguarded after a change of case: %v", err)
	}
}

func testUpdateToTakenEmail(t *testing.T, s onboarding.Store) {
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	mustCreate(t, s, User(2, "bob@example.com"))
	n := u
	n.Email, n.Version = "BOB@example.com", 2
	if err := s.UpdateUser(context.Background(), n, 1, Audit(n, "edit")); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}
	SameUser(t, mustGet(t, s, u.ID), u)
	if n := len(history(t, s, u.ID)); n != 1 {
		t.Errorf("a refused update added audit entries: %d", n)
	}
	// The old address is still guarded.
	third := User(3, "ann@example.com")
	if err := s.CreateUser(context.Background(), third, Audit(third, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Errorf("old address lost its guard: %v", err)
	}
}

func testListPages(t *testing.T, s onboarding.Store) {
	// Created out of id order, so that id order is what is tested.
	order := []int{7, 2, 12, 1, 9, 4, 11, 3, 6, 10, 5, 8}
	want := make([]string, len(order))
	for i, n := range order {
		mustCreate(t, s, User(n, fmt.Sprintf("u%d@example.com", n)))
		want[i] = fmt.Sprintf("u-%04d", i+1)
	}
	for _, limit := range []int{1, 5, 6, 11, 12, 13, 50} {
		if got := walk(t, s, onboarding.ListQuery{Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
	}
	p, err := s.ListUsers(context.Background(), onboarding.ListQuery{Limit: 12})
	if err != nil || len(p.Users) != 12 || p.NextCursor != "" {
		t.Errorf("an exact last page: %d users, next cursor %q, %v", len(p.Users), p.NextCursor, err)
	}
	// A page holds whole users, not just ids.
	SameUser(t, p.Users[0], User(1, "u1@example.com"))
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
	mk(6, "max@contractor.io", func(u *user.User) {
		u.Type, u.Role, u.HoldInvite, u.Status = user.External, "supervisor", false, user.StatusActive
	})
	mk(7, "eve@example.com", func(u *user.User) { u.Role, u.JobTitle = "supervisor", "Supervisor" })
	tests := []struct {
		name string
		q    onboarding.ListQuery
		want []string
	}{
		{"status", onboarding.ListQuery{Status: user.StatusIntroduction}, []string{"u-0001", "u-0003", "u-0005", "u-0007"}},
		{"role", onboarding.ListQuery{Role: "supervisor"}, []string{"u-0001", "u-0003", "u-0005", "u-0006", "u-0007"}},
		{"type", onboarding.ListQuery{Type: user.External}, []string{"u-0002", "u-0006"}},
		{"email", onboarding.ListQuery{Email: "kim@example.com"}, []string{"u-0004"}},
		{"email unknown", onboarding.ListQuery{Email: "nobody@example.com"}, nil},
		{"email and other status", onboarding.ListQuery{Email: "kim@example.com", Status: user.StatusIntroduction}, nil},
		{"email and its status", onboarding.ListQuery{Email: "kim@example.com", Status: user.StatusActive}, []string{"u-0004"}},
		{"q across first and last name", onboarding.ListQuery{Q: "PRIYA sh"}, []string{"u-0001"}},
		{"q in email", onboarding.ListQuery{Q: "Contractor"}, []string{"u-0002", "u-0006"}},
		{"q in job title", onboarding.ListQuery{Q: "supervisor"}, []string{"u-0003", "u-0007"}},
		{"q not in role", onboarding.ListQuery{Q: "staff"}, nil},
		{"type and status", onboarding.ListQuery{Type: user.External, Status: user.StatusActive}, []string{"u-0006"}},
		{"status, role and q", onboarding.ListQuery{Status: user.StatusIntroduction, Role: "supervisor", Q: "example"},
			[]string{"u-0001", "u-0003", "u-0005", "u-0007"}},
		{"status and role, paged by 1", onboarding.ListQuery{Status: user.StatusIntroduction, Role: "supervisor", Limit: 1},
			[]string{"u-0001", "u-0003", "u-0005", "u-0007"}},
		{"role, paged by 2", onboarding.ListQuery{Role: "supervisor", Limit: 2}, []string{"u-0001", "u-0003", "u-0005", "u-0006", "u-0007"}},
		{"q, paged by 1", onboarding.ListQuery{Q: "contractor", Limit: 1}, []string{"u-0002", "u-0006"}},
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

func testListBySlackUser(t *testing.T, s onboarding.Store) {
	ann, bob := User(1, "ann@example.com"), User(2, "bob@example.com")
	ann.SlackUserID = "U0ANN"
	mustCreate(t, s, ann)
	mustCreate(t, s, bob)
	mustCreate(t, s, User(3, "cy@example.com"))
	for _, tt := range []struct {
		name string
		q    onboarding.ListQuery
		want []string
	}{
		{"linked", onboarding.ListQuery{SlackUserID: "U0ANN"}, []string{"u-0001"}},
		{"exact, not in other letter case", onboarding.ListQuery{SlackUserID: "u0ann"}, nil},
		{"linked to nobody", onboarding.ListQuery{SlackUserID: "U0BOB"}, nil},
		{"and its status", onboarding.ListQuery{SlackUserID: "U0ANN", Status: user.StatusIntroduction, Limit: 2}, []string{"u-0001"}},
		{"and another status", onboarding.ListQuery{SlackUserID: "U0ANN", Status: user.StatusActive}, nil},
		{"and its email", onboarding.ListQuery{SlackUserID: "U0ANN", Email: "ann@example.com"}, []string{"u-0001"}},
		{"and another email", onboarding.ListQuery{SlackUserID: "U0ANN", Email: "bob@example.com"}, nil},
	} {
		if got := walk(t, s, tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// The link moves from Ann to Bob: unlinking removes Ann from the list.
	a := ann
	a.SlackUserID, a.Version = "", 2
	mustUpdate(t, s, a, 1)
	if got := walk(t, s, onboarding.ListQuery{SlackUserID: "U0ANN"}); len(got) != 0 {
		t.Errorf("after the unlink: %v, want nobody", got)
	}
	if got := mustGet(t, s, ann.ID); got.SlackUserID != "" {
		t.Errorf("unlinked user still has Slack user %q", got.SlackUserID)
	}
	b := bob
	b.SlackUserID, b.Version = "U0ANN", 2
	mustUpdate(t, s, b, 1)
	// Two users linked to one Slack user are both found, so that the
	// service can tell the link is ambiguous.
	c := User(4, "dee@example.com")
	c.SlackUserID = "U0ANN"
	mustCreate(t, s, c)
	if got := walk(t, s, onboarding.ListQuery{SlackUserID: "U0ANN", Limit: 1}); !slices.Equal(got, []string{"u-0002", "u-0004"}) {
		t.Errorf("two links, paged by 1: %v", got)
	}
	p, err := s.ListUsers(context.Background(), onboarding.ListQuery{SlackUserID: "U0ANN", Limit: 2})
	if err != nil || !slices.Equal(ids(p.Users), []string{"u-0002", "u-0004"}) {
		t.Errorf("two links: %v %v", ids(p.Users), err)
	}
}

func testListBadCursor(t *testing.T, s onboarding.Store) {
	mustCreate(t, s, User(1, "ann@example.com"))
	mustCreate(t, s, User(2, "bob@example.com"))
	for _, c := range []string{"garbage!", "dGFtcGVyZWQ", strings.Repeat("A", 40), "u-0001"} {
		for _, q := range []onboarding.ListQuery{{Cursor: c}, {Cursor: c, Status: user.StatusIntroduction}, {Cursor: c, Email: "bob@example.com"},
			{Cursor: c, SlackUserID: "U0ANN"}} {
			if _, err := s.ListUsers(context.Background(), q); !errors.Is(err, onboarding.ErrBadCursor) {
				t.Errorf("list %+v: err = %v, want ErrBadCursor", q, err)
			}
		}
	}
}

func testHistory(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	u := User(1, "ann@example.com")
	mustCreate(t, s, u)
	mustCreate(t, s, User(2, "other@example.com"))
	// Ten versions, so that string order of unpadded versions would fail.
	for v := int64(2); v <= 10; v++ {
		n := u
		n.Version, n.JobTitle, n.UpdatedAt = v, fmt.Sprintf("Title %d", v), At(time.Duration(v)*time.Minute)
		mustUpdate(t, s, n, v-1)
	}
	var got []onboarding.AuditEntry
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := s.History(ctx, u.ID, 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) > 3 {
			t.Fatalf("page of %d over limit 3", len(p.Entries))
		}
		got = append(got, p.Entries...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if len(got) != 10 {
		t.Fatalf("%d entries, want 10", len(got))
	}
	for i, e := range got {
		v := int64(i + 1)
		want := Audit(User(1, ""), "edit")
		want.Version, want.At = v, At(time.Duration(v)*time.Minute)
		want.Changes = []user.Change{{Field: "version", From: float64(v - 1), To: float64(v)}}
		if v == 1 {
			want.Action, want.At = "create", At(0)
		}
		if !e.At.Equal(want.At) {
			t.Errorf("entry %d at %v, want %v", v, e.At, want.At)
		}
		e.At = want.At
		if !reflect.DeepEqual(e, want) {
			t.Errorf("entry %d (oldest first):\n got %+v\nwant %+v", i, e, want)
		}
	}
	if n := len(history(t, s, "u-0002")); n != 1 {
		t.Errorf("the other user's history has %d entries, want 1", n)
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
	if err := s.CreateUser(ctx, u, Audit(u, "create"), idem("k1", u, At(0))); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		rec, ok, err := s.Idempotency(ctx, "k1", At(time.Hour))
		// ExpiresAt is a TTL attribute, kept to the second.
		if err != nil || !ok || rec.Key != "k1" || rec.Fingerprint != "fp-u-0001" ||
			!rec.CreatedAt.Equal(At(0)) || !rec.ExpiresAt.Equal(At(24*time.Hour).Truncate(time.Second)) {
			t.Fatalf("record %s: %+v ok=%v err=%v", when, rec, ok, err)
		}
		SameUser(t, rec.User, u)
	}
	check("after create")
	other := User(2, "bob@example.com")
	if err := s.CreateUser(ctx, other, Audit(other, "create"), idem("k1", other, At(time.Hour))); !errors.Is(err, onboarding.ErrIdempotencyKeyUsed) {
		t.Fatalf("reused key: err = %v, want ErrIdempotencyKeyUsed", err)
	}
	if _, err := s.GetUser(ctx, other.ID); !errors.Is(err, user.ErrNotFound) {
		t.Error("a create with a used key was stored")
	}
	if n := len(history(t, s, other.ID)); n != 0 {
		t.Errorf("a create with a used key left %d audit entries", n)
	}
	mustCreate(t, s, User(3, "bob@example.com")) // its email was not taken either
	// A retry of the very same create learns of the key, not of its email.
	if err := s.CreateUser(ctx, u, Audit(u, "create"), idem("k1", u, At(time.Minute))); !errors.Is(err, onboarding.ErrIdempotencyKeyUsed) {
		t.Errorf("retry of the same create: err = %v, want ErrIdempotencyKeyUsed", err)
	}
	check("after refused reuses")
	if _, ok, err := s.Idempotency(ctx, "k2", At(0)); ok || err != nil {
		t.Errorf("unknown key: found %v, err %v", ok, err)
	}
}

func testIdempotencyExpires(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	u := User(1, "ann@example.com")
	if err := s.CreateUser(ctx, u, Audit(u, "create"), idem("k1", u, At(0))); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{24*time.Hour + time.Second, 25 * time.Hour} { // after ExpiresAt
		if _, ok, err := s.Idempotency(ctx, "k1", At(d)); ok || err != nil {
			t.Errorf("record at +%v: found %v, err %v; want expired", d, ok, err)
		}
	}
	later := At(25 * time.Hour)
	other := User(2, "bob@example.com")
	if err := s.CreateUser(ctx, other, Audit(other, "create"), idem("k1", other, later)); err != nil {
		t.Fatalf("reusing an expired key: %v", err)
	}
	rec, ok, err := s.Idempotency(ctx, "k1", later)
	if err != nil || !ok || rec.User.ID != other.ID || rec.Fingerprint != "fp-u-0002" {
		t.Errorf("record after reuse: %+v %v %v", rec, ok, err)
	}
	SameUser(t, mustGet(t, s, other.ID), other)
}

// mixedCase spells email in the letter case picked by the bits of n.
func mixedCase(email string, n int) string {
	b := []byte(email)
	for j, c := range b {
		if c >= 'a' && c <= 'z' && (n>>(j%6))&1 == 1 {
			b[j] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func testConcurrentCreates(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	const n = 50
	const email = "race.winner@example.com"
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// The domain stores emails lower-case; the store must not
			// rely on it.
			u := User(i+1, mixedCase(email, i))
			errs[i] = s.CreateUser(ctx, u, Audit(u, "create"), nil)
		})
	}
	wg.Wait()
	won, taken := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, user.ErrEmailTaken):
			taken++
		default:
			t.Errorf("create %d: unexpected error: %v", i+1, err)
		}
	}
	if won != 1 || taken != n-1 {
		t.Errorf("%d created, %d refused; want 1 and %d", won, taken, n-1)
	}
	if got := walk(t, s, onboarding.ListQuery{Email: email}); len(got) != 1 {
		t.Errorf("list by email: %v, want one user", got)
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
		wg.Go(func() {
			m := u
			m.Version, m.JobTitle = 2, fmt.Sprintf("Title %d", i)
			errs[i] = s.UpdateUser(context.Background(), m, 1, Audit(m, "edit"))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("updates %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, user.ErrVersionConflict):
			t.Errorf("update %d: unexpected error: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no update won")
	}
	if got := mustGet(t, s, u.ID); got.Version != 2 || got.JobTitle != fmt.Sprintf("Title %d", winner) {
		t.Errorf("stored %d %q, want the winner's version 2 %q", got.Version, got.JobTitle, fmt.Sprintf("Title %d", winner))
	}
	if n := len(history(t, s, u.ID)); n != 2 {
		t.Errorf("history has %d entries, want 2", n)
	}
}
