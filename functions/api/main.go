// Command api is the Lambda function behind API Gateway's user routes.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/httpapi"
)

func main() {
	var h *httpapi.Handler
	app.Main("api", func(_ context.Context, r *app.Root) error { h = httpapi.New(r.Service, r.Log); return nil })
	lambda.Start(h.Handle)
}
