// Command api is the Lambda function behind API Gateway's user routes.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/opsos/onboarding/internal/app"
)

func main() {
	var a *app.App
	app.OpenFunction("api", func(built *app.App) error { a = built; return nil })
	lambda.Start(a.API.Handle)
}
