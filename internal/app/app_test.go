package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

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

func TestSlackWorkspaceFromEnv(t *testing.T) {
	read := func(env map[string]string) (Config, error) {
		return ConfigFromEnv(func(k string) string { return env[k] })
	}
	c, err := read(map[string]string{"OPSOS_SLACK_TEAM_ID": " T0123ABCD ", "OPSOS_SLACK_ENTERPRISE_ID": "E0123ABCD"})
	if err != nil || c.SlackTeamID != "T0123ABCD" || c.SlackEnterpriseID != "E0123ABCD" {
		t.Errorf("a team and an enterprise: %+v %v", c, err)
	}
	if c.SlackLoopbackResponses {
		t.Error("the environment turned on loopback response_urls; only local mode may")
	}
	if c, err := read(map[string]string{}); err != nil || c.SlackTeamID != "" {
		t.Errorf("no team: %q %v, want accepted here (the Slack function requires it)", c.SlackTeamID, err)
	}
	for env, says := range map[string]string{
		"OPSOS_SLACK_TEAM_ID=t0123abcd":       "OPSOS_SLACK_TEAM_ID",
		"OPSOS_SLACK_TEAM_ID=E0123ABCD":       "OPSOS_SLACK_TEAM_ID",
		"OPSOS_SLACK_TEAM_ID=T0123-ABC":       "OPSOS_SLACK_TEAM_ID",
		"OPSOS_SLACK_ENTERPRISE_ID=T0123ABCD": "OPSOS_SLACK_ENTERPRISE_ID",
		"OPSOS_SLACK_ENTERPRISE_ID=E":         "OPSOS_SLACK_ENTERPRISE_ID",
	} {
		k, v, _ := strings.Cut(env, "=")
		if _, err := read(map[string]string{k: v}); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want an error naming %s", env, err, says)
		}
	}
}

func TestLambdaAWSConfigReadsTheEnvironment(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "token")
	cfg, err := LambdaAWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil || cfg.Region != "eu-west-2" || creds.AccessKeyID != "AKIDEXAMPLE" || creds.SessionToken != "token" {
		t.Errorf("config %+v, credentials %+v %v", cfg.Region, creds.AccessKeyID, err)
	}
	t.Setenv("AWS_REGION", "")
	if _, err := LambdaAWSConfig(t.Context()); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("without a region: %v", err)
	}
}

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

// The secret completes the configuration before anything is built; what
// the environment sets wins, and a function that talks to no Slack reads
// no secret.
func TestOpenReadsTheSlackSecretOnce(t *testing.T) {
	reads := 0
	read := func(_ context.Context, _ aws.Config, arn string) (string, error) {
		reads++
		return `{"signingSecret":"from-the-secret","botToken":"xoxb-from-the-secret"}`, nil
	}
	cfg := Config{TableName: "opsos", SlackSecretARN: "arn:aws:secretsmanager:eu-west-2:1:secret:s", SlackBotToken: "xoxb-from-env"}
	inAWS := WithAWSConfig(func(context.Context) (aws.Config, error) { return aws.Config{Region: "eu-west-2"}, nil })
	r, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler), inAWS, WithSlackSecret(read))
	if err != nil {
		t.Fatal(err)
	}
	if reads != 1 || r.Config.SlackSigningSecret != "from-the-secret" || r.Config.SlackBotToken != "xoxb-from-env" {
		t.Errorf("reads %d, signing %q, token %q; want one read, the secret's signing secret and the environment's token",
			reads, r.Config.SlackSigningSecret, r.Config.SlackBotToken)
	}
	r, err = Open(t.Context(), cfg, slog.New(slog.DiscardHandler), inAWS)
	if err != nil || r.Config.SlackSigningSecret != "" || reads != 1 {
		t.Errorf("without a reader: %v, signing %q, reads %d; want nothing read", err, r.Config.SlackSigningSecret, reads)
	}
	failing := WithSlackSecret(func(context.Context, aws.Config, string) (string, error) { return "", errors.New("AccessDenied") })
	if _, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler), inAWS, failing); err == nil || !strings.Contains(err.Error(), "OPSOS_SLACK_SECRET_ARN") {
		t.Errorf("an unreadable secret: %v, want an error naming OPSOS_SLACK_SECRET_ARN", err)
	}
}
