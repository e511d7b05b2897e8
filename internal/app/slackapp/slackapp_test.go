package slackapp

import (
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/app"
)

func TestParseSecret(t *testing.T) {
	signing, token, err := parseSecret(`{"signingSecret":" 8f742231b10e8888abcd99yyyzzz85a5 ","botToken":"xoxb-1-2-abc"}`)
	if err != nil || signing != "8f742231b10e8888abcd99yyyzzz85a5" || token != "xoxb-1-2-abc" {
		t.Errorf("got %q %q %v", signing, token, err)
	}
	if _, token, err := parseSecret(`{"signingSecret":"s3cret-value"}`); err != nil || token != "" {
		t.Errorf("a secret without a bot token: %q %v, want accepted", token, err)
	}
	for raw, says := range map[string]string{
		`not json`:              "must be JSON",
		`{"botToken":"xoxb-1"}`: "no signingSecret",
		`{"signingSecret":"s","botToken":"xoxp-1"}`: "bot token (xoxb-",
	} {
		_, _, err := parseSecret(raw)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want an error saying %q", raw, err, says)
		}
		if err != nil && strings.Contains(err.Error(), "xoxp-1") {
			t.Errorf("the error echoes the secret's content: %v", err)
		}
	}
}

func TestHandlerNeedsTheWorkspace(t *testing.T) {
	a := &app.App{Config: app.Config{SlackSigningSecret: "s3cret-value"}}
	if _, err := Handler(a, nil); err == nil || !strings.Contains(err.Error(), "OPSOS_SLACK_TEAM_ID") {
		t.Errorf("a Slack handler without a workspace: %v, want an error naming OPSOS_SLACK_TEAM_ID", err)
	}
}
