package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/local"
)

// slackSecret signs the security battery's Slack requests.
const slackSecret = "security-signing-secret-0123456789"

// state is what a refused request must leave as it found: every user's
// version, status, hold, role and Slack link, every role's version and
// permissions, and the mailbox. A user's or a role's audit entries are
// written in the same transaction as its new version, so the versions
// stand for the histories too; reading each history after every request
// made the matrices slower than all else they do.
func (c client) state() string {
	c.t.Helper()
	page := c.mustAs(200, token, "GET", "/users?limit=200", "").body
	if next, _ := page["nextCursor"].(string); next != "" {
		c.t.Fatal("more than 200 users: the snapshot would miss some")
	}
	var lines []string
	for _, it := range page["items"].([]any) {
		u := it.(map[string]any)
		lines = append(lines, fmt.Sprintf("%s %s v%v %v hold=%v role=%v slack=%v",
			u["id"], u["email"], u["version"], u["status"], u["holdInvite"], u["role"], u["slackUserId"]))
	}
	for _, it := range c.mustAs(200, token, "GET", "/roles", "").body["roles"].([]any) {
		r := it.(map[string]any)
		lines = append(lines, fmt.Sprintf("role %s %q v%v %v", r["id"], r["name"], r["version"], r["permissions"]))
	}
	slices.Sort(lines)
	lines = append(lines, fmt.Sprintf("mailbox: %d messages", len(readMail(c.t, c.base).Messages)))
	return strings.Join(lines, "\n")
}

// TestAuthorizationMatrix sends every route of the API, and the Slack
// door, every kind of caller who is not a manager, and checks that each
// is refused with the right status and that nothing changed; then a
// manager, signed in through the local login, who is served.
func TestAuthorizationMatrix(t *testing.T) {
	// bcrypt, slow under the race detector, dominates: the runs go side by side.
	t.Parallel()
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			authorizationMatrix(t, env)
		})
	}
}

