package dynamo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/uuid"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamotest"
	"github.com/opsos/onboarding/internal/user"
)

// The DynamoDB requests each use case a manager performs sends, counted
// on the wire: the real onboarding service on the DynamoDB store, whose
// client counts every HTTP request by its X-Amz-Target, and every call, so
// that an SDK retry shows as such. A request is cost and latency in Lambda
// (one round trip each), so the counts are the figure to watch; the calls
// are deterministic, and TestRequestsPerUseCaseAreBounded holds them, so
// that a change adding a scan or a read per user fails.

// ops counts requests by operation name ("GetItem").
type ops map[string]int

func (o ops) total() int {
	n := 0
	for _, c := range o {
		n += c
	}
	return n
}

// String reads "3 (GetItem 2, TransactWriteItems 1)".
func (o ops) String() string {
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(o)) {
		parts = append(parts, fmt.Sprintf("%s %d", op, o[op]))
	}
	return fmt.Sprintf("%d (%s)", o.total(), strings.Join(parts, ", "))
}

// requests is what a use case sent.
type requests struct {
	// sent counts the HTTP requests, each attempt of a retried call too.
	sent ops
	// calls counts the operations the store called: sent less retries.
	calls ops
	// capacity is the capacity units DynamoDB said the calls consumed.
	capacity float64
	// failed says why attempts failed, when some did and were retried.
	failed []string
}

func newRequests() requests { return requests{sent: ops{}, calls: ops{}} }

func (r *requests) add(o requests) {
	for op, n := range o.sent {
		r.sent[op] += n
	}
	for op, n := range o.calls {
		r.calls[op] += n
	}
	r.capacity += o.capacity
	r.failed = append(r.failed, o.failed...)
}

// requestCounter counts what a DynamoDB client sends: as its HTTP client,
// every request on the wire; as a middleware, every call.
type requestCounter struct {
	next dynamodb.HTTPClient
	mu   sync.Mutex
	seen requests
}

func newRequestCounter() *requestCounter {
	return &requestCounter{next: awshttp.NewBuildableClient(), seen: newRequests()}
}

// Do implements dynamodb.HTTPClient.
func (c *requestCounter) Do(r *http.Request) (*http.Response, error) {
	// "DynamoDB_20120810.TransactWriteItems"
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndexByte(target, '.')+1:]
	resp, err := c.next.Do(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen.sent[op]++
	switch {
	case err != nil:
		c.seen.failed = append(c.seen.failed, fmt.Sprintf("%s: %v", op, err))
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		c.seen.failed = append(c.seen.failed, fmt.Sprintf("%s: HTTP %d", op, resp.StatusCode))
	}
	return resp, err
}

// take returns what was sent since the last take and starts afresh.
func (c *requestCounter) take() requests {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.seen
	c.seen = newRequests()
	return r
}

// middleware is a client middleware that counts each call once, however
// often it is retried, and asks it for its consumed capacity (the store
// does not), adding that up. Asking changes no request count. The units
// are DynamoDB Local's accounting, close to but not AWS's bill.
func (c *requestCounter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			// *dynamodb.GetItemInput is a GetItem.
			op := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%T", in.Parameters), "*dynamodb."), "Input")
			c.mu.Lock()
			c.seen.calls[op]++
			c.mu.Unlock()
			const total = types.ReturnConsumedCapacityTotal
			switch p := in.Parameters.(type) {
			case *dynamodb.GetItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.QueryInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.ScanInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.PutItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.UpdateItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.DeleteItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.TransactWriteItemsInput:
				p.ReturnConsumedCapacity = total
			}
			out, md, err := next.HandleInitialize(ctx, in)
			var used []types.ConsumedCapacity
			switch r := out.Result.(type) {
			case *dynamodb.GetItemOutput:
				used = appendCapacity(used, r.ConsumedCapacity)
			case *dynamodb.QueryOutput:
				used = appendCapacity(used, r.ConsumedCapacity)
			case *dynamodb.ScanOutput:
				used = appendCapacity(used, r.ConsumedCapacity)
			case *dynamodb.PutItemOutput:
				used = appendCapacity(used, r.ConsumedCapacity)
			case *dynamodb.UpdateItemOutput:
				used = appendCapacity(used, r.ConsumedCapacity)
			case *dynamodb.DeleteItemOutput:
				used = appendCapacity(used, r.ConsumedCapacity)
			case *dynamodb.TransactWriteItemsOutput:
				used = append(used, r.ConsumedCapacity...)
			}
			c.mu.Lock()
			for _, u := range used {
				if u.CapacityUnits != nil {
					c.seen.capacity += *u.CapacityUnits
				}
			}
			c.mu.Unlock()
			return out, md, err
		}), middleware.After)
}

