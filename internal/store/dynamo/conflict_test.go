package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamotest"
	"github.com/opsos/onboarding/internal/store/storetest"
	"github.com/opsos/onboarding/internal/user"
)

// sleeps records the backoff's waits instead of sleeping; the jitter is
// none, so each wait is the lower bound of its step.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

func noJitter(time.Duration) time.Duration { return 0 }

func conflicting(t *testing.T, conflict func(int) bool) (*dynamo.Store, *dynamotest.Conflicts, *sleeps) {
	db, name := newTable(t)
	c := dynamotest.NewConflicts(db, conflict)
	sl := &sleeps{}
	return dynamo.New(c, name, dynamo.WithRetry(dynamo.Retry{Base: 20 * time.Millisecond, Sleep: sl.sleep, Jitter: noJitter})), c, sl
}

// TestConflictsThenSuccess: a write that conflicts a few times is tried
// again after growing waits and then lands, once.
func TestConflictsThenSuccess(t *testing.T) {
	ctx := context.Background()
	s, c, sl := conflicting(t, dynamotest.FirstN(3))
	u := storetest.User(1, "ann@example.com")
	if err := s.CreateUser(ctx, u, storetest.Audit(u, "create"), nil); err != nil {
		t.Fatalf("create after 3 conflicts: %v", err)
	}
	m := u
	m.Version, m.JobTitle = 2, "Planner"
	if err := s.UpdateUser(ctx, m, 1, storetest.Audit(m, "edit")); err != nil {
		t.Fatalf("update after 3 conflicts: %v", err)
	}
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	if got := sl.got(); !slices.Equal(got, append(slices.Clone(want), want...)) {
		t.Errorf("waits %v, want %v twice", got, want)
	}
	if c.Injected() != 6 || c.Attempts() != 8 {
		t.Errorf("%d conflicts in %d attempts, want 6 in 8", c.Injected(), c.Attempts())
	}
	if got, err := s.GetUser(ctx, u.ID); err != nil || got.Version != 2 || got.JobTitle != "Planner" {
		t.Errorf("stored %+v %v", got, err)
	}
	if h, err := s.History(ctx, u.ID, 10, ""); err != nil || len(h.Entries) != 2 {
		t.Errorf("history %d entries %v, want 2", len(h.Entries), err)
	}
}

// TestConflictsForever: when every attempt conflicts, the store gives up
// after its attempts, within a second of waiting, with the domain's
// answer rather than an internal error.
func TestConflictsForever(t *testing.T) {
	ctx := context.Background()
	db, name := newTable(t)
	plain := dynamo.New(db, name)
	sl := &sleeps{}
	c := dynamotest.NewConflicts(db, dynamotest.Forever)
	s := dynamo.New(c, name, dynamo.WithRetry(dynamo.Retry{Sleep: sl.sleep}))
	taken := storetest.User(1, "ann@example.com")
	if err := plain.CreateUser(ctx, taken, storetest.Audit(taken, "create"), nil); err != nil {
		t.Fatal(err)
	}
	idem := func(k string, u user.User) *onboarding.Idempotency {
		return &onboarding.Idempotency{Key: k, Fingerprint: "fp", User: u, CreatedAt: storetest.At(0), ExpiresAt: storetest.At(time.Hour)}
	}
	keyed := storetest.User(3, "cy@example.com")
	if err := plain.CreateUser(ctx, keyed, storetest.Audit(keyed, "create"), idem("k1", keyed)); err != nil {
		t.Fatal(err)
	}
	fresh := storetest.User(2, "bo@example.com")
	stale := taken
	stale.Version, stale.JobTitle = 2, "Planner"
	for _, tt := range []struct {
		name  string
		write func() error
		want  error
		code  user.Code
	}{
		{"create of a free email", func() error { return s.CreateUser(ctx, fresh, storetest.Audit(fresh, "create"), nil) },
			onboarding.ErrWriteConflict, user.CodeConflict},
		{"create of a taken email", func() error {
			u := storetest.User(4, "ANN@example.com")
			return s.CreateUser(ctx, u, storetest.Audit(u, "create"), nil)
		}, user.ErrEmailTaken, user.CodeConflict},
		{"create with a used key", func() error {
			u := storetest.User(5, "dee@example.com")
			return s.CreateUser(ctx, u, storetest.Audit(u, "create"), idem("k1", u))
		}, onboarding.ErrIdempotencyKeyUsed, user.CodeConflict},
		{"update", func() error { return s.UpdateUser(ctx, stale, 1, storetest.Audit(stale, "edit")) },
			user.ErrVersionConflict, user.CodeStale},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, slept := c.Attempts(), len(sl.got())
			err := tt.write()
			if !errors.Is(err, tt.want) || user.ErrorCode(err) != tt.code {
				t.Errorf("err %v (code %s), want %v (code %s)", err, user.ErrorCode(err), tt.want, tt.code)
			}
			if n := c.Attempts() - before; n != dynamo.DefaultRetry.Attempts {
				t.Errorf("%d attempts, want %d", n, dynamo.DefaultRetry.Attempts)
			}
			var total time.Duration
			for _, d := range sl.got()[slept:] {
				total += d
			}
			if total > time.Second {
				t.Errorf("waited %v in all, want at most a second", total)
			}
		})
	}
	if got, _ := plain.GetUser(ctx, taken.ID); got.Version != 1 {
		t.Errorf("the conflicted update was written: version %d", got.Version)
	}
	if _, err := plain.GetUser(ctx, fresh.ID); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("the conflicted create was written: %v", err)
	}
}

