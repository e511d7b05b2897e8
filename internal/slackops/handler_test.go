package slackops_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

const (
	secret     = "8f742231b10e8888abcd99yyyzzz85a5"
	adminSlack = "UADMIN0001"
	// team is the workspace the handler serves: the one the sample in
	// events/slack/ comes from.
	team = "TLOCAL"
)

// fixture is the Slack handler on a fresh embedded store, talking to
// slack-go's slacktest server for the Web API and to a local catcher for
// response_urls, with the bootstrap administrator linked to adminSlack.
type fixture struct {
	t     testing.TB
	h     *slackops.Handler
	store *embedded.Store
	svc   *onboarding.Service
	now   time.Time
	admin user.User

	slackAPI *slacktest.Server
	mu       sync.Mutex
	views    []slack.ModalViewRequest // views.open requests
	triggers []string
	infos    map[string]string // Slack user → email users.info reports
	// members are users.info fields for a Slack user other than a full,
	// confirmed member of team: is_restricted, team_id, …
	members  map[string]map[string]any
	infoHits int
	sent     int // signed requests sent, for unique trigger ids
	opts     []option
	logs     *syncBuffer               // the handler's log
	answers  chan slack.WebhookMessage // posts to response_urls
	hooks    *httptest.Server
}

type option func(*slackops.Config)

func withoutAPI() option { return func(c *slackops.Config) { c.API = nil } }

// jobs is a Deferrer that keeps the jobs handed to it, as they would
// leave the process, without running them.
type jobs struct {
	mu   sync.Mutex
	kept []slackops.Job
}

func (j *jobs) Defer(_ context.Context, job slackops.Job, _ func(context.Context, slackops.Job)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.kept = append(j.kept, job)
	return nil
}

// deferred sends the slash command text, which the handler defers, and
// returns the job it handed over.
func (f *fixture) deferred(text string) slackops.Job {
	f.t.Helper()
	j := &jobs{}
	h := f.h
	f.h = slackops.New(f.cfg(func(c *slackops.Config) { c.Deferrer = j }))
	defer func() { f.h = h }()
	f.command(adminSlack, text)
	if len(j.kept) != 1 {
		f.t.Fatalf("%q deferred %d jobs, want 1", text, len(j.kept))
	}
	return j.kept[0]
}

func withDeferrer() option {
	return func(c *slackops.Config) { c.Deferrer = slackops.Goroutines{Timeout: 10 * time.Second} }
}

func newFixture(t testing.TB, opts ...option) *fixture {
	t.Helper()
	store, err := embedded.Open(filepath.Join(t.TempDir(), "opsos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{t: t, store: store, now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC),
		infos: map[string]string{}, members: map[string]map[string]any{}, answers: make(chan slack.WebhookMessage, 16),
		logs: &syncBuffer{}}
	n := 0
	ids := func() string { n++; return fmt.Sprintf("0000-%04d", n) }
	clock := func() time.Time { return f.now }
	f.svc = onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{PhoneRegion: "GB"}, clock, ids)
	if f.admin, _, err = f.svc.Bootstrap(context.Background(), "admin@example.com", adminSlack); err != nil {
		t.Fatal(err)
	}

	f.slackAPI = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/views.open", f.viewsOpen)
		c.Handle("/users.info", f.usersInfo)
	})
	f.slackAPI.Start()
	t.Cleanup(f.slackAPI.Stop)
	f.hooks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m slack.WebhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("response_url post: %v", err)
		}
		f.answers <- m
	}))
	t.Cleanup(f.hooks.Close)

	f.opts = opts
	f.h = slackops.New(f.cfg())
	return f
}

// cfg is the handler's configuration: the fixture's, with its options
// and then more.
func (f *fixture) cfg(more ...option) slackops.Config {
	clock := func() time.Time { return f.now }
	cfg := slackops.Config{
		Service: f.svc, Verifier: slackops.NewVerifier(secret, clock),
		API: slack.New("xoxb-test", slack.OptionAPIURL(f.slackAPI.GetAPIURL())),
		Log: slog.New(slog.NewJSONHandler(f.logs, nil)), Now: clock,
		Workspace: slackops.Workspace{TeamID: team}, Replays: f.store, LoopbackResponses: true,
	}
	for _, o := range append(slices.Clone(f.opts), more...) {
		o(&cfg)
	}
	return cfg
}

