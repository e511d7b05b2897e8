package slackops_test

// Who may act through Slack (DESIGN §9, "Slack identity"): only our
// workspace, only once per signed request, answered only on Slack's
// hosts, with the email fallback only for full members, and deferred
// jobs only as the handler sealed them. Every refusal writes nothing,
// posts nothing and, where it comes before the lookup, asks Slack
// nothing.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/user"
)

// syncBuffer is a log the handler writes while the test reads it.
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

const otherTeam = "T0OTHER001"

// send posts body, correctly signed now, to path.
func (f *fixture) send(path, body string) events.APIGatewayV2HTTPResponse {
	f.t.Helper()
	resp, err := f.h.Handle(context.Background(), event(path, sign(secret, f.now, body), body))
	if err != nil {
		f.t.Fatal(err)
	}
	return resp
}

// payload is a signed interaction's body.
func payload(t testing.TB, cb map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(cb)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(raw)}}.Encode()
}

// untouched fails the test if a refused request wrote a user, asked
// users.info or posted to a response_url.
func (f *fixture) untouched(what string, users, hits int) {
	f.t.Helper()
	if n := f.count(); n != users {
		f.t.Errorf("%s: %d users, want %d: a refused request wrote", what, n, users)
	}
	if n := f.hits(); n != hits {
		f.t.Errorf("%s: users.info asked %d times, want %d", what, n, hits)
	}
	f.noAnswer()
}

// releaseValue is the Release access button's value for the user.
func releaseValue(u user.User) string { return u.ID + ":1" }

// countingReplays counts what the handler asks to remember.
type countingReplays struct {
	slackops.Replays
	mu sync.Mutex
	n  int
}

func (c *countingReplays) FirstSeen(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Replays.FirstSeen(ctx, key, now, expires)
}

