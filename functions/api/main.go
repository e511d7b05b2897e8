// Command api is the Lambda function behind API Gateway's user routes.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
)

func main() {
	cfg, err := app.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api: configuration:", err)
		os.Exit(1)
	}
	log := cfg.Logger()
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		log.Error("api: start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(a.API.Handle)
}