func (f *fixture) viewsOpen(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TriggerID string                 `json:"trigger_id"`
		View      slack.ModalViewRequest `json:"view"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.views = append(f.views, req.View)
	f.triggers = append(f.triggers, req.TriggerID)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":true,"view":{"id":"V%04d","type":"modal"}}`, len(f.views))
}

func (f *fixture) usersInfo(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id := r.Form.Get("user")
	f.mu.Lock()
	f.infoHits++
	email, ok := f.infos[id]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		fmt.Fprint(w, `{"ok":false,"error":"user_not_found"}`)
		return
	}
	u := map[string]any{"id": id, "team_id": team, "name": "someone", "is_email_confirmed": true,
		"profile": map[string]any{"email": email, "real_name": "Someone"}}
	f.mu.Lock()
	for k, v := range f.members[id] {
		u[k] = v
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "user": u})
}

// sign returns the headers Slack sends with body at ts, computed as
// Slack's documentation describes: v0=HMAC-SHA256(secret, "v0:ts:body").
func sign(key string, ts time.Time, body string) map[string]string {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(m, "v0:%s:%s", stamp, body)
	return map[string]string{
		"content-type":              "application/x-www-form-urlencoded",
		"x-slack-request-timestamp": stamp,
		"x-slack-signature":         "v0=" + hex.EncodeToString(m.Sum(nil)),
	}
}

// event is a request as API Gateway delivers it: the form body base64.
func event(path string, headers map[string]string, body string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: headers,
		Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true}
	ev.RequestContext.HTTP.Method = http.MethodPost
	ev.RequestContext.HTTP.Path = path
	return ev
}

// trigger returns a new trigger id: Slack gives every command and click
// its own, so no two requests are the same bytes.
func (f *fixture) trigger() string {
	f.sent++
	return fmt.Sprintf("1337.%d.abcd", f.sent)
}

func (f *fixture) commandForm(slackUser, text string) string {
	return f.form(slackUser, text, team, f.hooks.URL+"/commands/1")
}

// form is a slash command's form from team, answered on responseURL.
func (f *fixture) form(slackUser, text, team, responseURL string) string {
	return url.Values{
		"command": {"/opsos-user"}, "text": {text}, "user_id": {slackUser}, "team_id": {team},
		"channel_id": {"C0001"}, "response_url": {responseURL}, "trigger_id": {f.trigger()},
	}.Encode()
}

// command sends a correctly signed slash command and returns the answer.
func (f *fixture) command(slackUser, text string) slack.WebhookMessage {
	f.t.Helper()
	body := f.commandForm(slackUser, text)
	resp, err := f.h.Handle(context.Background(), event(slackops.PathCommands, sign(secret, f.now, body), body))
	if err != nil || resp.StatusCode != http.StatusOK {
		f.t.Fatalf("command %q: %d %v %s", text, resp.StatusCode, err, resp.Body)
	}
	var m slack.WebhookMessage
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
			f.t.Fatalf("answer to %q is not a message: %v: %s", text, err, resp.Body)
		}
	}
	return m
}

// interact posts a signed interaction payload and returns the response.
// Like Slack, it gives each one our team and a trigger id of its own
// unless the payload says otherwise.
func (f *fixture) interact(cb any) events.APIGatewayV2HTTPResponse {
	f.t.Helper()
	raw, err := json.Marshal(cb)
	if err != nil {
		f.t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		f.t.Fatal(err)
	}
	if _, ok := payload["team"]; !ok {
		payload["team"] = map[string]any{"id": team}
	}
	if s, _ := payload["trigger_id"].(string); s == "" {
		payload["trigger_id"] = f.trigger()
	}
	if raw, err = json.Marshal(payload); err != nil {
		f.t.Fatal(err)
	}
	body := url.Values{"payload": {string(raw)}}.Encode()
	resp, err := f.h.Handle(context.Background(), event(slackops.PathInteractions, sign(secret, f.now, body), body))
	if err != nil {
		f.t.Fatal(err)
	}
	return resp
}

