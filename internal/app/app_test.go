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
