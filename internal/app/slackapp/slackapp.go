// Package slackapp is the composition root's Slack part: it builds from
// an app.Root the /slack/* handler and the release worker's notifier, and
// reads, in AWS, the Slack settings kept in Secrets Manager. It is apart
// from package app because Slack's client and Secrets Manager's would
// otherwise be linked into every function; only those that talk to Slack
// link it.
package slackapp

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/notify/slacknotify"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/slackops"
)

// ReadSecret reads the secret arn from Secrets Manager: app.Open calls
// it, given WithSlackSecret, to complete the configuration at start.
func ReadSecret(ctx context.Context, awsCfg aws.Config, arn string) (string, error) {
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.SecretString), nil
}

// client returns the Slack Web API client, nil without a bot token.
func client(r *app.Root) *slack.Client {
	if r.Config.SlackBotToken == "" {
		return nil
	}
	var opts []slack.Option
	if r.Config.SlackAPIURL != "" {
		opts = append(opts, slack.OptionAPIURL(r.Config.SlackAPIURL))
	}
	return slack.New(r.Config.SlackBotToken, opts...)
}

// roleNameTimeout bounds the read of a notice's role name, which must not
// hold back the notice.
const roleNameTimeout = 2 * time.Second

// Notifier returns where the release worker reports outcomes: the
// configured Slack channel, or nil (no notices) when there is none.
func Notifier(r *app.Root) release.Notifier {
	c := client(r)
	if c == nil || r.Config.SlackChannel == "" {
		return nil
	}
	store := r.Store
	// Read per notice: a role renamed since start shows its new name. One
	// GetItem of the role, which the release function may make.
	return slacknotify.New(c, r.Config.SlackChannel, slacknotify.WithRoleNames(func(id string) string {
		ctx, cancel := context.WithTimeout(context.Background(), roleNameTimeout)
		defer cancel()
		role, err := store.GetRole(ctx, id)
		if err != nil {
			return "" // the notice shows the role id
		}
		return role.Name
	}))
}

// Handler builds the /slack/* handler. deferrer runs slow commands after
// the answer: an asynchronous invocation in Lambda, a goroutine locally.
func Handler(r *app.Root, deferrer slackops.Deferrer) (*slackops.Handler, error) {
	if r.Config.SlackSigningSecret == "" {
		return nil, fmt.Errorf("OPSOS_SLACK_SIGNING_SECRET must be set: it is the Slack app's signing secret, which every request is checked against")
	}
	if r.Config.SlackTeamID == "" {
		return nil, fmt.Errorf("OPSOS_SLACK_TEAM_ID must be set: the id (T…) of the Slack workspace whose requests are served; requests from any other workspace are refused")
	}
	cfg := slackops.Config{
		Service: r.Service, Verifier: slackops.NewVerifier(r.Config.SlackSigningSecret, time.Now),
		Deferrer: deferrer, Log: r.Log,
		// Replays are remembered in the table, so every instance of the
		// function knows what the others accepted.
		Replays:           r.Store,
		Workspace:         slackops.Workspace{TeamID: r.Config.SlackTeamID, EnterpriseID: r.Config.SlackEnterpriseID},
		LoopbackResponses: r.Config.SlackLoopbackResponses,
	}
	// A nil *slack.Client must not become a non-nil API.
	if c := client(r); c != nil {
		cfg.API = c
	}
	return slackops.New(cfg), nil
}