func TestAnotherWorkspaceIsRefusedEvenWhenSigned(t *testing.T) {
	f := newFixture(t)
	remembered := &countingReplays{Replays: f.store}
	f.opts = append(f.opts, func(c *slackops.Config) { c.Replays = remembered })
	f.h = slackops.New(f.cfg())
	defer func() {
		// Not even the replay record is written for another workspace.
		if remembered.n != 1 { // the one command from our workspace that opens the form
			t.Errorf("requests from another workspace were remembered: %d records, want 1", remembered.n)
		}
	}()
	// An unlinked manager: had the request been served, users.info would
	// have been asked.
	f.addUser("ops@example.com", "operations-manager", "", user.StatusActive)
	f.infos["UOPS000001"] = "ops@example.com"
	target := f.addUser("kj@example.com", "staff", "", user.StatusIntroduction)
	users := f.count()

	create := "create first=Eve last=Mallory email=eve@example.com role=staff"
	for _, who := range []string{adminSlack, "UOPS000001"} {
		resp := f.send(slackops.PathCommands, f.form(who, create, otherTeam, f.hooks.URL+"/commands/9"))
		var m slack.WebhookMessage
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &m) != nil {
			t.Fatalf("a command from another workspace: %d %s, want 200 with a line Slack shows", resp.StatusCode, resp.Body)
		}
		mustContain(t, "the refusal", text(m), "Sorry, you can't do that", "one Slack workspace", "Nothing was changed")
		if m.ResponseType != slack.ResponseTypeEphemeral {
			t.Errorf("the refusal is %q, want ephemeral", m.ResponseType)
		}
		f.untouched("a command from another workspace by "+who, users, 0)
	}
	// Without a team at all.
	resp := f.send(slackops.PathCommands, f.form(adminSlack, create, "", f.hooks.URL+"/commands/9"))
	mustContain(t, "a command without a team", resp.Body, "one Slack workspace")
	f.untouched("a command without a team", users, 0)

	// A deferred command is not deferred.
	j := &jobs{}
	f.h = slackops.New(f.cfg(func(c *slackops.Config) { c.Deferrer = j }))
	f.send(slackops.PathCommands, f.form(adminSlack, "status kj@example.com", otherTeam, f.hooks.URL+"/commands/9"))
	if len(j.kept) != 0 {
		t.Errorf("a status from another workspace was deferred: %+v", j.kept)
	}

	click := func(cb map[string]any) events.APIGatewayV2HTTPResponse {
		cb["type"], cb["response_url"] = "block_actions", f.hooks.URL+"/actions/9"
		cb["actions"] = []map[string]any{{"type": "button", "action_id": "release", "block_id": "card", "value": releaseValue(target)}}
		return f.send(slackops.PathInteractions, payload(t, cb))
	}
	for name, cb := range map[string]map[string]any{
		"another team": {"team": map[string]any{"id": otherTeam}, "user": map[string]any{"id": adminSlack}},
		// Slack Connect: our channel, their user.
		"a user of another team": {"team": map[string]any{"id": team}, "user": map[string]any{"id": adminSlack, "team_id": otherTeam}},
		"no team":                {"user": map[string]any{"id": adminSlack}},
	} {
		if resp := click(cb); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a click from %s: %d %s, want 403", name, resp.StatusCode, resp.Body)
		}
		f.untouched("a click from "+name, users, 0)
		if u, _ := f.userByEmail("kj@example.com"); u.Status != user.StatusIntroduction {
			t.Fatalf("a click from %s released the user", name)
		}
	}

	// A form from another workspace is answered on the form.
	f.command(adminSlack, "create")
	sub := submission(adminSlack, f.lastView(), "V0009", map[string]slack.BlockAction{
		"firstName": typed("Eve"), "lastName": typed("Mallory"), "email": typed("eve@example.com"),
		"role": picked("staff"), "type": picked("internal"),
	})
	sub["team"] = map[string]any{"id": otherTeam}
	resp = f.send(slackops.PathInteractions, payload(t, sub))
	var push slack.ViewSubmissionResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &push) != nil || push.ResponseAction != slack.RAPush {
		t.Fatalf("a form from another workspace: %d %s, want a pushed refusal", resp.StatusCode, resp.Body)
	}
	pushed, _ := json.Marshal(push.View.Blocks)
	mustContain(t, "the form's refusal", string(pushed), "one Slack workspace")
	f.untouched("a form from another workspace", users, 0)
}

func TestAnotherEnterpriseIsRefused(t *testing.T) {
	f := newFixture(t, func(c *slackops.Config) { c.Workspace.EnterpriseID = "E0GRID0001" })
	users := f.count()
	create := "create first=Eve last=Mallory email=eve@example.com role=staff"
	for name, enterprise := range map[string]string{"another enterprise": "E0OTHER001", "no enterprise": ""} {
		body := f.form(adminSlack, create, team, f.hooks.URL+"/commands/1")
		if enterprise != "" {
			body += "&enterprise_id=" + enterprise
		}
		resp := f.send(slackops.PathCommands, body)
		mustContain(t, "a command from "+name, resp.Body, "one Slack workspace")
		f.untouched("a command from "+name, users, 0)
	}
	sub := submission(adminSlack, slack.ModalViewRequest{CallbackID: "opsos-user-create"}, "V0001", map[string]slack.BlockAction{
		"firstName": typed("Eve"), "lastName": typed("Mallory"), "email": typed("eve@example.com"), "role": picked("staff"), "type": picked("internal"),
	})
	sub["enterprise"] = map[string]any{"id": "E0OTHER001"}
	mustContain(t, "a form from another enterprise", f.send(slackops.PathInteractions, payload(t, sub)).Body, "one Slack workspace")
	f.untouched("a form from another enterprise", users, 0)

	// Our enterprise and our workspace: served.
	f.send(slackops.PathCommands, f.form(adminSlack, create, team, f.hooks.URL+"/commands/1")+"&enterprise_id=E0GRID0001")
	if _, ok := f.userByEmail("eve@example.com"); !ok {
		t.Fatal("a command from our enterprise and workspace was not served")
	}
}

