package onboarding_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// Audit entries are the items of GET /users/{id}/history and GET
// /roles/{id}/history as they are: their JSON is the API's, to the byte.
func TestAuditEntriesJSON(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	a := onboarding.Audit{Version: 2, At: at, ActorID: "a1", ActorEmail: "admin@example.com",
		Source: onboarding.SourceAPI, Action: "edit", Changes: []user.Change{{Field: "name", From: "Night", To: "Evening"}}}
	const rest = `"version":2,"at":"2026-11-28T09:00:00Z","actorId":"a1","actorEmail":"admin@example.com","source":"%s","action":"edit","changes":[{"field":"name","from":"Night","to":"Evening"}]%s}`
	slack := a
	slack.Source, slack.SlackUserID = onboarding.SourceSlack, "U123"
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"user", onboarding.AuditEntry{UserID: "u1", Audit: a}, `{"userId":"u1",` + fmt.Sprintf(rest, "api", "")},
		{"user through Slack", onboarding.AuditEntry{UserID: "u1", Audit: slack}, `{"userId":"u1",` + fmt.Sprintf(rest, "slack", `,"slackUserId":"U123"`)},
		{"role", onboarding.RoleAuditEntry{RoleID: "night", Audit: a}, `{"roleId":"night",` + fmt.Sprintf(rest, "api", "")},
		{"role through Slack", onboarding.RoleAuditEntry{RoleID: "night", Audit: slack}, `{"roleId":"night",` + fmt.Sprintf(rest, "slack", `,"slackUserId":"U123"`)},
	} {
		got, err := json.Marshal(tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: %s %v\nwant %s", tt.name, got, err, tt.want)
		}
	}
}
