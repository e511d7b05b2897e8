// Package slackapp builds what talks to Slack: the /slack/* handler, the
// release worker's notifier, and, in AWS, the Slack settings kept in
// Secrets Manager. Only the functions that talk to Slack link it.
package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/notify/slacknotify"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/slackops"
)

// LoadSecret fills the Slack settings from the Secrets Manager secret
// OPSOS_SLACK_SECRET_ARN names, if any: once, when a function starts.
func LoadSecret(ctx context.Context, a *app.App) error {
	arn := a.Config.SlackSecretARN
	if arn == "" {
		return nil
	}
	if a.AWS == nil {
		return fmt.Errorf("OPSOS_SLACK_SECRET_ARN=%s is read from Secrets Manager in AWS: it needs OPSOS_TABLE_NAME and no OPSOS_DYNAMODB_ENDPOINT", arn)
	}
	out, err := secretsmanager.NewFromConfig(*a.AWS).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("read OPSOS_SLACK_SECRET_ARN=%s: %w", arn, err)
	}
	signing, token, err := parseSecret(aws.ToString(out.SecretString))
	if err != nil {
		return fmt.Errorf("OPSOS_SLACK_SECRET_ARN=%s: %w", arn, err)
	}
	if a.Config.SlackSigningSecret == "" {
		a.Config.SlackSigningSecret = signing
	}
	if a.Config.SlackBotToken == "" {
		a.Config.SlackBotToken = token
	}
	return nil
}

// parseSecret reads the secret's JSON. The bot token may be empty (no
// forms, no notices); the signing secret may not.
func parseSecret(raw string) (signing, token string, err error) {
	var v struct {
		SigningSecret string `json:"signingSecret"`
		BotToken      string `json:"botToken"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return "", "", errors.New(`the secret must be JSON: {"signingSecret": "…", "botToken": "xoxb-…"}`)
	}
	v.SigningSecret, v.BotToken = strings.TrimSpace(v.SigningSecret), strings.TrimSpace(v.BotToken)
	if v.SigningSecret == "" {
		return "", "", errors.New("the secret has no signingSecret: copy it from the Slack app's Basic Information page")
	}
	if v.BotToken != "" && !strings.HasPrefix(v.BotToken, "xoxb-") {
		return "", "", errors.New("the secret's botToken must be the Slack app's bot token (xoxb-…)")
	}
	return v.SigningSecret, v.BotToken, nil
}

// client returns the Slack Web API client, nil without a bot token.
func client(a *app.App) *slack.Client {
	if a.Config.SlackBotToken == "" {
		return nil
	}
	var opts []slack.Option
	if a.Config.SlackAPIURL != "" {
		opts = append(opts, slack.OptionAPIURL(a.Config.SlackAPIURL))
	}
	return slack.New(a.Config.SlackBotToken, opts...)
}

// Notifier returns where the release worker reports outcomes: the
// configured Slack channel, or nil (no notices) when there is none.
func Notifier(a *app.App) release.Notifier {
	c := client(a)
	if c == nil || a.Config.SlackChannel == "" {
		return nil
	}
	roles := a.Service.Roles()
	return slacknotify.New(c, a.Config.SlackChannel, slacknotify.WithRoleNames(func(id string) string {
		r, _ := roles.Role(id)
		return r.Name
	}))
}

// Handler builds the /slack/* handler. deferrer runs slow commands after
// the answer: an asynchronous invocation in Lambda, a goroutine locally.
func Handler(a *app.App, deferrer slackops.Deferrer) (*slackops.Handler, error) {
	if a.Config.SlackSigningSecret == "" {
		return nil, fmt.Errorf("OPSOS_SLACK_SIGNING_SECRET must be set: it is the Slack app's signing secret, which every request is checked against")
	}
	if a.Config.SlackTeamID == "" {
		return nil, fmt.Errorf("OPSOS_SLACK_TEAM_ID must be set: the id (T…) of the Slack workspace whose requests are served; requests from any other workspace are refused")
	}
	// Replays are remembered in the table, so every instance of the
	// function knows what the others accepted.
	replays, ok := a.Store.(slackops.Replays)
	if !ok {
		return nil, fmt.Errorf("the store %T cannot remember Slack requests, which the Slack handler needs to refuse replays", a.Store)
	}
	cfg := slackops.Config{
		Service: a.Service, Verifier: slackops.NewVerifier(a.Config.SlackSigningSecret, time.Now),
		Deferrer: deferrer, Log: a.Log, Replays: replays,
		Workspace:         slackops.Workspace{TeamID: a.Config.SlackTeamID, EnterpriseID: a.Config.SlackEnterpriseID},
		LoopbackResponses: a.Config.SlackLoopbackResponses,
	}
	// A nil *slack.Client must not become a non-nil API.
	if c := client(a); c != nil {
		cfg.API = c
	}
	return slackops.New(cfg), nil
}
