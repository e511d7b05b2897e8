// Command release is the Lambda function on the table's stream: the release worker.
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
		fmt.Fprintln(os.Stderr, "release: configuration:", err)
		os.Exit(1)
	}
	log := cfg.Logger()
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		log.Error("release: start", "error", err.Error())
		os.Exit(1)
	}
	w, err := a.ReleaseWorker()
	if err != nil {
		log.Error("release: start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(w.Handle)
}