func authorizationMatrix(t *testing.T, env []string) {
	s, _ := start(t, config(t, t.TempDir(), append(env, "OPSOS_SLACK_SIGNING_SECRET", slackSecret)...))
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}

	// A manager and a staff member who signed in for real, and a user in
	// Introduction Mode the requests are about.
	const managerEmail, staffEmail, targetEmail = "maya.manager@example.com", "sam.staff@example.com", "tess.target@example.com"
	manager := c.create("Maya", "Manager", managerEmail, "operations-manager")
	staff := c.create("Sam", "Staff", staffEmail, "staff")
	target := c.create("Tess", "Target", targetEmail, "staff")
	c.mustAs(202, token, "POST", "/users/"+manager+"/release", "")
	c.mustAs(202, token, "POST", "/users/"+staff+"/release", "")
	c.waitStatus(manager, "invited")
	c.waitStatus(staff, "invited")
	managerTok, managerAccess := c.signIn(managerEmail, c.waitMail(managerEmail, 1)[0], "Maya-Own-Pass-1")
	staffTok, _ := c.signIn(staffEmail, c.waitMail(staffEmail, 1)[0], "Sam-Own-Pass-1")
	c.waitStatus(manager, "active")
	c.waitStatus(staff, "active")
	c.mustAs(200, token, "PATCH", "/users/"+staff, `{"slackUserId":"U0STAFF001"}`)
	c.mustAs(200, token, "PATCH", "/users/"+manager, `{"slackUserId":"U0MANAGER1"}`)

	// The routes, in the order the manager's calls make sense in.
	type route struct {
		method, path, query, body string
		at                        string // requested in place of path when set: a role's {id} is not the target's
		manager                   int    // the manager's status
		writes                    bool   // the manager's call changes the data
		then                      func() // waits for the release worker after the manager's call
	}
	rows := []route{
		{method: "GET", path: "/roles", manager: 200},
		// The manager does not hold settings.manage: roles are theirs to read only.
		{method: "POST", path: "/roles", body: `{"name":"Matrix","permissions":["planner.view"]}`, manager: 403},
		{method: "GET", path: "/roles/{id}", at: "/roles/staff", manager: 200},
		{method: "PATCH", path: "/roles/{id}", at: "/roles/staff", body: `{"description":"Matrix"}`, manager: 403},
		{method: "DELETE", path: "/roles/{id}", at: "/roles/staff", manager: 403},
		{method: "GET", path: "/roles/{id}/history", at: "/roles/staff/history", manager: 200},
		{method: "GET", path: "/users", manager: 200},
		{method: "POST", path: "/users", body: `{"firstName":"Nia","lastName":"New","email":"nia.new@example.com","role":"staff"}`, manager: 201, writes: true},
		{method: "GET", path: "/users/{id}", manager: 200},
		{method: "PATCH", path: "/users/{id}", body: `{"jobTitle":"Matrix"}`, manager: 200, writes: true},
		{method: "GET", path: "/users/{id}/status", manager: 200},
		{method: "GET", path: "/users/{id}/history", manager: 200},
		// Bulk release: a dry run counts without writing.
		{method: "POST", path: "/users/release", query: "?dryRun=true", body: `{"role":"staff"}`, manager: 200},
		{method: "POST", path: "/users/{id}/release", manager: 202, writes: true, then: func() { c.waitStatus(target, "invited") }},
		{method: "POST", path: "/users/{id}/resend-invite", manager: 202, writes: true, then: func() {
			c.waitMail(targetEmail, 2)
			c.waitStatus(target, "invited")
		}},
		{method: "POST", path: "/users/{id}/hold", manager: 200, writes: true, then: func() { c.waitStatus(target, "suspended") }},
	}

	// Every route the router serves has a row, and every route the README
	// documents; a row for a route not served yet is skipped.
	served := routerRoutes(c)
	inMatrix := map[string]bool{}
	var active []route
	for _, r := range rows {
		key := r.method + " " + r.path
		inMatrix[key] = true
		if !served[key] {
			t.Logf("%s has a row but the router does not serve it (yet): skipped", key)
			continue
		}
		active = append(active, r)
	}
	for _, key := range sortedSet(served) {
		if !inMatrix[key] {
			t.Errorf("the API serves %s, which the authorization matrix does not cover: add a row", key)
		}
	}
	// The public routes: the API's contract, which anyone may read.
	public := []string{"/openapi.json"}
	for _, path := range public {
		inMatrix["GET "+path] = true
	}
	for _, key := range sortedSet(documentedRoutes(t)) {
		if !inMatrix[key] {
			t.Errorf("the README documents %s, which the authorization matrix does not cover: add a row", key)
		}
	}

	refused := []struct {
		who, auth string
		want      int
	}{
		{"no token", "", 401},
		{"a malformed token", "Bearer not-a-token", 401},
		{"a forged token (the manager's, one character changed)", "Bearer " + forge(managerTok), 401},
		{"the manager's token in another scheme", "Basic " + managerTok, 401},
		{"the manager's access token (no identity claims)", "Bearer " + managerAccess, 401},
		{"the staff member's token (no users.manage)", "Bearer " + staffTok, 403},
	}
	before := c.state()
	unchanged := func(what string) {
		t.Helper()
		if after := c.state(); after != before {
			t.Errorf("%s changed the data:\nbefore:\n%s\nafter:\n%s", what, before, after)
			before = after
		}
	}
	// A public route answers every caller alike, and tells nobody about
	// any user.
	for _, path := range public {
		for _, caller := range append(refused, struct {
			who, auth string
			want      int
		}{"the manager", "Bearer " + managerTok, 200}) {
			got := c.do("GET", path, caller.auth, "")
			what := fmt.Sprintf("GET %s with %s", path, caller.who)
			if got.status != 200 || got.header.Get("Content-Type") == "application/problem+json" {
				t.Errorf("%s: %d %v, want the document", what, got.status, got.header)
			}
			if b, _ := json.Marshal(got.body); bytes.Contains(b, []byte(targetEmail)) {
				t.Errorf("%s: the document tells about a user", what)
			}
			unchanged(what)
		}
	}
	for _, r := range active {
		path := strings.ReplaceAll(r.path, "{id}", target) + r.query
		if r.at != "" {
			path = r.at + r.query
		}
		for _, caller := range refused {
			got := c.do(r.method, path, caller.auth, r.body)
			what := fmt.Sprintf("%s %s with %s", r.method, r.path, caller.who)
			if got.status != caller.want {
				t.Errorf("%s: %d %v, want %d", what, got.status, got.body, caller.want)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: Content-Type %q, want a problem", what, ct)
			}
			if got.status == 401 && got.header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s: 401 without WWW-Authenticate: Bearer", what)
			}
			// Who is refused learns nothing about the user asked for.
			if b, _ := json.Marshal(got.body); bytes.Contains(b, []byte(targetEmail)) || bytes.Contains(b, []byte("Tess")) {
				t.Errorf("%s: the refusal tells about the user: %s", what, b)
			}
			unchanged(what)
		}
	}

	// The Slack door: the staff member's Slack user is refused politely
	// and changes nothing; a request Slack did not sign is a 401.
	replies := newCatcher(t, nil)
	door := slackDoor{t: t, base: c.base, secret: slackSecret, replies: replies}
	commands := []string{
		"list", "show " + targetEmail, "status " + targetEmail, "history " + targetEmail,
		"create first=Eve last=Mallory email=<mailto:eve@example.com|eve@example.com> role=staff type=internal",
		"create", "edit " + targetEmail + " title=Boss", "release " + targetEmail, "hold " + targetEmail, "resend " + targetEmail,
	}
	for _, text := range commands {
		code, ans := door.command("U0STAFF001", text, signed)
		if code != 200 || !strings.Contains(ans, "Sorry, you can't do that") || !strings.Contains(ans, "Nothing was changed") {
			t.Errorf("/opsos-user %s from the staff member: %d %s, want a polite refusal", text, code, ans)
		}
		if strings.Contains(ans, "Tess") {
			t.Errorf("/opsos-user %s from the staff member: the refusal tells about the user: %s", text, ans)
		}
		unchanged("/opsos-user " + text + " from the staff member")
	}
	form := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: "U0STAFF001"},
		View: slack.View{ID: "V0FORM0001", CallbackID: "opsos-user-create", State: &slack.ViewState{}}}
	if code, ans := door.interaction(form, signed); code != 200 || !strings.Contains(ans, "Sorry, you can't do that") {
		t.Errorf("a create form submitted by the staff member: %d %s, want a refusal", code, ans)
	}
	unchanged("a create form submitted by the staff member")
	version := c.mustAs(200, token, "GET", "/users/"+target, "").body["version"].(float64)
	button := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0STAFF001"},
		ResponseURL: replies.url("button"), ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
			{ActionID: "release", BlockID: "card", Value: fmt.Sprintf("%s:%d", target, int64(version))}}}}
	if code, _ := door.interaction(button, signed); code != 200 {
		t.Errorf("Release access clicked by the staff member: %d", code)
	}
	waitFor(t, "the refusal of the Release access button", func() bool {
		return slices.ContainsFunc(replies.posts(), func(p string) bool { return strings.Contains(p, "Sorry, you can't do that") })
	})
	unchanged("Release access clicked by the staff member")
	managerForm := form
	managerForm.User.ID = "U0MANAGER1"
	for _, how := range []struct {
		name string
		how  int
	}{{"unsigned", unsigned}, {"signed with another secret", wrongSecret}, {"signed ten minutes ago", stale}} {
		if code, ans := door.command("U0MANAGER1", "release "+targetEmail, how.how); code != 401 {
			t.Errorf("a command %s: %d %s, want 401", how.name, code, ans)
		}
		if code, ans := door.interaction(managerForm, how.how); code != 401 {
			t.Errorf("a form submission %s: %d %s, want 401", how.name, code, ans)
		}
		unchanged("Slack requests " + how.name)
	}
	// The manager's Slack user is served: the refusals above are the
	// staff member's missing permission, not a broken link.
	if code, ans := door.command("U0MANAGER1", "show "+targetEmail, signed); code != 200 || !strings.Contains(ans, "Tess") {
		t.Errorf("/opsos-user show from the manager: %d %s", code, ans)
	}
	unchanged("/opsos-user show from the manager")

	// The manager is served, and the snapshot sees what the manager writes.
	for _, r := range active {
		path := strings.ReplaceAll(r.path, "{id}", target) + r.query
		if r.at != "" {
			path = r.at + r.query
		}
		got := c.as(managerTok, r.method, path, r.body)
		if got.status != r.manager {
			t.Errorf("%s %s by the manager: %d %v, want %d", r.method, r.path, got.status, got.body, r.manager)
		}
		after := c.state()
		if r.writes && after == before {
			t.Errorf("%s %s by the manager changed nothing the snapshot shows", r.method, r.path)
		}
		if r.then != nil {
			r.then()
		}
		before = c.state()
	}
	t.Logf("%d routes × %d refused callers + the manager: %d API requests; Slack: %d refused commands, 2 refused interactions, 6 unsigned or mis-signed requests",
		len(active), len(refused), len(active)*(len(refused)+1), len(commands))
}

