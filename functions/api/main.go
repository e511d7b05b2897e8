// Command api is the Lambda function behind API Gateway's user routes,
// and the manager console's pages.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/console"
	"github.com/opsos/onboarding/internal/httpapi"
)

func main() {
	var h *httpapi.Handler
	app.Main("api", func(_ context.Context, r *app.Root) error { h = httpapi.New(r.Service, r.Log); return nil })
	handle := console.APIHandler(h.Handle)
	if cfg, ok := console.ConfigFromEnv(os.Getenv); ok {
		handle = console.Routed(console.Handler(cfg), handle)
	}
	lambda.Start(handle)
}
