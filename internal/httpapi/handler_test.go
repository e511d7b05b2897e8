package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

// fixture is the API handler on a fresh embedded store, with a clock and
// ids under the test's control and the bootstrap administrator in place.
type fixture struct {
	t     testing.TB
	h     *httpapi.Handler
	store *embedded.Store
	svc   *onboarding.Service
	now   time.Time
	admin user.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	store, err := embedded.Open(filepath.Join(t.TempDir(), "opsos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{t: t, store: store, now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	n := 0
	ids := func() string { n++; return fmt.Sprintf("0000-%04d", n) }
	clock := func() time.Time { return f.now }
	f.svc = onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{PhoneRegion: "GB"}, clock, ids)
	f.h = httpapi.New(f.svc, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	f.admin, _, err = f.svc.Bootstrap(context.Background(), "admin@localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sample loads an event from events/api, the same files `make invoke` uses.
func sample(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "api", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// request builds an event like the samples: same claims, other route.
func (f *fixture) request(method, path, body string) events.APIGatewayV2HTTPRequest {
	ev := sample(f.t, "create-user.json")
	rawPath, query, _ := strings.Cut(path, "?")
	ev.RouteKey, ev.RequestContext.RouteKey = "$default", "$default"
	ev.RawPath, ev.RawQueryString, ev.RequestContext.HTTP.Path = rawPath, query, rawPath
	ev.RequestContext.HTTP.Method = method
	ev.Body = body
	delete(ev.Headers, "idempotency-key")
	return ev
}

type result struct {
	status  int
	headers map[string]string
	body    map[string]any
	raw     string
}

func (f *fixture) do(ev events.APIGatewayV2HTTPRequest) result {
	f.t.Helper()
	resp := f.handle(ev)
	r := result{status: resp.StatusCode, headers: resp.Headers, raw: resp.Body}
	if err := json.Unmarshal([]byte(resp.Body), &r.body); err != nil {
		f.t.Fatalf("body is not a JSON object: %q", resp.Body)
	}
	return r
}

// writes counts the changes the store has recorded so far: every write
// appends to its change feed, so an unchanged count means nothing written.
func (f *fixture) writes() int {
	f.t.Helper()
	ev, _, err := f.store.ReadFeed(context.Background(), 0, 1<<20)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(ev.Records)
}

func (f *fixture) create(body string) result {
	return f.do(f.request(http.MethodPost, "/users", body))
}

func errorFields(r result) []string {
	var out []string
	errs, _ := r.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

func TestCreateFromSampleEvent(t *testing.T) {
	f := newFixture(t)
	r := f.do(sample(t, "create-user.json"))
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	b := r.body
	if b["status"] != "introduction" || b["holdInvite"] != true {
		t.Errorf("status=%v holdInvite=%v, want Introduction Mode", b["status"], b["holdInvite"])
	}
	if b["email"] != "priya.shah@example.com" || b["phone"] != "+447911123456" || b["role"] != "supervisor" {
		t.Errorf("normalised fields: %v %v %v", b["email"], b["phone"], b["role"])
	}
	if r.headers["Location"] != "/users/"+b["id"].(string) || r.headers["ETag"] != `"1"` {
		t.Errorf("headers: %v", r.headers)
	}
	if r.headers["Content-Type"] != "application/json" {
		t.Errorf("content type %q", r.headers["Content-Type"])
	}
	eff := b["permissions"].(map[string]any)["effective"].([]any)
	if !slices.Contains(eff, any("purchasing.approve")) || !slices.Contains(eff, any("planner.edit")) {
		t.Errorf("effective permissions %v lack the role's and the grant", eff)
	}
	if b["createdBy"] != "admin@localhost" || b["invitedAt"] != nil {
		t.Errorf("createdBy=%v invitedAt=%v", b["createdBy"], b["invitedAt"])
	}
}

func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	first := f.do(sample(t, "create-user.json"))
	if first.status != http.StatusCreated {
		t.Fatalf("status %d: %s", first.status, first.raw)
	}
	before := f.writes()
	f.now = f.now.Add(time.Minute)
	again := f.do(sample(t, "create-user.json"))
	if again.status != http.StatusCreated || again.raw != first.raw || again.headers["Idempotent-Replayed"] != "true" {
		t.Errorf("replay: status %d replayed=%q\nfirst %s\nagain %s", again.status, again.headers["Idempotent-Replayed"], first.raw, again.raw)
	}
	// Same request, other JSON key order and spacing: still a replay.
	ev := sample(t, "create-user.json")
	var m map[string]any
	json.Unmarshal([]byte(ev.Body), &m)
	reordered, _ := json.MarshalIndent(m, "", "   ")
	ev.Body = string(reordered)
	if r := f.do(ev); r.status != http.StatusCreated || r.body["id"] != first.body["id"] {
		t.Errorf("reordered body: status %d id %v", r.status, r.body["id"])
	}
	// Same key, different body: refused.
	ev.Body = strings.Replace(ev.Body, "Priya", "Pria", 1)
	if r := f.do(ev); r.status != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body: status %d, want 422: %s", r.status, r.raw)
	}
	if f.writes() != before {
		t.Error("replays wrote to the store")
	}
}

func TestDuplicateEmailInOtherCase(t *testing.T) {
	f := newFixture(t)
	if r := f.create(`{"firstName":"Ann","lastName":"Lee","email":"ann.lee@example.com","role":"staff"}`); r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	before := f.writes()
	r := f.create(`{"firstName":"Ann","lastName":"Other","email":"ANN.Lee@Example.COM","role":"staff"}`)
	if r.status != http.StatusConflict || !slices.Equal(errorFields(r), []string{"email"}) {
		t.Errorf("status %d fields %v, want 409 on email: %s", r.status, errorFields(r), r.raw)
	}
	if r.headers["Content-Type"] != "application/problem+json" {
		t.Errorf("content type %q", r.headers["Content-Type"])
	}
	if f.writes() != before {
		t.Error("a refused create wrote to the store")
	}
}

func TestValidationListsEveryField(t *testing.T) {
	f := newFixture(t)
	before := f.writes()
	tests := []struct {
		name, body string
		fields     []string
	}{
		{"everything wrong", `{"type":"internal","firstName":"","email":"not-an-email","phone":"12345","role":"Wizard","externalPlannerAccess":true}`,
			[]string{"firstName", "lastName", "email", "phone", "role", "externalPlannerAccess"}},
		{"planner worker", `{"firstName":"Sam","lastName":"Fox","email":"sam@example.com","role":"Planner Worker"}`, []string{"role"}},
		{"wrong JSON types", `{"firstName":7,"holdInvite":"yes","permissions":{"grant":"all"}}`, []string{"firstName", "holdInvite", "permissions.grant"}},
		{"unknown and read-only fields", `{"firstName":"A","lastName":"B","email":"a@b.co","role":"staff","status":"active","nickname":"x"}`, []string{"nickname", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.create(tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if got := errorFields(r); !slices.Equal(got, tt.fields) {
				t.Errorf("fields %v, want %v", got, tt.fields)
			}
		})
	}
	for _, body := range []string{``, `[]`, `{"firstName":`, `null`} {
		if r := f.create(body); r.status != http.StatusBadRequest || r.body["detail"] == "" {
			t.Errorf("body %q: status %d %s", body, r.status, r.raw)
		}
	}
	if f.writes() != before {
		t.Error("invalid creates wrote to the store")
	}
}

func TestReadPatchListHistory(t *testing.T) {
	f := newFixture(t)
	created := f.do(sample(t, "create-user.json"))
	id := created.body["id"].(string)

	got := f.do(f.request(http.MethodGet, "/users/"+id, ""))
	if got.status != 200 || got.headers["ETag"] != `"1"` || got.body["email"] != "priya.shah@example.com" {
		t.Fatalf("get: %d %v %s", got.status, got.headers, got.raw)
	}

	f.now = f.now.Add(time.Hour)
	patch := sample(t, "patch-user.json")
	patch.RawPath, patch.RequestContext.HTTP.Path = "/users/"+id, "/users/"+id
	patch.PathParameters["id"] = id
	p := f.do(patch)
	if p.status != 200 || p.headers["ETag"] != `"2"` {
		t.Fatalf("patch: %d %s", p.status, p.raw)
	}
	perms := p.body["permissions"].(map[string]any)
	if p.body["role"] != "operations-manager" || p.body["jobTitle"] != "Operations Lead" ||
		fmt.Sprint(perms["grant"]) != "[reports.view]" || fmt.Sprint(perms["revoke"]) != "[purchasing.approve]" {
		t.Errorf("patched user: %s", p.raw)
	}
	if eff := perms["effective"].([]any); slices.Contains(eff, any("purchasing.approve")) || !slices.Contains(eff, any("users.manage")) {
		t.Errorf("effective after patch: %v", eff)
	}

	// The sample's If-Match is "1": now stale.
	before := f.writes()
	patch.Body = `{"jobTitle":"Someone else's edit"}`
	if r := f.do(patch); r.status != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d %s", r.status, r.raw)
	}
	if f.writes() != before {
		t.Error("a stale patch wrote to the store")
	}
	if r := f.do(f.request(http.MethodGet, "/users/"+id, "")); r.body["jobTitle"] != "Operations Lead" {
		t.Errorf("stale patch changed the user: %v", r.body["jobTitle"])
	}

	list := sample(t, "list-users.json")
	list.RawQueryString = "status=introduction"
	l := f.do(list)
	items := l.body["items"].([]any)
	if l.status != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != id || l.body["nextCursor"] != nil {
		t.Errorf("list introduction users: %s", l.raw)
	}
	if r := f.do(f.request(http.MethodGet, "/users?status=active", "")); len(r.body["items"].([]any)) != 1 {
		t.Errorf("list active users should hold only the administrator: %s", r.raw)
	}
	if r := f.do(f.request(http.MethodGet, "/users?status=sleeping&limit=0", "")); r.status != 400 || !slices.Equal(errorFields(r), []string{"limit"}) {
		t.Errorf("bad list query: %d %s", r.status, r.raw)
	}

	for _, path := range []string{"/users/" + id + "/history?limit=abc", "/users/" + id + "/history?limit=0", "/roles/staff/history?limit=-1"} {
		if r := f.do(f.request(http.MethodGet, path, "")); r.status != 400 || !slices.Equal(errorFields(r), []string{"limit"}) {
			t.Errorf("GET %s: %d %s, want 400 naming limit", path, r.status, r.raw)
		}
	}
	h := f.do(f.request(http.MethodGet, "/users/"+id+"/history", ""))
	entries := h.body["items"].([]any)
	if h.status != 200 || len(entries) != 2 {
		t.Fatalf("history: %s", h.raw)
	}
	edit := entries[1].(map[string]any)
	if edit["action"] != "edit" || edit["actorEmail"] != "admin@localhost" || edit["source"] != "api" || edit["version"] != 2.0 {
		t.Errorf("edit entry: %v", edit)
	}
	var fields []string
	for _, c := range edit["changes"].([]any) {
		fields = append(fields, c.(map[string]any)["field"].(string))
	}
	if !slices.Equal(fields, []string{"jobTitle", "role", "permissions.grant", "permissions.revoke"}) {
		t.Errorf("edit changes: %v", fields)
	}
}

func TestReleaseHoldAndStatus(t *testing.T) {
	f := newFixture(t)
	id := f.create(`{"firstName":"Ann","lastName":"Lee","email":"ann@example.com","role":"staff"}`).body["id"].(string)

	st := f.do(f.request(http.MethodGet, "/users/"+id+"/status", ""))
	if st.body["canLogIn"] != false || !strings.Contains(st.body["summary"].(string), "Introduction Mode") {
		t.Errorf("status in introduction: %s", st.raw)
	}
	if r := f.do(f.request(http.MethodPost, "/users/"+id+"/hold", "")); r.status != http.StatusConflict {
		t.Errorf("hold in introduction: %d", r.status)
	}
	r := f.do(f.request(http.MethodPost, "/users/"+id+"/release", ""))
	if r.status != http.StatusAccepted || r.body["status"] != "releasing" || r.body["holdInvite"] != false {
		t.Fatalf("release: %d %s", r.status, r.raw)
	}
	if r := f.do(f.request(http.MethodPost, "/users/"+id+"/release", "")); r.status != http.StatusConflict {
		t.Errorf("second release: %d", r.status)
	}
	rel := f.request(http.MethodPost, "/users/"+id+"/hold", "")
	rel.Headers["if-match"] = `"1"`
	if r := f.do(rel); r.status != http.StatusPreconditionFailed {
		t.Errorf("hold with stale If-Match: %d", r.status)
	}
	rel.Headers["if-match"] = `"2"`
	if r := f.do(rel); r.status != 200 || r.body["status"] != "suspended" || r.body["holdInvite"] != true {
		t.Errorf("hold after release: %d %s", r.status, r.raw)
	}
	if r := f.do(f.request(http.MethodPost, "/users/"+f.admin.ID+"/hold", "")); r.status != http.StatusForbidden || r.body["rule"] != "self" {
		t.Errorf("holding yourself: %d %s", r.status, r.raw)
	}
	if r := f.do(f.request(http.MethodPost, "/users/nobody/release", "")); r.status != http.StatusNotFound {
		t.Errorf("release of an unknown user: %d", r.status)
	}
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A staff member who can log in, and a manager still in Introduction Mode.
	for _, u := range []user.User{
		{ID: "staff-1", Type: user.Internal, FirstName: "S", LastName: "T", Email: "staff@example.com", Role: "staff", Status: user.StatusActive, Version: 1},
		{ID: "mgr-1", Type: user.Internal, FirstName: "M", LastName: "G", Email: "new.manager@example.com", Role: "operations-manager", HoldInvite: true, Status: user.StatusIntroduction, Version: 1},
		{ID: "ops-1", Type: user.Internal, FirstName: "O", LastName: "P", Email: "ops@example.com", Role: "operations-manager", Status: user.StatusActive, Version: 1},
	} {
		if err := f.store.CreateUser(ctx, u, onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: 1, At: f.now, Action: "create"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := f.writes()
	body := `{"firstName":"Ann","lastName":"Lee","email":"ann@example.com","role":"staff"}`
	as := func(claims map[string]string, method, path, body string) result {
		ev := f.request(method, path, body)
		if claims == nil {
			ev.RequestContext.Authorizer = nil
		} else {
			ev.RequestContext.Authorizer.JWT.Claims = claims
		}
		return f.do(ev)
	}
	routes := [][2]string{{"POST", "/users"}, {"GET", "/users"}, {"GET", "/users/mgr-1"}, {"PATCH", "/users/mgr-1"},
		{"POST", "/users/mgr-1/release"}, {"POST", "/users/mgr-1/hold"}, {"POST", "/users/mgr-1/resend-invite"},
		{"GET", "/users/mgr-1/status"}, {"GET", "/users/mgr-1/history"}, {"GET", "/roles"}}
	for _, rt := range routes {
		if r := as(nil, rt[0], rt[1], body); r.status != http.StatusUnauthorized || r.headers["WWW-Authenticate"] != "Bearer" {
			t.Errorf("%s %s without token: %d", rt[0], rt[1], r.status)
		}
		for _, who := range []map[string]string{
			{"email": "staff@example.com", "custom:opsos_user_id": "staff-1"},
			{"email": "new.manager@example.com"},
			{"email": "stranger@example.com"},
			{"email": "admin@localhost", "custom:opsos_user_id": "staff-1"},
		} {
			if r := as(who, rt[0], rt[1], body); r.status != http.StatusForbidden {
				t.Errorf("%s %s as %v: %d, want 403", rt[0], rt[1], who, r.status)
			}
		}
	}
	// A manager cannot hand out permissions they do not hold.
	ops := map[string]string{"email": "ops@example.com", "custom:opsos_user_id": "ops-1"}
	if r := as(ops, "POST", "/users", `{"firstName":"A","lastName":"B","email":"b@example.com","role":"administrator"}`); r.status != http.StatusForbidden ||
		!strings.Contains(r.body["detail"].(string), "settings.manage") {
		t.Errorf("operations manager creating an administrator: %d %s", r.status, r.raw)
	}
	if r := as(ops, "PATCH", "/users/mgr-1", `{"permissions":{"grant":["settings.manage"]}}`); r.status != http.StatusForbidden {
		t.Errorf("operations manager granting settings.manage: %d %s", r.status, r.raw)
	}
	if f.writes() != before {
		t.Error("refused requests wrote to the store")
	}
	if r := as(ops, "POST", "/users", body); r.status != http.StatusCreated {
		t.Errorf("operations manager creating staff: %d %s", r.status, r.raw)
	}
}

func TestRoutingAndFraming(t *testing.T) {
	f := newFixture(t)
	if r := f.do(f.request(http.MethodGet, "/nowhere", "")); r.status != 404 {
		t.Errorf("unknown route: %d", r.status)
	}
	if r := f.do(f.request(http.MethodDelete, "/users", "")); r.status != 405 || r.headers["Allow"] != "GET, POST" {
		t.Errorf("wrong method: %d %v", r.status, r.headers)
	}
	ev := f.request(http.MethodPost, "/users", "")
	ev.Body = base64.StdEncoding.EncodeToString([]byte(`{"firstName":"Bo","lastName":"Base","email":"bo@example.com","role":"planner"}`))
	ev.IsBase64Encoded = true
	if r := f.do(ev); r.status != 201 || r.body["firstName"] != "Bo" {
		t.Errorf("base64 body: %d %s", r.status, r.raw)
	}
	if r := f.create(`{"firstName":"` + strings.Repeat("x", 70000) + `"}`); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d", r.status)
	}
	roles := f.do(f.request(http.MethodGet, "/roles", ""))
	if roles.status != 200 || len(roles.body["roles"].([]any)) != 6 || len(roles.body["permissions"].([]any)) == 0 {
		t.Errorf("roles: %s", roles.raw)
	}
}

func TestPaging(t *testing.T) {
	f := newFixture(t)
	for i := range 7 {
		if r := f.create(fmt.Sprintf(`{"firstName":"P%d","lastName":"Page","email":"p%d@example.com","role":"staff"}`, i, i)); r.status != 201 {
			t.Fatal(r.raw)
		}
	}
	seen := map[string]bool{}
	path := "/users?status=introduction&limit=3"
	for pages := 0; ; pages++ {
		r := f.do(f.request(http.MethodGet, path, ""))
		for _, it := range r.body["items"].([]any) {
			seen[it.(map[string]any)["id"].(string)] = true
		}
		next, _ := r.body["nextCursor"].(string)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		path = "/users?status=introduction&limit=3&cursor=" + next
	}
	if len(seen) != 7 {
		t.Errorf("paged through %d users, want 7", len(seen))
	}
	if r := f.do(f.request(http.MethodGet, "/users?cursor=bogus!", "")); r.status != 400 || !slices.Equal(errorFields(r), []string{"cursor"}) {
		t.Errorf("bad cursor: %d %s", r.status, r.raw)
	}
}

func TestSlackUserID(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.create(`{"firstName":"Ann","lastName":"Lee","email":"ann@example.com","role":"staff","slackUserId":" u012ab3cd"}`)
	if c.status != http.StatusCreated || c.body["slackUserId"] != "U012AB3CD" {
		t.Fatalf("create linked: %d %s", c.status, c.raw)
	}
	id := c.body["id"].(string)
	if r := f.do(f.request(http.MethodGet, "/users/"+id, "")); r.body["slackUserId"] != "U012AB3CD" {
		t.Errorf("get: %s", r.raw)
	}
	before := f.writes()
	for _, tt := range []struct {
		body   string
		status int
		say    string
	}{
		{`{"firstName":"Bo","lastName":"Lee","email":"bo@example.com","role":"staff","slackUserId":"U012AB3CD"}`, http.StatusConflict, "already linked to another user"},
		{`{"firstName":"Bo","lastName":"Lee","email":"bo@example.com","role":"staff","slackUserId":"#general"}`, http.StatusBadRequest, "Slack user id"},
		{`{"firstName":"Bo","lastName":"Lee","email":"bo@example.com","role":"staff","slackUserId":7}`, http.StatusBadRequest, "must be a string"},
	} {
		r := f.create(tt.body)
		errs, _ := r.body["errors"].([]any)
		if r.status != tt.status || !slices.Equal(errorFields(r), []string{"slackUserId"}) || !strings.Contains(fmt.Sprint(errs), tt.say) {
			t.Errorf("%s: %d %s, want %d on slackUserId saying %q", tt.body, r.status, r.raw, tt.status, tt.say)
		}
	}
	if f.writes() != before {
		t.Error("refused creates wrote to the store")
	}
	bo := f.create(`{"firstName":"Bo","lastName":"Lee","email":"bo@example.com","role":"staff"}`)
	if _, ok := bo.body["slackUserId"]; bo.status != http.StatusCreated || ok {
		t.Errorf("a user without a Slack user shows one: %d %s", bo.status, bo.raw)
	}

	// PATCH with null or "" unlinks, like the other optional fields.
	for i, body := range []string{`{"slackUserId":null}`, `{"slackUserId":"W0BO1"}`, `{"slackUserId":""}`} {
		r := f.do(f.request(http.MethodPatch, "/users/"+id, body))
		got, linked := r.body["slackUserId"]
		if r.status != 200 || r.body["version"] != float64(i+2) || linked != (i == 1) || (linked && got != "W0BO1") {
			t.Errorf("patch %s: %d %s", body, r.status, r.raw)
		}
	}
	h := f.do(f.request(http.MethodGet, "/users/"+id+"/history", ""))
	items := h.body["items"].([]any)
	if len(items) != 4 {
		t.Fatalf("history: %s", h.raw)
	}
	unlink := items[1].(map[string]any)["changes"].([]any)[0].(map[string]any)
	if unlink["field"] != "slackUserId" || unlink["from"] != "U012AB3CD" || unlink["to"] != "" {
		t.Errorf("unlink change: %v", unlink)
	}

	// A change made through Slack names the Slack user in the history; one
	// made through the API names none.
	// Nobody links their own Slack user: it would let that Slack account
	// act as them. The administrator is linked by the command line.
	if r := f.do(f.request(http.MethodPatch, "/users/"+f.admin.ID, `{"slackUserId":"U0ADMIN"}`)); r.status != http.StatusForbidden || r.body["rule"] != "self" {
		t.Fatalf("the administrator links their own Slack user: %d %s", r.status, r.raw)
	}
	if _, _, err := f.svc.Bootstrap(ctx, f.admin.Email, "U0ADMIN"); err != nil {
		t.Fatal(err)
	}
	viaSlack, err := f.svc.Authorize(ctx, onboarding.Identity{SlackUserID: "U0ADMIN", Source: onboarding.SourceSlack})
	if err != nil {
		t.Fatal(err)
	}
	title := "Lead"
	if _, err := f.svc.Edit(ctx, viaSlack, id, 0, user.Patch{JobTitle: &title}); err != nil {
		t.Fatal(err)
	}
	h = f.do(f.request(http.MethodGet, "/users/"+id+"/history", ""))
	items = h.body["items"].([]any)
	last := items[len(items)-1].(map[string]any)
	if last["slackUserId"] != "U0ADMIN" || last["source"] != "slack" {
		t.Errorf("entry of a change through Slack: %v", last)
	}
	if _, ok := items[0].(map[string]any)["slackUserId"]; ok {
		t.Errorf("entry of a change through the API names a Slack user: %v", items[0])
	}
}
