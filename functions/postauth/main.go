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
	app.Main("postauth", func(_ context.Context, r *app.Root) error {
		act = release.NewActivations(r.Store, time.Now, r.Log)
		return nil
	})
	lambda.Start(act.PostAuthentication)
}
