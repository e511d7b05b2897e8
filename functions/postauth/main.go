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
	app.Main("postauth", func(_ context.Context, r *app.Root) error {
		trigger = cognito.PostAuthentication{Activator: r.Service, Log: r.Log}
		return nil
	})
	lambda.Start(trigger.Handle)
}