// TestConflictThenConditionFails: a transaction that conflicts and, tried
// again, fails its condition gets the condition's answer.
func TestConflictThenConditionFails(t *testing.T) {
	ctx := context.Background()
	s, c, _ := conflicting(t, dynamotest.FirstAttempt)
	u := storetest.User(1, "ann@example.com")
	if err := s.CreateUser(ctx, u, storetest.Audit(u, "create"), nil); err != nil {
		t.Fatal(err)
	}
	twin := storetest.User(2, "Ann@Example.com")
	if err := s.CreateUser(ctx, twin, storetest.Audit(twin, "create"), nil); !errors.Is(err, user.ErrEmailTaken) {
		t.Errorf("create of a taken email: %v, want ErrEmailTaken", err)
	}
	stale := u
	stale.Version = 5
	if err := s.UpdateUser(ctx, stale, 4, storetest.Audit(stale, "edit")); !errors.Is(err, user.ErrVersionConflict) {
		t.Errorf("stale update: %v, want ErrVersionConflict", err)
	}
	if c.Injected() == 0 {
		t.Error("no conflict was injected")
	}
}

// TestConflictWaitHonoursContext: a caller that gives up stops the retries.
func TestConflictWaitHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db, name := newTable(t)
	c := dynamotest.NewConflicts(db, dynamotest.Forever)
	s := dynamo.New(c, name, dynamo.WithRetry(dynamo.Retry{Sleep: func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}}))
	u := storetest.User(1, "ann@example.com")
	if err := s.CreateUser(ctx, u, storetest.Audit(u, "create"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if c.Attempts() != 1 {
		t.Errorf("%d attempts after the context was cancelled, want 1", c.Attempts())
	}
}

// TestContractUnderConflicts runs the store's contract with the first
// attempt of every write refused for a conflict, as AWS may.
func TestContractUnderConflicts(t *testing.T) {
	storetest.Run(t, func(t *testing.T) onboarding.Store {
		s, _ := dynamotest.ConflictingStore(t, dynamotest.FirstAttempt)
		return s
	})
}

func TestClaimsUnderConflicts(t *testing.T) {
	storetest.RunClaims(t, func(t *testing.T) release.Claims {
		s, _ := dynamotest.ConflictingStore(t, dynamotest.FirstAttempt)
		return s
	})
}

// TestClaimConflictsForever: a claim that never gets through is busy, so
// the record is retried later rather than failed.
func TestClaimConflictsForever(t *testing.T) {
	ctx := context.Background()
	s, _ := dynamotest.ConflictingStore(t, dynamotest.Forever)
	if st, err := s.Claim(ctx, "invite:u1:v2", storetest.At(0), time.Minute); err != nil || st != release.ClaimBusy {
		t.Errorf("claim: %v %v, want busy", st, err)
	}
	if err := s.Complete(ctx, "invite:u1:v2", storetest.At(0)); err == nil {
		t.Error("complete that never got through reported success")
	}
}

// TestRacingCreatesUnderConflicts: concurrent retries of one create, with
// conflicts injected, make one user; every other answer is the replay of
// that user or a conflict, never an internal error.
func TestRacingCreatesUnderConflicts(t *testing.T) {
	for _, tt := range []struct {
		name     string
		conflict func(int) bool
	}{
		{"first attempts conflict", dynamotest.FirstAttempt},
		{"every other attempt conflicts", func(n int) bool { return n%2 == 0 }},
		{"conflicts forever", dynamotest.Forever},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db, name := newTable(t)
			plain := dynamo.New(db, name)
			s := dynamo.New(dynamotest.NewConflicts(db, tt.conflict), name, dynamo.WithRetry(dynamo.Retry{Sleep: dynamotest.NoSleep}))
			var n atomic.Int64
			ids := func() string { return fmt.Sprintf("id-%04d", n.Add(1)) }
			now := func() time.Time { return storetest.At(0) }
			svc := onboarding.New(s, access.DefaultCatalogue(), onboarding.Config{}, now, ids)
			a, _, err := onboarding.New(plain, access.DefaultCatalogue(), onboarding.Config{}, now, ids).Bootstrap(ctx, "admin@example.com", "")
			if err != nil {
				t.Fatal(err)
			}
			actor, err := svc.Authorize(ctx, onboarding.Identity{UserID: a.ID, Source: onboarding.SourceCLI})
			if err != nil {
				t.Fatal(err)
			}
			d := user.Draft{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Role: "staff"}
			const racers = 10
			var wg sync.WaitGroup
			got := make([]string, racers)
			errs := make([]error, racers)
			for i := range racers {
				wg.Go(func() {
					u, _, err := svc.Create(ctx, actor, d, "retry-key")
					got[i], errs[i] = u.ID, err
				})
			}
			wg.Wait()
			made := map[string]bool{}
			for i, err := range errs {
				switch {
				case err == nil:
					made[got[i]] = true
				case user.ErrorCode(err) != user.CodeConflict:
					t.Errorf("request %d: %v (code %s), want the user or a conflict", i, err, user.ErrorCode(err))
				}
			}
			p, err := plain.ListUsers(ctx, onboarding.ListQuery{Email: "ann@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if len(made) > 1 || len(p.Users) > 1 {
				t.Errorf("answered users %v; stored %d", made, len(p.Users))
			}
			for id := range made {
				if len(p.Users) != 1 || p.Users[0].ID != id {
					t.Errorf("answered user %s is not the stored one %+v", id, p.Users)
				}
			}
			if len(made) == 0 && len(p.Users) != 0 {
				t.Errorf("a user was stored but nobody was told: %+v", p.Users)
			}
		})
	}
}
