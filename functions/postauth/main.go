// Command postauth is the Cognito post-authentication trigger: a user's
// first sign-in with their own password makes them active.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/release"
)

func main() {
	var w *release.Worker
	app.OpenFunction("postauth", func(a *app.App) (err error) { w, err = a.ReleaseWorker(); return err })
	lambda.Start(w.PostAuthentication)
}