func (f *fixture) answer() slack.WebhookMessage {
	f.t.Helper()
	select {
	case m := <-f.answers:
		return m
	case <-time.After(10 * time.Second):
		f.t.Fatal("nothing was posted to the response_url")
	}
	return slack.WebhookMessage{}
}

func (f *fixture) noAnswer() {
	f.t.Helper()
	select {
	case m := <-f.answers:
		f.t.Fatalf("unexpected post to the response_url: %q", m.Text)
	default:
	}
}

func (f *fixture) userByEmail(email string) (user.User, bool) {
	f.t.Helper()
	p, err := f.store.ListUsers(context.Background(), onboarding.ListQuery{Email: email, Limit: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(p.Users) == 0 {
		return user.User{}, false
	}
	return p.Users[0], true
}

// count returns how many users the store holds.
func (f *fixture) count() int {
	f.t.Helper()
	p, err := f.store.ListUsers(context.Background(), onboarding.ListQuery{Limit: 200})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(p.Users)
}

// addManager stores an active user with role, linked to slackUser when
// it is not empty, as if released and signed in earlier.
func (f *fixture) addUser(email, role, slackUser string, status user.Status) user.User {
	f.t.Helper()
	u := user.User{ID: "u-" + strings.Split(email, "@")[0], Type: user.Internal, FirstName: "Test", LastName: strings.Split(email, "@")[0],
		Email: email, Role: role, SlackUserID: slackUser, Status: status, HoldInvite: status == user.StatusIntroduction,
		Version: 1, CreatedAt: f.now, CreatedBy: "admin@example.com", UpdatedAt: f.now, UpdatedBy: "admin@example.com"}
	a := onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: 1, At: f.now, ActorID: f.admin.ID, ActorEmail: f.admin.Email,
		Source: onboarding.SourceAPI, Action: "create"}}
	if err := f.store.CreateUser(context.Background(), u, a, nil); err != nil {
		f.t.Fatal(err)
	}
	return u
}

func text(m slack.WebhookMessage) string {
	var b strings.Builder
	b.WriteString(m.Text)
	if m.Blocks != nil {
		raw, _ := json.Marshal(m.Blocks)
		b.Write(raw)
	}
	return b.String()
}

func mustContain(t testing.TB, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, got)
		}
	}
}

// sampleCommand loads events/slack/command-create.json, the sample
// `make invoke` also uses.
func sampleCommand(t testing.TB) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "slack", "command-create.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestCreateReleaseStatusFromSlack(t *testing.T) {
	f := newFixture(t)
	ev := sampleCommand(t)
	body, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range sign(secret, f.now, string(body)) {
		ev.Headers[k] = v
	}
	resp, err := f.h.Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	var created slack.WebhookMessage
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
		t.Fatal(err)
	}
	if created.ResponseType != slack.ResponseTypeEphemeral {
		t.Errorf("the answer is %q, want ephemeral: only the manager should see it", created.ResponseType)
	}
	mustContain(t, "the create answer", text(created), "Ada Lovelace", "ada@example.com", "Supervisor", "Introduction Mode", "Release access")

	u, ok := f.userByEmail("ada@example.com")
	if !ok {
		t.Fatal("the user was not created")
	}
	if u.Status != user.StatusIntroduction || !u.HoldInvite || u.Role != "supervisor" || u.LastName != "Lovelace" {
		t.Errorf("created %+v, want Lovelace, supervisor, in Introduction Mode", u)
	}
	h, err := f.store.History(context.Background(), u.ID, 10, "")
	if err != nil || len(h.Entries) != 1 {
		t.Fatalf("history: %v %+v", err, h)
	}
	if e := h.Entries[0]; e.Source != onboarding.SourceSlack || e.SlackUserID != adminSlack || e.ActorEmail != "admin@example.com" {
		t.Errorf("audit entry %+v, want source slack by %s (admin@example.com)", e, adminSlack)
	}

	released := f.command(adminSlack, "release <mailto:ada@example.com|ada@example.com>")
	mustContain(t, "the release answer", text(released), "Access released", "Releasing access")
	if u, _ = f.userByEmail("ada@example.com"); u.Status != user.StatusReleasing || u.HoldInvite {
		t.Errorf("after release: %s hold=%v, want releasing, hold off", u.Status, u.HoldInvite)
	}

	status := f.command(adminSlack, "status ada@example.com")
	mustContain(t, "the status answer", text(status), "Access was released", "being created", "Next step")
}

