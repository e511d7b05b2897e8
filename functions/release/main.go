// Command release is the Lambda function on the table's stream: the
// release worker.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/releaseapp"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
)

func main() {
	var w *release.Worker
	app.OpenFunction("release", func(ctx context.Context, a *app.App) (err error) { w, err = releaseapp.Worker(ctx, a); return err })
	lambda.Start(stream.Edge(item.DecodeChange, w.Changes))
}
