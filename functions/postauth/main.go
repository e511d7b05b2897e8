// Command postauth is the Cognito post-authentication trigger: a user's
// first sign-in with their own password makes them active.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/release"
)

func main() {
	var act *release.Activations
	app.OpenFunction("postauth", func(_ context.Context, a *app.App) error {
		act = release.NewActivations(a.Store, time.Now, a.Log)
		return nil
	})
	lambda.Start(act.PostAuthentication)
}