func TestDirectCommandsEditHoldListHistoryShow(t *testing.T) {
	f := newFixture(t)
	f.command(adminSlack, `create first="Mary Ann" last=O’Neil email=mary@example.com role=staff type=external planner=yes title=“Night shift lead”`)
	u, ok := f.userByEmail("mary@example.com")
	if !ok || u.FirstName != "Mary Ann" || u.LastName != "O’Neil" || u.Type != user.External || !u.ExternalPlannerAccess || u.JobTitle != "Night shift lead" {
		t.Fatalf("created %+v", u)
	}
	edited := f.command(adminSlack, "edit mary@example.com role=planner")
	mustContain(t, "the edit answer", text(edited), "User updated", "Planner")
	list := f.command(adminSlack, "list introduction")
	mustContain(t, "the list answer", text(list), "Mary Ann O’Neil", "mary@example.com", "Introduction Mode")
	if strings.Contains(text(list), "admin@example.com") {
		t.Errorf("list introduction shows the active administrator:\n%s", text(list))
	}
	history := f.command(adminSlack, "history mary@example.com")
	mustContain(t, "the history answer", text(history), "create", "edit", "<@"+adminSlack+">", "(role)")
	show := f.command(adminSlack, "show mary@example.com")
	mustContain(t, "the show answer", text(show), "Planner", "External", "Night shift lead")

	f.command(adminSlack, "release mary@example.com")
	held := f.command(adminSlack, "hold mary@example.com")
	mustContain(t, "the hold answer", text(held), "Access on hold")
	if u, _ = f.userByEmail("mary@example.com"); !u.HoldInvite {
		t.Errorf("hold left Hold Invite off: %+v", u)
	}
}

// roles lists the roles in force, custom ones included, as stored now:
// what a manager checks before releasing, and what role= then accepts.
func TestRolesListsTheStoredRoles(t *testing.T) {
	f := newFixture(t)
	actor, err := f.svc.Authorize(context.Background(), onboarding.Identity{UserID: f.admin.ID, Source: onboarding.SourceSlack})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateRole(context.Background(), actor, onboarding.RoleDraft{Name: "Night Supervisor",
		Permissions: []string{access.PlannerView, access.PlannerEdit}}); err != nil {
		t.Fatal(err)
	}
	roles := f.command(adminSlack, "roles")
	mustContain(t, "the roles answer", text(roles), "Administrator", "`role=staff`", "*Night Supervisor* (`role=night-supervisor`): `planner.view`, `planner.edit`")
	if strings.Contains(text(roles), "Planner Worker") {
		t.Errorf("roles offers the Planner Worker marker, which no system user can have:\n%s", text(roles))
	}
	f.command(adminSlack, `create first=Nia last=Okafor email=nia@example.com role="night supervisor"`)
	if u, ok := f.userByEmail("nia@example.com"); !ok || u.Role != "night-supervisor" {
		t.Errorf("create with role=\"night supervisor\": %+v %v, want the custom role", u, ok)
	}
	usage := f.command(adminSlack, "roles staff")
	mustContain(t, "roles with an argument", text(usage), "takes nothing after it")
}

func TestBadInputIsExplainedAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	before := f.count()
	cases := []struct{ text, wants string }{
		{"frobnicate ada@example.com", "I don't know"},
		{"create first=Ada colour=blue", "colour is not a user detail"},
		{"create first=Ada last=Lovelace email=not-an-email role=supervisor", "*email*"},
		{"create first=Ada last=Lovelace email=ada@example.com role=astronaut", "*role*"},
		{"create first=Ada hold=maybe", "hold must be yes or no"},
		{"create first=\"Ada", "not closed"},
		{"release", "Say which user"},
		{"release nobody@example.com", "No OpsOS user has the email nobody@example.com"},
		{"list colour=blue", "list filters by"},
	}
	for _, c := range cases {
		got := f.command(adminSlack, c.text)
		mustContain(t, fmt.Sprintf("the answer to %q", c.text), text(got), c.wants)
	}
	if n := f.count(); n != before {
		t.Errorf("bad commands changed the store: %d users, want %d", n, before)
	}
	help := f.command(adminSlack, "help")
	mustContain(t, "help", text(help), "create", "release", "Introduction Mode")
}

