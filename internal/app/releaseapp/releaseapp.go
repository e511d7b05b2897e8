// Package releaseapp is the composition root's part for the release
// function: it picks the AWS adapters (Cognito, SES, the invitation, the
// managers' Slack channel) and builds app.Worker with them. It is apart
// from package app only so that no other function links SES's client and
// the invitation's templates; the release function's main and the IAM
// coverage test both build the worker here, so the test exercises the
// calls the deployed function makes.
package releaseapp

import (
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/invite"
	"github.com/opsos/onboarding/internal/mail/ses"
	"github.com/opsos/onboarding/internal/release"
)

// Worker builds the release worker of the AWS deployment on r, which
// app.Open opened in AWS (WithSlackSecret, for the channel's token).
func Worker(r *app.Root) (*release.Worker, error) {
	cfg := r.Config
	if err := cfg.Require("the release worker", "OPSOS_USER_POOL_ID", "OPSOS_MAIL_FROM"); err != nil {
		return nil, err
	}
	composer, err := invite.New()
	if err != nil {
		return nil, err
	}
	return app.Worker(r, app.WorkerParts{Identity: r.Cognito(), Compose: composer.Compose, Notifier: slackapp.Notifier(r),
		Mailer: ses.New(sesv2.NewFromConfig(*r.AWS), cfg.MailFrom, cfg.SESConfigurationSet)})
}
