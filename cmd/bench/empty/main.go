// Command empty is the baseline of the cold-start benchmark: an
// aws-lambda-go function that does nothing, built like the OpsOS functions.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev json.RawMessage) (string, error) { return "ok", nil })
}
