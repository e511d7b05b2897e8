package storetest

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// testForeignCursor: a cursor is good only on the store that handed it
// out. Two stores with the same users (so every position exists in both)
// stand for two deployments: each signs with its own secret key, so a
// cursor from one is refused by the other, with the cursor field named.
func testForeignCursor(t *testing.T, a, b onboarding.Store) {
	ctx := context.Background()
	for _, s := range []onboarding.Store{a, b} {
		for n := 1; n <= 3; n++ {
			mustCreate(t, s, User(n, strings.Repeat("x", n)+"@example.com"))
		}
		u := User(1, "x@example.com")
		for v := int64(2); v <= 3; v++ {
			u.Version = v
			mustUpdate(t, s, u, v-1)
		}
	}
	p, err := a.ListUsers(ctx, onboarding.ListQuery{Limit: 1})
	if err != nil || p.NextCursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, p.NextCursor)
	}
	if _, err := a.ListUsers(ctx, onboarding.ListQuery{Limit: 1, Cursor: p.NextCursor}); err != nil {
		t.Fatalf("the store's own cursor: %v", err)
	}
	_, err = b.ListUsers(ctx, onboarding.ListQuery{Limit: 1, Cursor: p.NextCursor})
	checkCursorRefused(t, "a list cursor of another store", err)

	h, err := a.History(ctx, "u-0001", 1, "")
	if err != nil || h.NextCursor == "" {
		t.Fatalf("first history page: %v, cursor %q", err, h.NextCursor)
	}
	_, err = b.History(ctx, "u-0001", 1, h.NextCursor)
	checkCursorRefused(t, "a history cursor of another store", err)
}

// testTamperedCursor: a cursor edited to point elsewhere, with its MAC
// kept, or with the MAC cut short, is refused.
func testTamperedCursor(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	for n := 1; n <= 3; n++ {
		mustCreate(t, s, User(n, strings.Repeat("y", n)+"@example.com"))
	}
	p, err := s.ListUsers(ctx, onboarding.ListQuery{Limit: 1})
	if err != nil || p.NextCursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, p.NextCursor)
	}
	pos, mac, ok := strings.Cut(p.NextCursor, ".")
	if !ok {
		t.Fatalf("cursor %q has no MAC part", p.NextCursor)
	}
	moved := base64.RawURLEncoding.EncodeToString([]byte("u-0002")) + "." + mac
	for _, c := range []string{moved, pos + "." + mac[:len(mac)-2], pos, pos + "." + strings.ToUpper(mac)} {
		if c == p.NextCursor {
			continue
		}
		_, err := s.ListUsers(ctx, onboarding.ListQuery{Limit: 1, Cursor: c})
		checkCursorRefused(t, "tampered cursor "+c, err)
	}
}

func checkCursorRefused(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, onboarding.ErrBadCursor) {
		t.Errorf("%s: err = %v, want ErrBadCursor", what, err)
		return
	}
	var fields []string
	for _, f := range user.ErrorFields(err) {
		fields = append(fields, f.Field)
	}
	if !slices.Contains(fields, "cursor") {
		t.Errorf("%s: fields %v, want the cursor named", what, fields)
	}
}
