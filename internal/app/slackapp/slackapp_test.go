package slackapp

import (
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/app"
)

func TestHandlerNeedsTheWorkspace(t *testing.T) {
	r := &app.Root{Config: app.Config{SlackSigningSecret: "s3cret-value"}}
	if _, err := Handler(r, nil); err == nil || !strings.Contains(err.Error(), "OPSOS_SLACK_TEAM_ID") {
		t.Errorf("a Slack handler without a workspace: %v, want an error naming OPSOS_SLACK_TEAM_ID", err)
	}
}
