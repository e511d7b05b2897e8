// Command release is the Lambda function on the table's stream: the
// release worker, with Cognito, SES and the managers' Slack channel.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/invite"
	"github.com/opsos/onboarding/internal/mail/ses"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
)

func main() {
	var w *release.Worker
	app.Main("release", func(_ context.Context, r *app.Root) error {
		cfg := r.Config
		if err := cfg.Require("the release worker", "OPSOS_USER_POOL_ID", "OPSOS_MAIL_FROM", "OPSOS_LOGIN_URL"); err != nil {
			return err
		}
		composer, err := invite.New()
		if err != nil {
			return err
		}
		w, err = app.Worker(r, app.WorkerParts{Identity: r.Cognito(), Compose: composer.Compose, Notifier: slackapp.Notifier(r),
			Mailer: ses.New(sesv2.NewFromConfig(*r.AWS), cfg.MailFrom, cfg.SESConfigurationSet)})
		return err
	}, app.WithSlackSecret(slackapp.ReadSecret))
	lambda.Start(stream.Edge(item.DecodeChange, w.Changes))
}
