package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsos/onboarding/internal/local"
)

const token = "test-token-0123456789"

func config(t testing.TB, dir string, extra ...string) local.Config {
	t.Helper()
	env := map[string]string{"OPSOS_DATA_DIR": dir, "OPSOS_ADDR": "127.0.0.1:0", "OPSOS_ADMIN_TOKEN": token}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	cfg, err := local.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.LoginHashCost = bcrypt.MinCost
	return cfg
}

// syncBuffer is a log the server writes from its goroutines while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t testing.TB, cfg local.Config) (*local.Server, *bytes.Buffer) {
	s, out, _ := startLogged(t, cfg)
	return s, out
}

func startLogged(t testing.TB, cfg local.Config) (*local.Server, *bytes.Buffer, *syncBuffer) {
	t.Helper()
	var out bytes.Buffer
	logs := &syncBuffer{}
	s, err := local.Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), &out)
	if err != nil {
		t.Fatal(err)
	}
	return s, &out, logs
}

func stop(t testing.TB, s *local.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t testing.TB, s *local.Server, method, path, tok, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
	}
	return r
}

// stores are the two places local mode keeps its data: the embedded store,
// and DynamoDB Local when `make test` has started it.
func stores(t testing.TB) map[string][]string {
	m := map[string][]string{"embedded": nil}
	if ep := os.Getenv("OPSOS_TEST_DYNAMODB_ENDPOINT"); ep != "" {
		m["dynamodb"] = []string{"OPSOS_DYNAMODB_ENDPOINT", ep, "OPSOS_TABLE_NAME", fmt.Sprintf("opsos-local-%d", time.Now().UnixNano())}
	} else if os.Getenv("CI") != "" {
		t.Fatal("OPSOS_TEST_DYNAMODB_ENDPOINT is not set: run the tests with `make test`")
	}
	return m
}

// TestWalkthrough follows the README's curl walkthrough against a real
// server on each store, then restarts it and finds everything still there.
func TestWalkthrough(t *testing.T) {
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) { walkthrough(t, config(t, t.TempDir(), env...)) })
	}
}

func walkthrough(t *testing.T, cfg local.Config) {
	s, out, logs := startLogged(t, cfg)
	if !strings.Contains(out.String(), "Created the administrator admin@localhost") {
		t.Errorf("start output: %s", out)
	}
	if strings.Contains(out.String(), token) {
		t.Error("a token chosen through OPSOS_ADMIN_TOKEN was printed")
	}
	if r := call(t, s, "GET", "/healthz", "", ""); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	if r := call(t, s, "GET", "/users", "", ""); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	if r := call(t, s, "GET", "/users", "wrong-token-0123456789", ""); r.status != 401 {
		t.Errorf("wrong token: %d", r.status)
	}
	// The OpenAPI document is public, as behind API Gateway.
	if r := call(t, s, "GET", "/openapi.json", "", ""); r.status != 200 || r.header.Get("Content-Type") != "application/openapi+json" ||
		r.body["openapi"] != "3.1.0" || r.body["paths"].(map[string]any)["/users"] == nil {
		t.Errorf("openapi.json without a token: %d %v", r.status, r.header)
	}

	c := call(t, s, "POST", "/users", token,
		`{"type":"internal","firstName":"Priya","lastName":"Shah","email":"priya.shah@example.com","phone":"+44 7911 123456","jobTitle":"Shift Lead","role":"Supervisor"}`)
	if c.status != 201 || c.body["status"] != "introduction" || c.body["holdInvite"] != true {
		t.Fatalf("create: %d %v", c.status, c.body)
	}
	id := c.body["id"].(string)
	if c.header.Get("Location") != "/users/"+id {
		t.Errorf("Location %q", c.header.Get("Location"))
	}
	if r := call(t, s, "POST", "/users", token, `{"firstName":"P","lastName":"S","email":"PRIYA.SHAH@example.com","role":"staff"}`); r.status != 409 {
		t.Errorf("duplicate email: %d", r.status)
	}
	g := call(t, s, "GET", "/users/"+id, token, "")
	if g.status != 200 || g.header.Get("ETag") != `"1"` {
		t.Fatalf("get: %d %v", g.status, g.header)
	}
	p := call(t, s, "PATCH", "/users/"+id, token, `{"role":"Planner","permissions":{"grant":["reports.view"]}}`, "If-Match", `"1"`)
	if p.status != 200 || p.body["role"] != "planner" || p.header.Get("ETag") != `"2"` {
		t.Fatalf("patch: %d %v", p.status, p.body)
	}
	if r := call(t, s, "PATCH", "/users/"+id, token, `{"jobTitle":"x"}`, "If-Match", `"1"`); r.status != 412 {
		t.Errorf("stale patch: %d", r.status)
	}
	l := call(t, s, "GET", "/users?status=introduction", token, "")
	if items := l.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Errorf("list: %v", l.body)
	}
	h := call(t, s, "GET", "/users/"+id+"/history", token, "")
	if items := h.body["items"].([]any); len(items) != 2 {
		t.Errorf("history: %v", h.body)
	}
	// The change reached the stream handler through the store's feed.
	want := `"msg":"user changed","event":"MODIFY","userId":"` + id + `","statusFrom":"introduction","statusTo":"introduction","version":2`
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("no change record for the edit in the log:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	stop(t, s)
	s, out = start(t, cfg)
	defer stop(t, s)
	if strings.Contains(out.String(), "Created the administrator") {
		t.Error("restart created a second administrator")
	}
	if r := call(t, s, "GET", "/users/"+id, token, ""); r.status != 200 || r.body["role"] != "planner" || r.body["version"] != 2.0 {
		t.Errorf("after restart: %d %v", r.status, r.body)
	}
	if h := call(t, s, "GET", "/users/"+id+"/history", token, ""); len(h.body["items"].([]any)) != 2 {
		t.Errorf("history after restart: %v", h.body)
	}
}

