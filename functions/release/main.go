// Command release is the Lambda function on the table's stream: the
// release worker, with Cognito, SES and the managers' Slack channel.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/releaseapp"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
)

func main() {
	var w *release.Worker
	app.Main("release", func(_ context.Context, r *app.Root) (err error) { w, err = releaseapp.Worker(r); return err },
		app.WithSlackSecret(slackapp.ReadSecret))
	// Records are decoded into changes of users at the edge.
	lambda.Start(stream.Edge(item.DecodeChange, w.Changes))
}