func appendCapacity(used []types.ConsumedCapacity, c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return used
	}
	return append(used, *c)
}

// env is the onboarding service on a fresh table, with a manager signed in.
type env struct {
	ctx     context.Context
	store   *dynamo.Store
	svc     *onboarding.Service
	counter *requestCounter
	admin   user.User
	actor   onboarding.Actor
	n       int // numbers the users env makes
}

// adminSlackUserID links the administrator to Slack, for the Slack door.
const adminSlackUserID = "U0ADMIN"

func newEnv(tb testing.TB) *env {
	tb.Helper()
	endpoint := emulators.DynamoDB(tb)
	_, table := dynamotest.Table(tb)
	c := newRequestCounter()
	db := dynamodb.NewFromConfig(dynamo.LocalConfig(endpoint), func(o *dynamodb.Options) {
		o.HTTPClient = c
		o.APIOptions = append(o.APIOptions, c.middleware)
	})
	store := dynamo.New(db, table)
	svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{PhoneRegion: "GB"}, time.Now,
		func() string { return uuid.Must(uuid.NewV7()).String() })
	ctx := context.Background()
	admin, _, err := svc.Bootstrap(ctx, "admin@example.com", adminSlackUserID)
	if err != nil {
		tb.Fatal(err)
	}
	actor, err := svc.Authorize(ctx, onboarding.Identity{UserID: admin.ID, Source: onboarding.SourceAPI})
	if err != nil {
		tb.Fatal(err)
	}
	// The cursor key is read (or made) once per process, on the first
	// list: not a cost of any one use case.
	if _, err := store.ListUsers(ctx, onboarding.ListQuery{Limit: 1}); err != nil {
		tb.Fatal(err)
	}
	c.take()
	return &env{ctx: ctx, store: store, svc: svc, counter: c, admin: admin, actor: actor}
}

// authorize signs the administrator in again, as each request does, so
// that the next call decides by the roles as they are now; its requests
// are Authorize's, counted there.
func (e *env) authorize(tb testing.TB) {
	tb.Helper()
	actor, err := e.svc.Authorize(e.ctx, onboarding.Identity{UserID: e.admin.ID, Source: onboarding.SourceAPI})
	if err != nil {
		tb.Fatal(err)
	}
	e.actor = actor
}

// draft returns a new staff member in Introduction Mode.
func (e *env) draft() user.Draft {
	e.n++
	return user.Draft{
		Type: user.Internal, FirstName: "Ann", LastName: fmt.Sprintf("Lee %d", e.n),
		Email: fmt.Sprintf("ann.lee.%d@example.com", e.n), JobTitle: "Picker", Role: "staff",
	}
}

