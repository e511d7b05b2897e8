// Command postauth is the Cognito post-authentication trigger: a user's
// first sign-in with their own password makes them active.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/identity/cognito"
)

func main() {
	var trigger cognito.PostAuthentication
	app.OpenFunction("postauth", func(_ context.Context, a *app.App) error {
		trigger = cognito.PostAuthentication{Activator: a.Service, Log: a.Log}
		return nil
	})
	lambda.Start(trigger.Handle)
}
