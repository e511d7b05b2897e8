package onboarding_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// Audit entries are the items of GET /users/{id}/history and GET
// /roles/{id}/history as they are: their JSON is the API's, to the byte.
func TestAuditEntriesJSON(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	changes := []user.Change{{Field: "name", From: "Night", To: "Evening"}}
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"user", onboarding.AuditEntry{UserID: "u1", Audit: onboarding.Audit{Version: 2, At: at, ActorID: "a1", ActorEmail: "admin@example.com",
			Source: onboarding.SourceAPI, Action: "edit", Changes: changes}},
			`{"userId":"u1","version":2,"at":"2026-11-28T09:00:00Z","actorId":"a1","actorEmail":"admin@example.com","source":"api","action":"edit","changes":[{"field":"name","from":"Night","to":"Evening"}]}`},
		{"user through Slack", onboarding.AuditEntry{UserID: "u1", Audit: onboarding.Audit{Version: 2, At: at, ActorID: "a1", ActorEmail: "admin@example.com",
			Source: onboarding.SourceSlack, Action: "edit", Changes: changes, SlackUserID: "U123"}},
			`{"userId":"u1","version":2,"at":"2026-11-28T09:00:00Z","actorId":"a1","actorEmail":"admin@example.com","source":"slack","action":"edit","changes":[{"field":"name","from":"Night","to":"Evening"}],"slackUserId":"U123"}`},
		{"role", onboarding.RoleAuditEntry{RoleID: "night", Audit: onboarding.Audit{Version: 2, At: at, ActorID: "a1", ActorEmail: "admin@example.com",
			Source: onboarding.SourceAPI, Action: "edit", Changes: changes}},
			`{"roleId":"night","version":2,"at":"2026-11-28T09:00:00Z","actorId":"a1","actorEmail":"admin@example.com","source":"api","action":"edit","changes":[{"field":"name","from":"Night","to":"Evening"}]}`},
		{"role through Slack", onboarding.RoleAuditEntry{RoleID: "night", Audit: onboarding.Audit{Version: 2, At: at, ActorID: "a1", ActorEmail: "admin@example.com",
			Source: onboarding.SourceSlack, Action: "edit", Changes: changes, SlackUserID: "U123"}},
			`{"roleId":"night","version":2,"at":"2026-11-28T09:00:00Z","actorId":"a1","actorEmail":"admin@example.com","source":"slack","action":"edit","changes":[{"field":"name","from":"Night","to":"Evening"}],"slackUserId":"U123"}`},
	} {
		got, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}