func (e *env) create(tb testing.TB, d user.Draft) user.User {
	tb.Helper()
	u, _, err := e.svc.Create(e.ctx, e.actor, d, "")
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func (e *env) release(tb testing.TB, u user.User) user.User {
	tb.Helper()
	u, err := e.svc.Release(e.ctx, e.actor, u.ID, u.Version)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// invited records what the release worker writes once it has sent the
// invitation.
func (e *env) invited(tb testing.TB, u user.User) user.User {
	tb.Helper()
	n := u.Clone()
	now := time.Now().UTC()
	n.Status, n.StatusReason, n.InvitedAt = user.StatusInvited, "", now
	n.Version, n.UpdatedAt, n.UpdatedBy = u.Version+1, now, release.Actor
	a := onboarding.AuditEntry{UserID: n.ID, Audit: onboarding.Audit{
		Version: n.Version, At: now, ActorID: release.Actor, ActorEmail: release.Actor,
		Source: onboarding.SourceRelease, Action: string(n.Status), Changes: user.Diff(u, n),
	}}
	if err := e.store.UpdateUser(e.ctx, n, u.Version, a); err != nil {
		tb.Fatal(err)
	}
	return n
}

// role stores a new custom role, as a manager creates one, and signs the
// administrator in again, as their next request would, to see it.
func (e *env) role(tb testing.TB) access.Role {
	tb.Helper()
	e.authorize(tb) // as a new request: the last call may have changed the roles
	r, err := e.svc.CreateRole(e.ctx, e.actor, e.roleDraft())
	if err != nil {
		tb.Fatal(err)
	}
	e.authorize(tb)
	return r
}

// roleDraft returns a new custom role, named apart from every other.
func (e *env) roleDraft() onboarding.RoleDraft {
	e.n++
	return onboarding.RoleDraft{Name: fmt.Sprintf("Night Supervisor %d", e.n), Description: "Runs the night shift",
		Permissions: []string{"planner.view", "planner.edit", "users.view"}}
}

// The seeded population the list use cases read: more users than one page
// and than one Query batch, so that paging shows in the counts.
const (
	seededStaff    = 120
	seededPlanners = 2
	// seededUsers counts the administrator too.
	seededUsers = 1 + seededStaff + seededPlanners
)

// seed adds the population, several writers at a time.
func (e *env) seed(tb testing.TB) {
	tb.Helper()
	drafts := make(chan user.Draft)
	errs := make(chan error, seededStaff+seededPlanners)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for d := range drafts {
				if _, _, err := e.svc.Create(e.ctx, e.actor, d, ""); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range seededStaff + seededPlanners {
		d := e.draft()
		if i >= seededStaff {
			d.Role = "planner"
		}
		drafts <- d
	}
	close(drafts)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	e.counter.take()
}

// A useCase is one thing a manager does, as one call of the service.
type useCase struct {
	name string
	// users is how many users one call acts on, when more than one.
	users int
	// seeded runs the case on the seeded population, which it must not
	// change, instead of a fresh table.
	seeded bool
	// prepare sets up one call, outside the count, and returns it.
	prepare func(tb testing.TB, e *env) func() error
}

// bulkUsers is how many users the bulk cases act on.
const bulkUsers = 10

func useCases() []useCase {
	list := func(q onboarding.ListQuery, want int) func(testing.TB, *env) func() error {
		return func(tb testing.TB, e *env) func() error {
			return func() error {
				p, err := e.svc.List(e.ctx, e.actor, q)
				if err == nil && len(p.Users) != want {
					err = fmt.Errorf("listed %d users, want %d", len(p.Users), want)
				}
				return err
			}
		}
	}
	// introductions keeps bulkUsers users in Introduction Mode.
	introductions := func(tb testing.TB, e *env) {
		p, err := e.store.ListUsers(e.ctx, onboarding.ListQuery{Status: user.StatusIntroduction})
		if err != nil {
			tb.Fatal(err)
		}
		for range bulkUsers - len(p.Users) {
			e.create(tb, e.draft())
		}
	}
	bulk := onboarding.BulkSelection{Role: "staff"}
	return []useCase{
		{name: "Authorize", prepare: func(tb testing.TB, e *env) func() error {
			return func() error {
				_, err := e.svc.Authorize(e.ctx, onboarding.Identity{UserID: e.admin.ID, Source: onboarding.SourceAPI})
				return err
			}
		}},
		{name: "AuthorizeSlack", prepare: func(tb testing.TB, e *env) func() error {
			return func() error {
				_, err := e.svc.Authorize(e.ctx, onboarding.Identity{SlackUserID: adminSlackUserID, Source: onboarding.SourceSlack})
				return err
			}
		}},
		{name: "Create", prepare: func(tb testing.TB, e *env) func() error {
			d := e.draft()
			return func() error { _, _, err := e.svc.Create(e.ctx, e.actor, d, ""); return err }
		}},
		{name: "CreateIdempotencyKey", prepare: func(tb testing.TB, e *env) func() error {
			d := e.draft()
			key := fmt.Sprintf("key-%d", e.n)
			return func() error { _, _, err := e.svc.Create(e.ctx, e.actor, d, key); return err }
		}},
		{name: "CreateSlackUser", prepare: func(tb testing.TB, e *env) func() error {
			d := e.draft()
			d.SlackUserID = fmt.Sprintf("U%06d", e.n)
			return func() error { _, _, err := e.svc.Create(e.ctx, e.actor, d, ""); return err }
		}},
		{name: "Get", prepare: func(tb testing.TB, e *env) func() error {
			u := e.create(tb, e.draft())
			return func() error { _, err := e.svc.Get(e.ctx, e.actor, u.ID); return err }
		}},
		{name: "List", seeded: true, prepare: list(onboarding.ListQuery{}, onboarding.DefaultLimit)},
		{name: "ListByStatus", seeded: true, prepare: list(onboarding.ListQuery{Status: user.StatusIntroduction}, onboarding.DefaultLimit)},
		{name: "ListByEmail", seeded: true, prepare: list(onboarding.ListQuery{Email: "Ann.Lee.77@example.com"}, 1)},
		{name: "ListByRole", seeded: true, prepare: list(onboarding.ListQuery{Role: "planner"}, seededPlanners)},
		{name: "EditRole", prepare: func(tb testing.TB, e *env) func() error {
			u := e.create(tb, e.draft())
			role := "supervisor"
			return func() error {
				_, err := e.svc.Edit(e.ctx, e.actor, u.ID, u.Version, user.Patch{Role: &role})
				return err
			}
		}},
		{name: "EditEmail", prepare: func(tb testing.TB, e *env) func() error {
			u := e.create(tb, e.draft())
			email := "new." + u.Email
			return func() error {
				_, err := e.svc.Edit(e.ctx, e.actor, u.ID, u.Version, user.Patch{Email: &email})
				return err
			}
		}},
		{name: "Release", prepare: func(tb testing.TB, e *env) func() error {
			u := e.create(tb, e.draft())
			return func() error { _, err := e.svc.Release(e.ctx, e.actor, u.ID, u.Version); return err }
		}},
		{name: "Hold", prepare: func(tb testing.TB, e *env) func() error {
			u := e.invited(tb, e.release(tb, e.create(tb, e.draft())))
			return func() error { _, err := e.svc.Hold(e.ctx, e.actor, u.ID, u.Version); return err }
		}},
		{name: "Resend", prepare: func(tb testing.TB, e *env) func() error {
			u := e.invited(tb, e.release(tb, e.create(tb, e.draft())))
			return func() error { _, err := e.svc.Resend(e.ctx, e.actor, u.ID, u.Version); return err }
		}},
		{name: "History", prepare: func(tb testing.TB, e *env) func() error {
			u := e.invited(tb, e.release(tb, e.create(tb, e.draft())))
			return func() error {
				h, err := e.svc.History(e.ctx, e.actor, u.ID, 0, "")
				if err == nil && len(h.Entries) != 3 {
					err = fmt.Errorf("history has %d entries, want 3", len(h.Entries))
				}
				return err
			}
		}},
		{name: "Status", prepare: func(tb testing.TB, e *env) func() error {
			u := e.invited(tb, e.release(tb, e.create(tb, e.draft())))
			return func() error { _, _, err := e.svc.Status(e.ctx, e.actor, u.ID); return err }
		}},
		{name: "CheckCreate", prepare: func(tb testing.TB, e *env) func() error {
			d := e.draft()
			return func() error { _, err := e.svc.CheckCreate(e.ctx, e.actor, d); return err }
		}},
		{name: "CheckCreateSlackUser", prepare: func(tb testing.TB, e *env) func() error {
			d := e.draft()
			d.SlackUserID = fmt.Sprintf("U%06d", e.n)
			return func() error { _, err := e.svc.CheckCreate(e.ctx, e.actor, d); return err }
		}},
		{name: "PreviewRelease", users: bulkUsers, prepare: func(tb testing.TB, e *env) func() error {
			introductions(tb, e)
			return func() error {
				p, err := e.svc.PreviewRelease(e.ctx, e.actor, bulk, 5)
				if err == nil && p.Count != bulkUsers {
					err = fmt.Errorf("preview counts %d users, want %d", p.Count, bulkUsers)
				}
				return err
			}
		}},
		{name: "ReleaseMany", users: bulkUsers, prepare: func(tb testing.TB, e *env) func() error {
			introductions(tb, e)
			return func() error {
				r, err := e.svc.ReleaseMany(e.ctx, e.actor, bulk, bulkUsers)
				if err == nil && (len(r.Released) != bulkUsers || len(r.Failed) > 0) {
					err = fmt.Errorf("released %d users, %d failed, want %d released", len(r.Released), len(r.Failed), bulkUsers)
				}
				return err
			}
		}},
		// The roles' use cases (issue 14), named apart from EditRole above,
		// which changes a user's role.
		// GET /roles answers with the roles its Authorize read, so it is
		// measured whole, through the API's handler, Authorize included.
		{name: "RoleList", prepare: func(tb testing.TB, e *env) func() error {
			e.role(tb)
			api := httpapi.New(e.svc, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			ev := events.APIGatewayV2HTTPRequest{RawPath: "/roles"}
			ev.RequestContext.HTTP.Method = http.MethodGet
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{httpapi.ClaimUserID: e.admin.ID}}}
			return func() error {
				resp, err := api.Handle(e.ctx, ev)
				if err == nil && (resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "Night Supervisor")) {
					err = fmt.Errorf("GET /roles: %d %s, want the custom role listed", resp.StatusCode, resp.Body)
				}
				return err
			}
		}},
		{name: "RoleGet", prepare: func(tb testing.TB, e *env) func() error {
			r := e.role(tb)
			return func() error { _, err := e.svc.GetRole(e.ctx, e.actor, r.ID); return err }
		}},
		{name: "RoleCreate", prepare: func(tb testing.TB, e *env) func() error {
			d := e.roleDraft()
			return func() error { _, err := e.svc.CreateRole(e.ctx, e.actor, d); return err }
		}},
		{name: "RoleEdit", prepare: func(tb testing.TB, e *env) func() error {
			r := e.role(tb)
			narrower := []string{"planner.view", "users.view"}
			return func() error {
				_, err := e.svc.EditRole(e.ctx, e.actor, r.ID, r.Version, onboarding.RolePatch{Permissions: &narrower})
				return err
			}
		}},
		// Deleting counts the role's holders first, so it runs on the
		// seeded population: the count reads users as ListByRole does. The
		// role it deletes is made for it, and no user holds it.
		{name: "RoleDelete", seeded: true, prepare: func(tb testing.TB, e *env) func() error {
			r := e.role(tb)
			return func() error { return e.svc.DeleteRole(e.ctx, e.actor, r.ID, r.Version) }
		}},
		{name: "RoleHistory", prepare: func(tb testing.TB, e *env) func() error {
			r := e.role(tb)
			narrower := []string{"planner.view", "users.view"}
			if _, err := e.svc.EditRole(e.ctx, e.actor, r.ID, r.Version, onboarding.RolePatch{Permissions: &narrower}); err != nil {
				tb.Fatal(err)
			}
			return func() error {
				h, err := e.svc.RoleHistory(e.ctx, e.actor, r.ID, 0, "")
				if err == nil && len(h.Entries) != 2 {
					err = fmt.Errorf("the role's history has %d entries, want 2", len(h.Entries))
				}
				return err
			}
		}},
	}
}

// measure runs one call of uc on e and returns the requests it sent.
func measure(tb testing.TB, e *env, uc useCase) requests {
	tb.Helper()
	call := uc.prepare(tb, e)
	e.authorize(tb)
	e.counter.take()
	err := call()
	got := e.counter.take()
	if err != nil {
		tb.Fatalf("%s: %v", uc.name, err)
	}
	return got
}

// seededEnv returns the environment of the seeded cases: made by the first
// subtest or sub-benchmark that asks, which it fails or skips, and kept
// until parent ends.
func seededEnv(parent testing.TB) func(testing.TB) *env {
	var e *env
	return func(tb testing.TB) *env {
		if e == nil {
			tb = cleanupOn{TB: tb, parent: parent}
			e = newEnv(tb)
			e.seed(tb)
		}
		return e
	}
}

// cleanupOn is a subtest's TB whose cleanups run when parent ends.
type cleanupOn struct {
	testing.TB
	parent testing.TB
}

func (c cleanupOn) Cleanup(f func()) { c.parent.Cleanup(f) }

// BenchmarkRequestsPerUseCase reports the DynamoDB requests of each use
// case, per call ("requests/op", and per operation such as "GetItem/op")
// and, for the bulk cases, per user. Run it with -benchtime 5x: the counts
// do not vary, and the time is DynamoDB Local's, not AWS's.
func BenchmarkRequestsPerUseCase(b *testing.B) {
	emulators.DynamoDB(b)
	seeded := seededEnv(b)
	for _, uc := range useCases() {
		b.Run(uc.name, func(b *testing.B) {
			var e *env
			if uc.seeded {
				e = seeded(b)
			} else {
				e = newEnv(b)
			}
			sum, calls := newRequests(), 0
			for b.Loop() {
				b.StopTimer()
				call := uc.prepare(b, e)
				e.authorize(b)
				e.counter.take()
				b.StartTimer()
				err := call()
				b.StopTimer()
				got := e.counter.take()
				if err != nil {
					b.Fatalf("%s: %v", uc.name, err)
				}
				sum.add(got)
				calls++
				b.StartTimer()
			}
			per := func(n float64) float64 { return n / float64(calls) }
			// What is sent, retries included; a retry is reported too, with
			// its cause, as it is the emulator's doing, not the use case's.
			b.ReportMetric(per(float64(sum.sent.total())), "requests/op")
			for op, n := range sum.sent {
				b.ReportMetric(per(float64(n)), op+"/op")
			}
			b.ReportMetric(per(sum.capacity), "capacity-units/op")
			if uc.users > 1 {
				b.ReportMetric(per(float64(sum.sent.total()))/float64(uc.users), "requests/user")
			}
			if retries := sum.sent.total() - sum.calls.total(); retries > 0 {
				b.ReportMetric(per(float64(retries)), "retries/op")
				b.Logf("%d requests were retries: %s", retries, strings.Join(sum.failed, "; "))
			}
		})
	}
}

// TestRequestsPerUseCaseAreBounded holds each use case to the DynamoDB
// requests it needs, so that a change adding a scan, a read per user or a
// needless round trip fails here rather than in the bill or the latency.
// Counts are exact where the use case inherently needs them.
func TestRequestsPerUseCaseAreBounded(t *testing.T) {
	type bound struct {
		// want is the exact requests per operation.
		want ops
		// atMost, when set, bounds the total instead of want.
		atMost int
		// exact, with atMost, are the requests per operation that are
		// exact within that bound.
		exact map[string]int
	}
	const (
		get   = "GetItem"
		query = "Query"
		txn   = "TransactWriteItems"
	)
	// A change of one user (edit, release, hold, resend) costs two: the
	// service reads the user to apply the rule (GetItem), then one
	// transaction writes the user, conditioned on the version and email the
	// service read, with its audit entry: the store reads nothing first.
	// The transaction also checks that the roles are still at the version
	// Authorize read (a ConditionCheck of the roles' version item): one
	// more item of the transaction, and its capacity, but no request.
	change := map[string]int{get: 1, txn: 1}
	// The roles in force are read once per request, by Authorize: one
	// Query of the roles' partition, never kept across requests, so that
	// a change to a role reaches every holder at once on every instance
	// (DESIGN.md §11). The use cases decide, and the answers show users,
	// by those roles, so no use case reads them again.
	withRoles := func(m map[string]int) map[string]int {
		out := map[string]int{query: 1}
		for k, v := range m {
			out[k] += v
		}
		return out
	}
	bounds := map[string]bound{
		// Once per API request: the user by id, strongly consistent.
		"Authorize": {want: withRoles(map[string]int{get: 1})},
		// Once per Slack command: the bySlackUser index (at most two users,
		// to notice a doubly linked Slack user).
		"AuthorizeSlack": {want: withRoles(map[string]int{query: 1})},
		// User, email guard and audit entry in one transaction, with the
		// check of the roles' version: nothing is read first, the
		// conditions do the checking.
		"Create": {want: map[string]int{txn: 1}},
		// The key's record is read first to replay a retry; it is then
		// written in the same transaction as the user.
		"CreateIdempotencyKey": {want: map[string]int{get: 1, txn: 1}},
		// A Slack user has no guard item: bySlackUser is asked whether
		// someone else is linked to it.
		"CreateSlackUser": {want: map[string]int{query: 1, txn: 1}},
		"Get":             {want: map[string]int{get: 1}},
		// The first page of 50 comes from one Query of byEntity, however
		// many users there are.
		"List": {want: map[string]int{query: 1}},
		// The status has its own index: one Query for a page.
		"ListByStatus": {want: map[string]int{query: 1}},
		// The email guard names the user, then the user is read: two
		// GetItems, never a Query.
		"ListByEmail": {want: map[string]int{get: 2}},
		// Role has no index: byEntity is read 100 items a Query and filtered,
		// so finding a rare role reads every user. That is a scan of the
		// index, bounded here so that it gets no worse than one Query per
		// 100 users.
		"ListByRole": {atMost: 1 + (seededUsers+99)/100},
		"EditRole":   {want: change},
		// An email change fails the email condition of the first try; the
		// store then reads the user and writes again with the guard moved
		// (delete old, put new) in that transaction. Email changes are rare
		// (Introduction Mode only): the common case saves the read instead.
		"EditEmail": {want: map[string]int{get: 2, txn: 2}},
		"Release":   {want: change},
		"Hold":      {want: change},
		"Resend":    {want: change},
		// The user is read to answer 404 for an unknown user, then one
		// Query of its audit entries.
		"History": {want: map[string]int{get: 1, query: 1}},
		// With no identity provider configured, the user's item only.
		"Status": {want: map[string]int{get: 1}},
		// The dry run checks the email guard only (not found: one GetItem).
		"CheckCreate": {want: map[string]int{get: 1}},
		// ... and bySlackUser for a Slack user, as Create does.
		"CheckCreateSlackUser": {want: map[string]int{get: 1, query: 1}},
		// The selection is one Query of byStatus (introduction) filtered by
		// role, not a read per user.
		"PreviewRelease": {want: map[string]int{query: 1}},
		// The selection, then one change per user: 1+2n requests.
		"ReleaseMany": {want: map[string]int{query: 1, get: bulkUsers, txn: bulkUsers}},
		// The whole GET /roles request: Authorize's reads, nothing more.
		"RoleList": {want: withRoles(map[string]int{get: 1})},
		// GET /roles/{id} answers from the roles Authorize read.
		"RoleGet": {want: map[string]int{}},
		// The request's roles check the name, the permissions and the
		// author's own; the role, its name guard and its audit entry are
		// then one transaction, conditioned so that a taken id or name fails.
		// The same transaction adds one to the roles' version, on the
		// condition that it is the one Authorize read: an item more, not a
		// request.
		"RoleCreate": {want: map[string]int{txn: 1}},
		// The role as the request read it (strongly consistent, with its
		// version), then one transaction of the role and its audit entry,
		// conditioned on that version, and of the roles' version, as above.
		"RoleEdit": {want: map[string]int{txn: 1}},
		// The role's holders counted: users have no role index, so the
		// count reads byEntity as ListByRole does, one Query per 100
		// users, bounded so that it gets no worse. The store is handed the
		// role as the request read it, so the one transaction of the
		// role, its name guard, its audit entry and the roles' version
		// follows without reading it again.
		"RoleDelete": {atMost: 1 + (seededUsers+99)/100, exact: map[string]int{get: 0, txn: 1}},
		// One Query of the role's audit entries; a role with none is 404.
		"RoleHistory": {want: map[string]int{query: 1}},
	}
	emulators.DynamoDB(t)
	seeded := seededEnv(t)
	for _, uc := range useCases() {
		t.Run(uc.name, func(t *testing.T) {
			b, ok := bounds[uc.name]
			if !ok {
				t.Fatalf("use case %s has no bound: add one", uc.name)
			}
			var e *env
			if uc.seeded {
				e = seeded(t)
			} else {
				e = newEnv(t)
			}
			r := measure(t, e, uc)
			if len(r.failed) > 0 {
				// The emulator's hiccup, not the use case's requests.
				t.Logf("%s: %d requests sent, retries included: %s", uc.name, r.sent.total(), strings.Join(r.failed, "; "))
			}
			got := r.calls
			if got["Scan"] > 0 {
				t.Errorf("%s scans the table: %v", uc.name, got)
			}
			if b.atMost > 0 {
				if got.total() > b.atMost {
					t.Errorf("%s sent %v requests, want at most %d", uc.name, got, b.atMost)
				}
				for op, n := range b.exact {
					if got[op] != n {
						t.Errorf("%s sent %v requests, want %s %d", uc.name, got, op, n)
					}
				}
				return
			}
			if want := ops(b.want); got.String() != want.String() {
				t.Errorf("%s sent %v requests, want %v", uc.name, got, want)
			}
		})
	}
}