func TestSignatureFailuresWriteNothing(t *testing.T) {
	f := newFixture(t)
	body := f.commandForm(adminSlack, "create first=Eve last=Mallory email=eve@example.com role=supervisor")
	good := sign(secret, f.now, body)
	other := sign(secret, f.now.Add(-time.Minute), body)
	cases := map[string]map[string]string{
		"wrong secret":    sign("not-the-secret", f.now, body),
		"six minutes old": sign(secret, f.now.Add(-6*time.Minute), body),
		"from the future": sign(secret, f.now.Add(6*time.Minute), body),
		// A captured request replayed with a fresh timestamp keeps its
		// old signature, which does not cover the new timestamp.
		"replayed under another timestamp": {"x-slack-request-timestamp": good["x-slack-request-timestamp"], "x-slack-signature": other["x-slack-signature"]},
		"no signature":                     {"x-slack-request-timestamp": good["x-slack-request-timestamp"]},
		"no timestamp":                     {"x-slack-signature": good["x-slack-signature"]},
		"no headers":                       {},
	}
	for name, headers := range cases {
		for _, path := range []string{slackops.PathCommands, slackops.PathInteractions} {
			resp, err := f.h.Handle(context.Background(), event(path, headers, body))
			if err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s on %s: %d %v, want 401", name, path, resp.StatusCode, err)
			}
		}
	}
	// The body is verified as received: one changed byte fails.
	tampered := strings.Replace(body, "supervisor", "administrator", 1)
	if resp, _ := f.h.Handle(context.Background(), event(slackops.PathCommands, good, tampered)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered body: %d, want 401", resp.StatusCode)
	}
	if _, ok := f.userByEmail("eve@example.com"); ok {
		t.Fatal("a refused request created a user")
	}
	if hits := f.hits(); hits != 0 {
		t.Errorf("refused requests looked up %d Slack users; nothing may happen before verification", hits)
	}
	// The same request, correctly signed, goes through.
	if resp, _ := f.h.Handle(context.Background(), event(slackops.PathCommands, good, body)); resp.StatusCode != http.StatusOK {
		t.Fatalf("good signature: %d %s", resp.StatusCode, resp.Body)
	}
	if _, ok := f.userByEmail("eve@example.com"); !ok {
		t.Fatal("the correctly signed create did not create the user")
	}
}

func TestWhoMayManage(t *testing.T) {
	f := newFixture(t)
	f.addUser("staff@example.com", "staff", "USTAFF0001", user.StatusActive)
	f.addUser("newbie@example.com", "administrator", "UNEW000001", user.StatusIntroduction)
	f.addUser("held@example.com", "administrator", "UHELD00001", user.StatusSuspended)
	f.addUser("ops@example.com", "operations-manager", "", user.StatusActive)
	f.infos["UOPS000001"] = "OPS@example.com"
	f.infos["USTRANGER1"] = "stranger@example.com"
	before := f.count()

	create := "create first=Zed last=Zero email=zed@example.com role=staff"
	for slackUser, wants := range map[string]string{
		"USTAFF0001": "users.manage",
		"UNEW000001": "not active",
		"UHELD00001": "not active",
		"USTRANGER1": "not an OpsOS user",
		"UNOBODY001": "not linked",
	} {
		got := f.command(slackUser, create)
		mustContain(t, "the answer to "+slackUser, text(got), "Sorry, you can't do that", wants)
	}
	if n := f.count(); n != before {
		t.Fatalf("refused managers changed the store: %d users, want %d", n, before)
	}

	// A manager whose Slack id is not stored is found by the email Slack
	// has for them, and users.info is asked once, not per command.
	hitsBefore := f.hits()
	f.command("UOPS000001", create)
	if u, ok := f.userByEmail("zed@example.com"); !ok {
		t.Fatal("the operations manager found through users.info could not create")
	} else if u.CreatedBy != "ops@example.com" {
		t.Errorf("created by %q, want ops@example.com", u.CreatedBy)
	}
	f.command("UOPS000001", "show zed@example.com")
	if n := f.hits() - hitsBefore; n != 1 {
		t.Errorf("two commands asked users.info %d times, want once (cached)", n)
	}
}