func TestEmailFallbackOnlyForFullMembers(t *testing.T) {
	cases := []struct {
		name   string
		fields map[string]any
		says   string
	}{
		{"a guest", map[string]any{"is_restricted": true}, "guests cannot act through Slack"},
		{"a single-channel guest", map[string]any{"is_restricted": true, "is_ultra_restricted": true}, "guests cannot act through Slack"},
		{"a single-channel guest flag alone", map[string]any{"is_ultra_restricted": true}, "guests cannot act through Slack"},
		{"a Slack Connect user of another team", map[string]any{"team_id": otherTeam}, "Slack Connect"},
		{"a stranger", map[string]any{"is_stranger": true}, "Slack Connect"},
		{"a bot", map[string]any{"is_bot": true}, "bots and apps"},
		{"an app user", map[string]any{"is_app_user": true}, "bots and apps"},
		{"a deactivated account", map[string]any{"deleted": true}, "deactivated"},
		{"an unconfirmed email", map[string]any{"is_email_confirmed": false}, "not confirmed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.addUser("ops@example.com", "operations-manager", "", user.StatusActive)
			f.infos["UOPS000001"] = "ops@example.com"
			f.members["UOPS000001"] = c.fields
			users := f.count()
			for _, cmd := range []string{"create first=Zed last=Zero email=zed@example.com role=staff", "list"} {
				got := f.command("UOPS000001", cmd)
				mustContain(t, "the answer to "+c.name, text(got), "Sorry, you can't do that", c.says, "link your Slack account")
				if strings.Contains(text(got), "Zed") || strings.Contains(text(got), "ops@example.com") {
					t.Errorf("the refusal shows data: %s", text(got))
				}
			}
			f.untouched(c.name, users, 1) // one users.info, cached
		})
	}

	t.Run("a member of our Enterprise Grid organisation", func(t *testing.T) {
		f := newFixture(t, func(c *slackops.Config) { c.Workspace.EnterpriseID = "E0GRID0001" })
		f.addUser("ops@example.com", "operations-manager", "", user.StatusActive)
		f.infos["UOPS000001"] = "ops@example.com"
		f.members["UOPS000001"] = map[string]any{"team_id": "T0HOME0001",
			"enterprise_user": map[string]any{"enterprise_id": "E0GRID0001", "teams": []string{"T0HOME0001", team}}}
		f.send(slackops.PathCommands, f.form("UOPS000001", "create first=Zed last=Zero email=zed@example.com role=staff", team, f.hooks.URL+"/commands/1")+"&enterprise_id=E0GRID0001")
		if _, ok := f.userByEmail("zed@example.com"); !ok {
			t.Error("a member of our workspace through our organisation could not act")
		}
	})
}

func TestReplayedRequestIsRefused(t *testing.T) {
	f := newFixture(t)
	body := f.commandForm(adminSlack, "create first=Ada last=Lovelace email=ada@example.com role=supervisor")
	ev := event(slackops.PathCommands, sign(secret, f.now, body), body)
	if resp, err := f.h.Handle(context.Background(), ev); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first: %d %v", resp.StatusCode, err)
	}
	ada, _ := f.userByEmail("ada@example.com")
	users, hits := f.count(), f.hits()
	// The same bytes again, a minute later, and from a restarted handler
	// on the same table: the signature is spent.
	f.now = f.now.Add(time.Minute)
	for _, h := range []*slackops.Handler{f.h, slackops.New(f.cfg())} {
		resp, err := h.Handle(context.Background(), ev)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("replay: %d %v %s, want 401", resp.StatusCode, err, resp.Body)
		}
	}
	f.untouched("a replayed command", users, hits)
	if u, _ := f.userByEmail("ada@example.com"); u.Version != ada.Version {
		t.Errorf("a replayed create touched the user: version %d", u.Version)
	}

	// A click replayed: the first releases, the second does nothing.
	kj := f.addUser("kj@example.com", "staff", "", user.StatusIntroduction)
	click := payload(t, map[string]any{"type": "block_actions", "team": map[string]any{"id": team}, "trigger_id": "1.2.3",
		"user": map[string]any{"id": adminSlack}, "response_url": f.hooks.URL + "/actions/1",
		"actions": []map[string]any{{"type": "button", "action_id": "release", "block_id": "card", "value": releaseValue(kj)}}})
	clickEv := event(slackops.PathInteractions, sign(secret, f.now, click), click)
	if resp, _ := f.h.Handle(context.Background(), clickEv); resp.StatusCode != http.StatusOK {
		t.Fatalf("click: %d", resp.StatusCode)
	}
	mustContain(t, "the click", text(f.answer()), "Access released")
	if resp, _ := f.h.Handle(context.Background(), clickEv); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed click: %d, want 401", resp.StatusCode)
	}
	f.noAnswer()
	if u, _ := f.userByEmail("kj@example.com"); u.Version != 2 {
		t.Errorf("the replayed click changed the user again: version %d", u.Version)
	}
}