// forge changes one character of a token.
func forge(tok string) string {
	b := []byte(tok)
	if b[len(b)-1] == 'A' {
		b[len(b)-1] = 'B'
	} else {
		b[len(b)-1] = 'A'
	}
	return string(b)
}

// TestNoTemporaryPasswordOutsideTheMailbox makes a full run in local mode,
// with the release worker's Slack notices on, then looks for every
// temporary password it emailed everywhere else the product wrote or
// said something: the data directory (the store, the logins), the change
// records, the log, the start output, Slack and every HTTP answer.
func TestNoTemporaryPasswordOutsideTheMailbox(t *testing.T) {
	// bcrypt, slow under the race detector, dominates: the runs go side by side.
	t.Parallel()
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			noTemporaryPasswordOutsideTheMailbox(t, env)
		})
	}
}

func noTemporaryPasswordOutsideTheMailbox(t *testing.T, env []string) {
	seen := &evidence{}
	slackWeb := newSlackAPI(t, seen)
	replies := newCatcher(t, seen)
	dir := t.TempDir()
	cfg := config(t, dir, append(env, "OPSOS_SLACK_SIGNING_SECRET", slackSecret, "OPSOS_ADMIN_SLACK_ID", "U0ADMIN001",
		"OPSOS_SLACK_BOT_TOKEN", "xoxb-security-battery", "OPSOS_SLACK_CHANNEL", "C0NOTICES1", "OPSOS_SLACK_API_URL", slackWeb.srv.URL+"/")...)
	var out bytes.Buffer
	logs := &syncBuffer{}
	s, err := local.Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), &out)
	if err != nil {
		t.Fatal(err)
	}
	running := true
	defer func() {
		if running {
			stop(t, s)
		}
	}()
	c := client{t: t, base: "http://" + s.Addr(), seen: seen}
	door := slackDoor{t: t, base: c.base, secret: slackSecret, seen: seen, replies: replies}
	slackSays := func(text, want string) {
		t.Helper()
		if code, ans := door.command("U0ADMIN001", text, signed); code != 200 || !strings.Contains(ans, want) {
			t.Fatalf("/opsos-user %s: %d %s, want %q", text, code, ans, want)
		}
	}
	idOf := func(email string) string {
		t.Helper()
		items := c.mustAs(200, token, "GET", "/users?email="+email, "").body["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("%d users with email %s", len(items), email)
		}
		return items[0].(map[string]any)["id"].(string)
	}

	// Two users made through the API, two through Slack; all released.
	const alice, bob, carol, dave = "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"
	ids := map[string]string{alice: c.create("Alice", "Archer", alice, "staff"), bob: c.create("Bob", "Baker", bob, "planner")}
	slackSays("create first=Carol last=Cole email=<mailto:"+carol+"|"+carol+"> role=supervisor type=internal", "User created")
	slackSays("create first=Dave last=Dunn email="+dave+" role=staff type=internal", "User created")
	ids[carol], ids[dave] = idOf(carol), idOf(dave)
	c.mustAs(202, token, "POST", "/users/"+ids[alice]+"/release", "")
	c.mustAs(202, token, "POST", "/users/"+ids[bob]+"/release", "")
	slackSays("release "+carol, "Access released")
	slackSays("release "+dave, "Access released")
	for email, id := range ids {
		c.waitStatus(id, "invited")
		c.waitMail(email, 1)
	}
	// Resent invitations: a second password for Bob (API) and Dave (Slack).
	c.mustAs(202, token, "POST", "/users/"+ids[bob]+"/resend-invite", "")
	c.waitMail(bob, 2)
	slackSays("resend "+dave, "Invitation resent")
	c.waitMail(dave, 2)
	c.waitStatus(ids[bob], "invited")
	c.waitStatus(ids[dave], "invited")
	// Carol is held before she signs in and released again: a new password.
	slackSays("hold "+carol, "Access on hold")
	c.waitStatus(ids[carol], "suspended")
	c.mustAs(202, token, "POST", "/users/"+ids[carol]+"/release", "")
	c.waitMail(carol, 2)
	c.waitStatus(ids[carol], "invited")
	// Alice signs in, is held and released: her own password works again.
	c.signIn(alice, c.waitMail(alice, 1)[0], "Alice-Own-Pass-1")
	c.waitStatus(ids[alice], "active")
	c.mustAs(200, token, "POST", "/users/"+ids[alice]+"/hold", "")
	c.waitStatus(ids[alice], "suspended")
	slackSays("release "+alice, "Access released")
	c.waitStatus(ids[alice], "active")
	if code, res := c.auth("/_local/auth/initiate", map[string]string{"email": alice, "password": "Alice-Own-Pass-1"}); code != 200 || res["tokens"] == nil {
		t.Errorf("Alice's own password after the release: %d %v", code, res)
	}

	// Everything a manager can read about them, in the API and in Slack.
	c.mustAs(200, token, "GET", "/users", "")
	c.mustAs(200, token, "GET", "/roles", "")
	slackSays("list", "")
	for email, id := range ids {
		for _, p := range []string{"", "/status", "/history"} {
			c.mustAs(200, token, "GET", "/users/"+id+p, "")
		}
		slackSays("show "+email, "")
		slackSays("history "+email, "")
		slackSays("status "+email, "Checking")
	}
	waitFor(t, "the status answers on the response_url", func() bool { return len(replies.posts()) >= len(ids) })
	// The release worker's notices: invited ×4, resent ×2, Carol held and
	// invited again, Alice held and restored.
	const notices = 10
	waitFor(t, fmt.Sprintf("%d notices in the Slack channel", notices), func() bool { return len(slackWeb.posts()) >= notices })
	for email := range ids {
		if !slices.ContainsFunc(slackWeb.posts(), func(p string) bool { return strings.Contains(p, email) }) {
			t.Errorf("no notice about %s in Slack: %q", email, slackWeb.posts())
		}
	}

	// Every temporary password: one for Alice, two for the others.
	m := readMail(t, c.base)
	secrets, issued := map[string]string{}, map[string]bool{}
	for email, n := range map[string]int{alice: 1, bob: 2, carol: 2, dave: 2} {
		pws := passwords(m, email)
		if len(pws) != n {
			t.Errorf("%d temporary passwords emailed to %s, want %d", len(pws), email, n)
		}
		for i, pw := range pws {
			if issued[pw] {
				t.Errorf("a temporary password was issued twice")
			}
			issued[pw] = true
			secrets[fmt.Sprintf("temporary password %d of %s", i+1, email)] = pw
		}
	}
	stop(t, s)
	running = false

	// Where they must not be.
	pieces := append(seen.all(), piece{where: "the server's log", data: []byte(logs.String())}, piece{where: "the start output", data: out.Bytes()})
	files := dataFiles(t, dir, filepath.Join(dir, "mail"))
	pieces = append(pieces, files...)
	var changes []piece
	if cfg.App.DynamoDBEndpoint != "" {
		items := dynamoItems(t, cfg.App.DynamoDBEndpoint, cfg.App.TableName)
		changes = dynamoStream(t, cfg.App.DynamoDBEndpoint, cfg.App.TableName)
		if !anyContains(items, alice) || !anyContains(changes, alice) {
			t.Fatalf("the table (%d items) or its stream (%d records) is not the one the run wrote", len(items), len(changes))
		}
		pieces = append(append(pieces, items...), changes...)
	} else {
		if !anyContains(files, alice) {
			t.Fatal("no file in the data directory holds the users")
		}
		// The pump trims what the worker finished; what is left is read.
		changes = embeddedFeed(t, filepath.Join(dir, "opsos.db"))
		pieces = append(pieces, changes...)
	}
	if !strings.Contains(logs.String(), `"msg":"user changed"`) || !strings.Contains(logs.String(), `"msg":"invitation sent"`) {
		t.Error("the log does not show the change records and the invitations it should")
	}
	for _, l := range occurrences(secrets, pieces) {
		t.Errorf("leak: %s", l)
	}
	// Where they must be, so that the scan above could find them.
	mailFiles := dataFiles(t, filepath.Join(dir, "mail"), "")
	for label, pw := range secrets {
		if len(occurrences(map[string]string{label: pw}, mailFiles)) == 0 {
			t.Errorf("%s is not in the mailbox's files", label)
		}
	}
	size := 0
	for _, p := range pieces {
		size += len(p.data)
	}
	t.Logf("%d temporary passwords × %d forms, scanned in %d pieces (%d bytes): %d data files, %d change records, %d Slack API requests, %d response_url posts, the log (%d bytes), the start output, every HTTP answer; all in the mailbox's %d files",
		len(secrets), len(secretForms(secrets[fmt.Sprintf("temporary password 1 of %s", alice)])), len(pieces), size, len(files), len(changes), slackWeb.requests(), len(replies.posts()), len(logs.String()), len(mailFiles))
}

func anyContains(pieces []piece, s string) bool {
	return slices.ContainsFunc(pieces, func(p piece) bool { return bytes.Contains(p.data, []byte(s)) })
}
