// Package releaseapp builds the release worker of the AWS deployment:
// Cognito, SES, the invitation email and the Slack notices. Only the
// release function links it.
package releaseapp

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/invite"
	"github.com/opsos/onboarding/internal/mail/ses"
	"github.com/opsos/onboarding/internal/password"
	"github.com/opsos/onboarding/internal/release"
)

// Worker builds the release worker. Each missing setting is named.
func Worker(ctx context.Context, a *app.App) (*release.Worker, error) {
	cfg := a.Config
	for _, setting := range [][2]string{{"OPSOS_TABLE_NAME", cfg.TableName}, {"OPSOS_USER_POOL_ID", cfg.UserPoolID},
		{"OPSOS_MAIL_FROM", cfg.MailFrom}, {"OPSOS_LOGIN_URL", cfg.LoginURL}} {
		if setting[1] == "" {
			return nil, fmt.Errorf("%s must be set for the release worker", setting[0])
		}
	}
	if a.AWS == nil {
		return nil, fmt.Errorf("the release worker runs in AWS: OPSOS_DYNAMODB_ENDPOINT must not be set")
	}
	store, ok := a.Store.(release.Store)
	if !ok {
		return nil, fmt.Errorf("the store %T cannot serve the release worker", a.Store)
	}
	if err := slackapp.LoadSecret(ctx, a); err != nil {
		return nil, err
	}
	composer, err := invite.New()
	if err != nil {
		return nil, err
	}
	mailer := ses.New(sesv2.NewFromConfig(*a.AWS), cfg.MailFrom, cfg.SESConfigurationSet)
	deps := release.Deps{
		Store:     store,
		Outcomes:  a.Service,
		Identity:  a.Cognito(),
		Mailer:    mailer,
		Compose:   composer.Compose,
		Passwords: func() (string, error) { return password.Default().Generate(nil) },
		Now:       func() time.Time { return time.Now().UTC() },
		Log:       a.Log,
	}
	return release.New(deps, release.Config{LoginURL: cfg.LoginURL, TemporaryPasswordValidity: cfg.TempPasswordValidity,
		Notifier: slackapp.Notifier(a), SendRate: cfg.SendRate}), nil
}