func TestRandomTokenIsPrinted(t *testing.T) {
	cfg := config(t, t.TempDir())
	cfg.AdminToken = ""
	s, out := start(t, cfg)
	defer stop(t, s)
	_, after, ok := strings.Cut(out.String(), "export OPSOS_TOKEN=")
	tok := strings.TrimSpace(strings.SplitN(after, "\n", 2)[0])
	if !ok || len(tok) < 16 {
		t.Fatalf("no token printed: %s", out)
	}
	if r := call(t, s, "GET", "/roles", tok, ""); r.status != 200 {
		t.Errorf("printed token refused: %d", r.status)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for k, v := range map[string]string{
		"OPSOS_ADDR": "nonsense", "OPSOS_ADMIN_TOKEN": "short", "OPSOS_PHONE_REGION": "XX",
		"OPSOS_TEMP_PASSWORD_DAYS": "0", "OPSOS_LOG_LEVEL": "loud", "OPSOS_LOGIN_URL": "/_local/login",
		"OPSOS_DYNAMODB_ENDPOINT": "localhost:8000", "OPSOS_TABLE_NAME": "x", "OPSOS_ADMIN_SLACK_ID": "@priya",
	} {
		_, err := local.ConfigFromEnv(func(name string) string {
			if name == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err = %v, want it named", k, v, err)
		}
	}
}

// TestAdminSlackID links the administrator to the Slack user of
// OPSOS_ADMIN_SLACK_ID, also when the administrator was made before the
// setting was.
func TestAdminSlackID(t *testing.T) {
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := start(t, config(t, dir, env...))
			admin := call(t, s, "GET", "/users?email=admin@localhost", token, "").body["items"].([]any)[0].(map[string]any)
			if _, ok := admin["slackUserId"]; ok {
				t.Errorf("administrator linked to Slack without OPSOS_ADMIN_SLACK_ID: %v", admin)
			}
			stop(t, s)

			s, out := start(t, config(t, dir, append(env, "OPSOS_ADMIN_SLACK_ID", " u012ab3cd")...))
			defer stop(t, s)
			if !strings.Contains(out.String(), "Slack user U012AB3CD acts as the administrator") {
				t.Errorf("start output: %s", out)
			}
			id := admin["id"].(string)
			if r := call(t, s, "GET", "/users/"+id, token, ""); r.body["slackUserId"] != "U012AB3CD" || r.body["version"] != 2.0 {
				t.Errorf("administrator after the restart: %v", r.body)
			}
			items := call(t, s, "GET", "/users/"+id+"/history", token, "").body["items"].([]any)
			if last := items[len(items)-1].(map[string]any); last["action"] != "link-slack" || last["source"] != "cli" || last["actorId"] != "system" {
				t.Errorf("link entry: %v", last)
			}
		})
	}
}

func TestSecondProcessOnSameDataDir(t *testing.T) {
	dir := t.TempDir()
	s, _ := start(t, config(t, dir))
	defer stop(t, s)
	_, err := local.Start(context.Background(), config(t, dir), slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second server on one data dir: %v", err)
	}
}
