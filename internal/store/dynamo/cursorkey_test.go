package dynamo_test

import (
	"context"
	"sync"
	"testing"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/storetest"
)

// Every function of a deployment opens its own Store on the same table;
// they must agree on the cursor key even when their first lists race, so
// a cursor from one Lambda instance works on the next.
func TestCursorKeyIsSharedByEveryStoreOnTheTable(t *testing.T) {
	ctx := context.Background()
	db, name := newTable(t)
	seed := dynamo.New(db, name)
	for n := 1; n <= 3; n++ {
		if err := seed.CreateUser(ctx, storetest.User(n, string(rune('a'+n))+"@example.com"), storetest.Audit(storetest.User(n, ""), "create"), nil); err != nil {
			t.Fatal(err)
		}
	}
	stores := make([]*dynamo.Store, 6)
	cursors := make([]string, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		stores[i] = dynamo.New(db, name)
		wg.Go(func() {
			p, err := stores[i].ListUsers(ctx, onboarding.ListQuery{Limit: 1})
			if err != nil {
				t.Error(err)
			}
			cursors[i] = p.NextCursor
		})
	}
	wg.Wait()
	for i, c := range cursors {
		next := stores[(i+1)%len(stores)]
		if p, err := next.ListUsers(ctx, onboarding.ListQuery{Limit: 1, Cursor: c}); err != nil || len(p.Users) != 1 || p.Users[0].ID != "u-0002" {
			t.Errorf("store %d's cursor on another store: %v %v", i, p.Users, err)
		}
	}
}
