// Command slack is the Lambda function behind API Gateway's /slack/*
// routes: Slack's slash command and interactivity requests, and the
// commands it defers to itself.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/lambdainvoke"
	"github.com/opsos/onboarding/internal/slackops"
)

func main() {
	var h *slackops.Handler
	app.Main("slack", func(_ context.Context, r *app.Root) error {
		// Slow commands finish in another invocation of this function.
		d, err := lambdainvoke.New(r.AWS)
		if err != nil {
			return err
		}
		h, err = slackapp.Handler(r, d)
		return err
	}, app.WithSlackSecret(slackapp.ReadSecret))
	lambda.StartHandler(h)
}