func TestForeignResponseURLIsRefused(t *testing.T) {
	f := newFixture(t)
	f.addUser("kj@example.com", "staff", "", user.StatusIntroduction)
	users := f.count()
	j := &jobs{}
	f.h = slackops.New(f.cfg(func(c *slackops.Config) { c.Deferrer = j }))
	for _, hook := range []string{
		"https://evil.example/hook?token=SECRET-IN-QUERY",
		"http://hooks.slack.com.evil.example/",
		"https://hooks.slack.com.evil.example/commands/1",
		"http://hooks.slack.com/commands/1", // not https
		"https://hooks.slack.com@evil.example/commands/1",
		"https://hooks.slack.com:8443/commands/1",
		"http://10.0.0.1/commands/1",
	} {
		for _, cmd := range []string{"create first=Eve last=Mallory email=eve@example.com role=staff", "status kj@example.com", "show kj@example.com"} {
			resp := f.send(slackops.PathCommands, f.form(adminSlack, cmd, team, hook))
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(resp.Body, "kj@example.com") {
				t.Errorf("%s answered on %s: %d %s, want 400 and nothing run", cmd, hook, resp.StatusCode, resp.Body)
			}
		}
		click := map[string]any{"type": "block_actions", "user": map[string]any{"id": adminSlack}, "response_url": hook,
			"actions": []map[string]any{{"type": "button", "action_id": "release", "block_id": "card", "value": "u-kj:1"}}}
		if resp := f.interact(click); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a click answered on %s: %d, want 400", hook, resp.StatusCode)
		}
		f.untouched("answers on "+hook, users, 0)
	}
	if u, _ := f.userByEmail("kj@example.com"); u.Status != user.StatusIntroduction {
		t.Fatal("a click with a foreign response_url released the user")
	}
	if len(j.kept) != 0 {
		t.Errorf("%d commands with a foreign response_url were deferred", len(j.kept))
	}
	logs := f.logs.String()
	if strings.Contains(logs, "SECRET-IN-QUERY") || !strings.Contains(logs, "https://evil.example") {
		t.Errorf("the log should name the refused host without the query:\n%s", logs)
	}

	// The form's response_url rides in its metadata: checked as well.
	v := slack.ModalViewRequest{CallbackID: "opsos-user-create", PrivateMetadata: `{"responseUrl":"https://evil.example/hook"}`}
	resp := f.interact(submission(adminSlack, v, "V0001", map[string]slack.BlockAction{
		"firstName": typed("Eve"), "lastName": typed("Mallory"), "email": typed("eve@example.com"), "role": picked("staff"), "type": picked("internal"),
	}))
	if !strings.Contains(resp.Body, "push") {
		t.Errorf("a form answered on a foreign response_url: %s, want a refusal", resp.Body)
	}
	f.untouched("a form answered on a foreign response_url", users, 0)

	// Outside local mode, loopback is foreign too.
	f.h = slackops.New(f.cfg(func(c *slackops.Config) { c.LoopbackResponses = false }))
	if resp := f.send(slackops.PathCommands, f.commandForm(adminSlack, "show kj@example.com")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a loopback response_url in AWS: %d, want 400", resp.StatusCode)
	}
	// Slack's own hooks are fine.
	resp = f.send(slackops.PathCommands, f.form(adminSlack, "show kj@example.com", team, "https://hooks.slack.com/commands/TLOCAL/1/abc"))
	mustContain(t, "a command with Slack's response_url", resp.Body, "kj@example.com")
}

