package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// raw answers ev without reading its body as JSON: a 204 has none.
func (f *fixture) raw(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	f.t.Helper()
	return f.handle(ev)
}

func effective(r result) []string {
	var out []string
	for _, p := range r.body["permissions"].(map[string]any)["effective"].([]any) {
		out = append(out, p.(string))
	}
	return out
}

// TestRolesFromSampleEvents runs the role samples in events/api in the
// order `make invoke` would: create, list, get, narrow, delete, history.
// Narrowing the role shrinks its holder's effective permissions in the
// user view at once.
func TestRolesFromSampleEvents(t *testing.T) {
	f := newFixture(t)
	c := f.do(sample(t, "create-role.json"))
	if c.status != http.StatusCreated || c.body["id"] != "night-supervisor" || c.body["name"] != "Night Supervisor" || c.body["version"] != 1.0 {
		t.Fatalf("create: %d %s", c.status, c.raw)
	}
	if c.headers["Location"] != "/roles/night-supervisor" || c.headers["ETag"] != `"1"` || c.body["warnings"] != nil {
		t.Errorf("create headers %v, body %s", c.headers, c.raw)
	}

	list := f.do(sample(t, "list-roles.json"))
	roles, _ := list.body["roles"].([]any)
	if list.status != 200 || len(roles) != 7 || len(list.body["permissions"].([]any)) != 8 {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	if first := roles[0].(map[string]any); first["id"] != "administrator" || roles[6].(map[string]any)["id"] != "night-supervisor" {
		t.Errorf("list order: %s", list.raw)
	}

	if g := f.do(sample(t, "get-role.json")); g.status != 200 || g.headers["ETag"] != `"1"` || g.body["name"] != "Night Supervisor" {
		t.Errorf("get: %d %v %s", g.status, g.headers, g.raw)
	}

	u := f.create(`{"firstName":"Nia","lastName":"Night","email":"nia@example.com","role":"Night Supervisor"}`)
	if u.status != http.StatusCreated || !slices.Equal(effective(u), []string{"planner.edit", "planner.view", "users.view"}) {
		t.Fatalf("holder: %d %s", u.status, u.raw)
	}
	userPath := "/users/" + u.body["id"].(string)

	p := f.do(sample(t, "patch-role.json"))
	if p.status != 200 || p.headers["ETag"] != `"2"` || p.body["id"] != "night-supervisor" || p.body["name"] != "Night Lead" {
		t.Fatalf("patch: %d %s", p.status, p.raw)
	}
	if got := f.do(f.request(http.MethodGet, userPath, "")); !slices.Equal(effective(got), []string{"planner.view"}) || got.body["role"] != "night-supervisor" {
		t.Errorf("the holder after the role was narrowed: %s", got.raw)
	}

	before := f.writes()
	if r := f.do(sample(t, "patch-role.json")); r.status != http.StatusPreconditionFailed {
		t.Errorf("patch with a stale If-Match: %d %s", r.status, r.raw)
	}
	del := sample(t, "delete-role.json")
	if r := f.do(del); r.status != http.StatusConflict || !strings.Contains(r.body["detail"].(string), "1 user holds the role Night Lead") {
		t.Errorf("delete in use: %d %s", r.status, r.raw)
	}
	if f.writes() != before {
		t.Error("a refused role change wrote to the store")
	}

	if r := f.do(f.request(http.MethodPatch, userPath, `{"role":"staff"}`)); r.status != 200 {
		t.Fatalf("moving the holder: %d %s", r.status, r.raw)
	}
	if r := f.raw(del); r.StatusCode != http.StatusNoContent || r.Body != "" {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	if r := f.do(sample(t, "get-role.json")); r.status != http.StatusNotFound {
		t.Errorf("get after delete: %d %s", r.status, r.raw)
	}

	h := f.do(sample(t, "role-history.json"))
	var actions []string
	for _, it := range h.body["items"].([]any) {
		e := it.(map[string]any)
		actions = append(actions, fmt.Sprintf("%v:%v:%v", e["action"], e["actorEmail"], e["source"]))
	}
	if want := []string{"create:admin@localhost:api", "edit:admin@localhost:api", "delete:admin@localhost:api"}; h.status != 200 || !slices.Equal(actions, want) {
		t.Errorf("history: %d %v, want %v", h.status, actions, want)
	}
}

func TestRoleRefusalsOverHTTP(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ops := user.User{ID: "ops-1", Type: user.Internal, FirstName: "O", LastName: "P", Email: "ops@example.com", Role: "operations-manager", Status: user.StatusActive, Version: 1}
	if err := f.store.CreateUser(ctx, ops, onboarding.AuditEntry{UserID: ops.ID, Audit: onboarding.Audit{Version: 1, At: f.now, Action: "create"}}, nil); err != nil {
		t.Fatal(err)
	}
	before := f.writes()
	for _, c := range []struct {
		name, method, path, body string
		claims                   map[string]string
		status                   int
		fields                   []string
		rule                     string
	}{
		{name: "empty name and unknown permission", method: "POST", path: "/roles", body: `{"id":"x","name":" ","permissions":["books.audit"]}`,
			status: 400, fields: []string{"name", "permissions"}},
		{name: "duplicate name ignoring case", method: "POST", path: "/roles", body: `{"name":"SUPERVISOR","id":"super"}`,
			status: 409, fields: []string{"name"}},
		{name: "unknown member", method: "POST", path: "/roles", body: `{"name":"A","perms":[]}`, status: 400},
		{name: "not JSON", method: "POST", path: "/roles", body: `{"name":`, status: 400},
		{name: "id change", method: "PATCH", path: "/roles/staff", body: `{"id":"staffers"}`, status: 400, fields: []string{"id"}},
		{name: "unknown role", method: "PATCH", path: "/roles/nobody", body: `{"name":"X"}`, status: 404},
		{name: "no settings.manage", method: "POST", path: "/roles", body: `{"name":"Helper","permissions":["planner.view"]}`,
			claims: map[string]string{"email": "ops@example.com", "custom:opsos_user_id": "ops-1"}, status: 403, rule: onboarding.RuleSettingsManage},
		{name: "no settings.manage, delete", method: "DELETE", path: "/roles/staff",
			claims: map[string]string{"email": "ops@example.com", "custom:opsos_user_id": "ops-1"}, status: 403, rule: onboarding.RuleSettingsManage},
		{name: "lock-out", method: "PATCH", path: "/roles/administrator", body: `{"permissions":["users.view","users.manage"]}`,
			status: 403, rule: onboarding.RuleNoLockout},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := f.request(c.method, c.path, c.body)
			if c.claims != nil {
				ev.RequestContext.Authorizer.JWT.Claims = c.claims
			}
			r := f.do(ev)
			if r.status != c.status || r.headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("%d %s, want %d", r.status, r.raw, c.status)
			}
			if c.fields != nil && !slices.Equal(errorFields(r), c.fields) {
				t.Errorf("fields %v, want %v", errorFields(r), c.fields)
			}
			if r.body["rule"] != nil && r.body["rule"] != c.rule || c.rule != "" && r.body["rule"] != c.rule {
				t.Errorf("rule %v, want %q", r.body["rule"], c.rule)
			}
		})
	}
	if f.writes() != before {
		t.Error("refused role changes wrote to the store")
	}
	if r := f.do(f.request(http.MethodPut, "/roles/staff", "")); r.status != 405 || r.headers["Allow"] != "DELETE, GET, PATCH" {
		t.Errorf("PUT: %d %v", r.status, r.headers)
	}
	// A role without permissions is allowed, and the answer says so.
	r := f.do(f.request(http.MethodPost, "/roles", `{"name":"Visitor"}`))
	if r.status != 201 || r.body["id"] != "visitor" || len(r.body["permissions"].([]any)) != 0 || len(r.body["warnings"].([]any)) != 1 {
		t.Errorf("role without permissions: %d %s", r.status, r.raw)
	}
}
