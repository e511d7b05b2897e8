package local_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/local"
)

// TestSlackCommandsLocally drives /opsos-user on the local server as
// `opsos slack` does: signed like Slack, answered by the production
// handler, with the slow status answer arriving on the response_url.
func TestSlackCommandsLocally(t *testing.T) {
	const secret = "local-signing-secret-0123456789"
	s, out := start(t, config(t, t.TempDir(), "OPSOS_ADMIN_SLACK_ID", "UADMIN0001", "OPSOS_SLACK_SIGNING_SECRET", secret))
	defer stop(t, s)
	if strings.Contains(out.String(), secret) {
		t.Error("the start output echoes a signing secret the developer chose")
	}
	send := func(as, text string, cmd ...func(*local.SlackCommand)) (string, error) {
		var b bytes.Buffer
		c := local.SlackCommand{Server: "http://" + s.Addr(), Secret: secret, SlackUser: as, Text: text, Wait: 10 * time.Second}
		for _, f := range cmd {
			f(&c)
		}
		err := local.SendSlackCommand(context.Background(), c, &b)
		return b.String(), err
	}
	mustSay := func(text string, wants ...string) {
		t.Helper()
		got, err := send("UADMIN0001", text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s answered %q, want %q", text, got, w)
			}
		}
	}
	mustSay("create first=Priya last=Shah email=<mailto:priya@example.com|priya@example.com> role=staff type=internal",
		"User created", "Priya Shah", "Introduction Mode")
	// Without a bot token there is no form to open: the answer shows the
	// direct form instead.
	mustSay("create", "bot token", "first=")
	mustSay("status priya@example.com", "Checking", "Hold Invite (Introduction Mode) is on")
	mustSay("release priya@example.com", "Access released")

	if _, err := send("UADMIN0001", "list", func(c *local.SlackCommand) { c.Secret = "wrong-secret" }); err == nil ||
		!strings.Contains(err.Error(), "refused the signature") {
		t.Errorf("a wrong secret: %v, want the signature refused", err)
	}
	// Local mode serves the stand-in's workspace only.
	got, err := send("UADMIN0001", "create first=Eve last=M email=eve@example.com role=staff", func(c *local.SlackCommand) { c.Team = "T0OTHER001" })
	if err != nil || !strings.Contains(got, "one Slack workspace") {
		t.Errorf("a command from another workspace: %q %v, want a refusal", got, err)
	}
	got, err = send("USOMEONE01", "create first=Eve last=M email=eve@example.com role=staff")
	if err != nil || !strings.Contains(got, "Sorry, you can't do that") {
		t.Errorf("an unlinked Slack user: %q %v, want a refusal", got, err)
	}
	if r := call(t, s, "GET", "/users?q=eve", token, ""); len(r.body["items"].([]any)) != 0 {
		t.Error("a refused Slack user created a user")
	}
}

func TestSlackSigningSecretIsPrintedWhenRandom(t *testing.T) {
	s, out := start(t, config(t, t.TempDir()))
	defer stop(t, s)
	if !strings.Contains(out.String(), "export OPSOS_SLACK_SIGNING_SECRET=") || !strings.Contains(out.String(), "/slack/commands") {
		t.Errorf("start output does not say how to sign Slack requests:\n%s", out)
	}
}
