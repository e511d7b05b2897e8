package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

func TestParseSlackSecret(t *testing.T) {
	signing, token, err := parseSlackSecret(`{"signingSecret":" 8f742231b10e8888abcd99yyyzzz85a5 ","botToken":"xoxb-1-2-abc"}`)
	if err != nil || signing != "8f742231b10e8888abcd99yyyzzz85a5" || token != "xoxb-1-2-abc" {
		t.Errorf("got %q %q %v", signing, token, err)
	}
	if _, token, err := parseSlackSecret(`{"signingSecret":"s3cret-value"}`); err != nil || token != "" {
		t.Errorf("a secret without a bot token: %q %v, want accepted", token, err)
	}
	for raw, says := range map[string]string{
		`not json`:              "must be JSON",
		`{"botToken":"xoxb-1"}`: "no signingSecret",
		`{"signingSecret":"s","botToken":"xoxp-1"}`: "bot token (xoxb-",
	} {
		_, _, err := parseSlackSecret(raw)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want an error saying %q", raw, err, says)
		}
		if err != nil && strings.Contains(err.Error(), "xoxp-1") {
			t.Errorf("the error echoes the secret's content: %v", err)
		}
	}
}

func TestSlackSettingsFromEnv(t *testing.T) {
	env := map[string]string{"OPSOS_SLACK_CHANNEL": "C0123"}
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "OPSOS_SLACK_BOT_TOKEN") {
		t.Errorf("a channel without a token: %v, want an error naming OPSOS_SLACK_BOT_TOKEN", err)
	}
	env["OPSOS_SLACK_SECRET_ARN"] = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:opsos-slack"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err != nil {
		t.Errorf("a channel with the token in Secrets Manager: %v", err)
	}
	env["OPSOS_SLACK_API_URL"] = "not a url"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "OPSOS_SLACK_API_URL") {
		t.Errorf("a bad API URL: %v", err)
	}
}

func TestBootstrapAdminOnDynamoDB(t *testing.T) {
	endpoint := emulators.DynamoDB(t)
	cfg, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"OPSOS_DYNAMODB_ENDPOINT": endpoint, "OPSOS_TABLE_NAME": fmt.Sprintf("opsos-boot-%d", time.Now().UnixNano()),
			"OPSOS_DATA_DIR": t.TempDir()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	admin := onboarding.FirstAdministrator{Email: "lead@ops.example.com", FirstName: "Grace", LastName: "Hopper"}
	u, created, err := BootstrapAdmin(context.Background(), cfg, admin, log)
	if err != nil || !created || u.Status != user.StatusReleasing {
		t.Fatalf("%+v %v %v, want a released administrator", u, created, err)
	}
	again, created, err := BootstrapAdmin(context.Background(), cfg, admin, log)
	if err != nil || created || again.ID != u.ID {
		t.Errorf("second run: %v %v, want the same administrator", created, err)
	}
	if _, _, err := BootstrapAdmin(context.Background(), Config{}, admin, log); err == nil || !strings.Contains(err.Error(), "OPSOS_TABLE_NAME") {
		t.Errorf("without a table: %v", err)
	}
}
