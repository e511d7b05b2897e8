package app

import (
	"strings"
	"testing"
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