func TestDeferredJobsMustCarryTheirMAC(t *testing.T) {
	f := newFixture(t)
	f.command(adminSlack, "create first=Ada last=Lovelace email=ada@example.com role=supervisor")
	good := f.deferred("status ada@example.com")
	if good.MAC == "" || good.TeamID != team || good.Expires == 0 {
		t.Fatalf("the job carries no MAC, team or expiry: %+v", good)
	}
	invoke := func(job any) {
		t.Helper()
		raw, err := json.Marshal(map[string]any{"opsosSlackJob": job})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.h.Invoke(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
	users := f.count()
	forge := map[string]func(j *slackops.Job){
		"no MAC":                 func(j *slackops.Job) { j.MAC = "" },
		"a changed command":      func(j *slackops.Job) { j.Text = "release ada@example.com" },
		"another Slack user":     func(j *slackops.Job) { j.SlackUserID = "UOTHER0001" },
		"another response_url":   func(j *slackops.Job) { j.ResponseURL = "https://hooks.slack.com/commands/T/1/other" },
		"another team":           func(j *slackops.Job) { j.TeamID = otherTeam },
		"a later expiry":         func(j *slackops.Job) { j.Expires += 3600 },
		"a MAC of random digits": func(j *slackops.Job) { j.MAC = strings.Repeat("ab", 32) },
		// Made with the documented construction but a guessed secret.
		"a MAC under another key": func(j *slackops.Job) {
			k := hmac.New(sha256.New, []byte("guessed-secret"))
			k.Write([]byte("opsos-slack-job-v1"))
			fields, _ := json.Marshal([]any{"opsos-slack-job-v1", j.Text, j.SlackUserID, j.ResponseURL, j.TeamID, j.EnterpriseID, j.Expires})
			m := hmac.New(sha256.New, k.Sum(nil))
			m.Write(fields)
			j.MAC = hex.EncodeToString(m.Sum(nil))
		},
	}
	for name, change := range forge {
		job := good
		change(&job)
		invoke(job)
		f.untouched("a job with "+name, users, 0)
		if u, _ := f.userByEmail("ada@example.com"); u.Status != user.StatusIntroduction {
			t.Fatalf("a job with %s released the user", name)
		}
	}
	// A job written by hand, without any of the new fields.
	invoke(map[string]string{"text": "status ada@example.com", "slackUserId": adminSlack, "responseUrl": f.hooks.URL + "/commands/2"})
	f.untouched("a job without a MAC or expiry", users, 0)
	mustContain(t, "the log", f.logs.String(), "deferred job refused", "no MAC", "does not match")

	// The genuine job, too late.
	f.now = f.now.Add(6 * time.Minute)
	invoke(good)
	f.untouched("an expired job", users, 0)
	mustContain(t, "the log", f.logs.String(), "expired")
	f.now = f.now.Add(-6 * time.Minute)

	// The genuine job, on a handler now serving another workspace.
	h := f.h
	f.h = slackops.New(f.cfg(func(c *slackops.Config) { c.Workspace.TeamID = otherTeam }))
	invoke(good)
	f.untouched("a job from a workspace no longer served", users, 0)
	f.h = h

	// And in time, as sealed: answered.
	invoke(good)
	mustContain(t, "the genuine job's answer", text(f.answer()), "Ada Lovelace")
}
