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
	app.OpenFunction("slack", func(ctx context.Context, a *app.App) error {
		if err := slackapp.LoadSecret(ctx, a); err != nil {
			return err
		}
		d, err := lambdainvoke.New(a.AWS)
		if err != nil {
			return err
		}
		h, err = slackapp.Handler(a, d)
		return err
	})
	lambda.StartHandler(h)
}
