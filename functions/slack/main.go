// Command slack is the Lambda function behind API Gateway's /slack/*
// routes: Slack's slash command and interactivity requests, and the
// commands it defers to itself.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/slackops"
)

func main() {
	var h *slackops.Handler
	app.OpenFunction("slack", func(a *app.App) error {
		d, err := a.LambdaDeferrer()
		if err != nil {
			return err
		}
		h, err = a.SlackHandler(d)
		return err
	})
	lambda.StartHandler(h)
}