func (f *fixture) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.infoHits
}

// submission is a view_submission payload for view with the given inputs,
// shaped as Slack sends it.
func submission(slackUser string, view slack.ModalViewRequest, viewID string, values map[string]slack.BlockAction) map[string]any {
	state := map[string]map[string]slack.BlockAction{}
	for block, v := range values {
		state[block] = map[string]slack.BlockAction{"value": v}
	}
	return map[string]any{
		"type": "view_submission", "team": map[string]any{"id": team},
		"user": map[string]any{"id": slackUser, "name": "someone"},
		"view": map[string]any{
			"id": viewID, "type": "modal", "callback_id": view.CallbackID, "private_metadata": view.PrivateMetadata,
			"blocks": view.Blocks, "state": map[string]any{"values": state},
		},
	}
}

func typed(v string) slack.BlockAction { return slack.BlockAction{Type: "plain_text_input", Value: v} }
func picked(v string) slack.BlockAction {
	return slack.BlockAction{Type: "static_select", SelectedOption: slack.OptionBlockObject{Value: v}}
}
func checked(vs ...string) slack.BlockAction {
	a := slack.BlockAction{Type: "checkboxes"}
	for _, v := range vs {
		a.SelectedOptions = append(a.SelectedOptions, slack.OptionBlockObject{Value: v})
	}
	return a
}

func (f *fixture) lastView() slack.ModalViewRequest {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.views) == 0 {
		f.t.Fatal("no form was opened")
	}
	return f.views[len(f.views)-1]
}

// blockIDs lists the input blocks of a view with their initial values.
func initial(t testing.TB, v slack.ModalViewRequest) map[string]string {
	t.Helper()
	raw, err := json.Marshal(v.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []struct {
		BlockID string `json:"block_id"`
		Element struct {
			InitialValue   string                   `json:"initial_value"`
			InitialOption  *struct{ Value string }  `json:"initial_option"`
			InitialOptions []struct{ Value string } `json:"initial_options"`
			InitialUser    string                   `json:"initial_user"`
		} `json:"element"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, b := range blocks {
		e := b.Element
		switch {
		case e.InitialOption != nil:
			out[b.BlockID] = e.InitialOption.Value
		case len(e.InitialOptions) > 0:
			var vs []string
			for _, o := range e.InitialOptions {
				vs = append(vs, o.Value)
			}
			out[b.BlockID] = strings.Join(vs, ",")
		case e.InitialUser != "":
			out[b.BlockID] = e.InitialUser
		default:
			out[b.BlockID] = e.InitialValue
		}
	}
	return out
}

func TestCreateFormEndToEnd(t *testing.T) {
	f := newFixture(t)
	if m := f.command(adminSlack, "create"); m.Text != "" {
		t.Errorf("opening the form answered %q; Slack should show only the form", m.Text)
	}
	v := f.lastView()
	if want := fmt.Sprintf("1337.%d.abcd", f.sent); f.triggers[0] != want {
		t.Errorf("views.open got trigger %q, want the command's", f.triggers[0])
	}
	init := initial(t, v)
	for _, b := range []string{"firstName", "lastName", "email", "role", "type", "externalAccess", "jobTitle", "phone", "slackUserId", "holdInvite"} {
		if _, ok := init[b]; !ok {
			t.Errorf("the form has no %s input", b)
		}
	}
	if init["holdInvite"] != "hold" || init["type"] != "internal" {
		t.Errorf("the form starts with hold=%q type=%q, want Hold Invite on and internal", init["holdInvite"], init["type"])
	}
	raw, _ := json.Marshal(v.Blocks)
	if strings.Contains(string(raw), "planner-worker") || !strings.Contains(string(raw), "operations-manager") {
		t.Errorf("the role select must offer the catalogue without the Planner Worker role: %s", raw)
	}

	// Broken input: every broken field is marked in place, nothing is written.
	bad := map[string]slack.BlockAction{
		"firstName": typed("Grace"), "lastName": typed("Hopper"), "email": typed("grace-at-example"),
		"phone": typed("12"), "role": picked("supervisor"), "type": picked("internal"), "holdInvite": checked("hold"),
	}
	resp := f.interact(submission(adminSlack, v, "V0001", bad))
	var errs slack.ViewSubmissionResponse
	if err := json.Unmarshal([]byte(resp.Body), &errs); err != nil || errs.ResponseAction != slack.RAErrors {
		t.Fatalf("bad form: %d %s, want response_action errors", resp.StatusCode, resp.Body)
	}
	if errs.Errors["email"] == "" || errs.Errors["phone"] == "" || len(errs.Errors) != 2 {
		t.Errorf("errors %v, want exactly email and phone", errs.Errors)
	}
	if _, ok := f.userByEmail("grace-at-example"); ok || f.count() != 1 {
		t.Fatal("an invalid form wrote a user")
	}
	f.noAnswer()

	good := bad
	good["email"], good["phone"] = typed("Grace@Example.com"), typed("020 7946 0000")
	resp = f.interact(submission(adminSlack, v, "V0001", good))
	if resp.StatusCode != http.StatusOK || resp.Body != "" {
		t.Fatalf("good form: %d %q, want an empty 200 that closes the form", resp.StatusCode, resp.Body)
	}
	u, ok := f.userByEmail("grace@example.com")
	if !ok || u.Status != user.StatusIntroduction || u.Phone != "+442079460000" || u.Role != "supervisor" {
		t.Fatalf("created %+v", u)
	}
	card := f.answer()
	mustContain(t, "the card after the form", text(card), "User created", "Grace Hopper", "Introduction Mode", "Release access")
	// Submitting the same form twice (a double click) creates one user.
	f.interact(submission(adminSlack, v, "V0001", good))
	if n := f.count(); n != 2 {
		t.Errorf("%d users after a repeated submission, want 2", n)
	}
}

func TestEditFormIsFilledAndSavesOnlyChanges(t *testing.T) {
	f := newFixture(t)
	f.command(adminSlack, "create first=Alan last=Turing email=alan@example.com role=planner type=internal title=Analyst slack=<@UALAN00001|alan>")
	f.command(adminSlack, "edit alan@example.com")
	v := f.lastView()
	init := initial(t, v)
	want := map[string]string{"firstName": "Alan", "lastName": "Turing", "email": "alan@example.com", "role": "planner",
		"type": "internal", "jobTitle": "Analyst", "slackUserId": "UALAN00001", "holdInvite": "hold"}
	for k, w := range want {
		if init[k] != w {
			t.Errorf("edit form %s starts as %q, want %q", k, init[k], w)
		}
	}
	values := map[string]slack.BlockAction{
		"firstName": typed("Alan"), "lastName": typed("Turing"), "email": typed("alan@example.com"), "role": picked("supervisor"),
		"type": picked("internal"), "jobTitle": typed("Analyst"), "holdInvite": checked("hold"),
		"slackUserId": {Type: "users_select", SelectedUser: "UALAN00001"},
	}
	// Someone edits the user while the form is open: the save is refused
	// on top of the form, which keeps what was typed.
	f.command(adminSlack, "edit alan@example.com title=Cryptanalyst")
	resp := f.interact(submission(adminSlack, v, "V0002", values))
	var push slack.ViewSubmissionResponse
	if err := json.Unmarshal([]byte(resp.Body), &push); err != nil || push.ResponseAction != slack.RAPush {
		t.Fatalf("stale form: %s, want a pushed explanation", resp.Body)
	}
	pushed, _ := json.Marshal(push.View.Blocks)
	mustContain(t, "the stale-form answer", string(pushed), "changed this user after you opened the form")
	if u, _ := f.userByEmail("alan@example.com"); u.Role != "planner" {
		t.Fatalf("a stale form saved: role %s", u.Role)
	}

	f.command(adminSlack, "edit alan@example.com")
	v = f.lastView()
	values["jobTitle"] = typed("Cryptanalyst")
	if resp := f.interact(submission(adminSlack, v, "V0003", values)); resp.StatusCode != http.StatusOK || resp.Body != "" {
		t.Fatalf("edit form: %d %s", resp.StatusCode, resp.Body)
	}
	u, _ := f.userByEmail("alan@example.com")
	if u.Role != "supervisor" || u.JobTitle != "Cryptanalyst" {
		t.Fatalf("after the edit form: %+v", u)
	}
	h, _ := f.store.History(context.Background(), u.ID, 10, "")
	last := h.Entries[len(h.Entries)-1]
	if len(last.Changes) != 1 || last.Changes[0].Field != "role" {
		t.Errorf("the form's edit recorded %+v, want only the role changed", last.Changes)
	}
	f.answer() // the response_url card of the edit form
}

func TestReleaseButton(t *testing.T) {
	f := newFixture(t)
	created := f.command(adminSlack, "create first=Katherine last=Johnson email=kj@example.com role=staff")
	var value string
	for _, b := range created.Blocks.BlockSet {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == "release" {
					value = btn.Value
					if btn.Confirm == nil {
						t.Error("the Release access button has no confirmation dialog")
					}
				}
			}
		}
	}
	if value == "" {
		t.Fatalf("the card has no Release access button: %s", text(created))
	}
	click := func(slackUser, value string) events.APIGatewayV2HTTPResponse {
		return f.interact(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": slackUser}, "response_url": f.hooks.URL + "/actions/1",
			"actions": []map[string]any{{"type": "button", "action_id": "release", "block_id": "user-actions", "value": value}},
		})
	}

	f.addUser("staff@example.com", "staff", "USTAFF0001", user.StatusActive)
	if resp := click("USTAFF0001", value); resp.StatusCode != http.StatusOK {
		t.Fatalf("click: %d", resp.StatusCode)
	}
	mustContain(t, "the answer to a staff member's click", text(f.answer()), "Sorry, you can't do that")
	if u, _ := f.userByEmail("kj@example.com"); u.Status != user.StatusIntroduction {
		t.Fatalf("a click without users.manage released the user")
	}

	if resp := click(adminSlack, value); resp.StatusCode != http.StatusOK {
		t.Fatalf("click: %d", resp.StatusCode)
	}
	got := f.answer()
	if !got.ReplaceOriginal {
		t.Error("the released card should replace the one clicked")
	}
	mustContain(t, "the card after release", text(got), "Access released", "Releasing access")
	if u, _ := f.userByEmail("kj@example.com"); u.Status != user.StatusReleasing {
		t.Fatalf("status %s after the click, want releasing", u.Status)
	}
	// The old card's button again: the user has moved on.
	click(adminSlack, value)
	mustContain(t, "the answer to an outdated card", text(f.answer()), "out of date", "nothing was released")
}

func TestWithoutBotTokenFormsFallBackToArguments(t *testing.T) {
	f := newFixture(t, withoutAPI())
	for _, cmd := range []string{"create", "edit admin@example.com"} {
		m := f.command(adminSlack, cmd)
		mustContain(t, "the answer to "+cmd, text(m), "bot token", "/opsos-user")
	}
	// Everything else works as before.
	f.command(adminSlack, "create first=Ada last=Lovelace email=ada@example.com role=supervisor")
	if _, ok := f.userByEmail("ada@example.com"); !ok {
		t.Fatal("create with arguments failed without a bot token")
	}
}

func TestStatusIsAnsweredThroughResponseURL(t *testing.T) {
	f := newFixture(t, withDeferrer())
	f.command(adminSlack, "create first=Ada last=Lovelace email=ada@example.com role=supervisor")
	ack := f.command(adminSlack, "status ada@example.com")
	mustContain(t, "the acknowledgement", text(ack), "Checking")
	got := f.answer()
	if got.ResponseType != slack.ResponseTypeEphemeral {
		t.Errorf("the status went out as %q, want ephemeral", got.ResponseType)
	}
	mustContain(t, "the status", text(got), "Hold Invite (Introduction Mode) is on", "cannot log in", "release access")
}

func TestInvokeServesDeferredJobsAndRequests(t *testing.T) {
	f := newFixture(t)
	f.command(adminSlack, "create first=Ada last=Lovelace email=ada@example.com role=supervisor")
	payload, err := slackops.JobPayload(f.deferred("status ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Invoke(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the deferred status", text(f.answer()), "Ada Lovelace", "cannot log in")

	body := f.commandForm(adminSlack, "show ada@example.com")
	raw, _ := json.Marshal(event(slackops.PathCommands, sign(secret, f.now, body), body))
	out, err := f.h.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke with a request: %v %s", err, out)
	}
	mustContain(t, "the invoked answer", resp.Body, "Ada Lovelace")
}
