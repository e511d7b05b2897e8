// Package lambdainvoke defers Slack commands in AWS: it invokes the Slack
// function itself asynchronously, because Lambda freezes a function as
// soon as it has answered, so work left running after the answer would
// not happen.
package lambdainvoke

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/opsos/onboarding/internal/slackops"
)

// New returns the deferrer of the running function (its name from
// AWS_LAMBDA_FUNCTION_NAME, which Lambda sets).
func New(cfg *aws.Config) (Deferrer, error) {
	name := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	if cfg == nil || name == "" {
		return Deferrer{}, fmt.Errorf("the Slack function defers work by invoking itself: it must run in Lambda with OPSOS_TABLE_NAME set")
	}
	return Deferrer{Client: lambda.NewFromConfig(*cfg), Function: name}, nil
}

// Invoker is the part of the Lambda API the deferrer uses.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Deferrer hands a job to another invocation of Function.
type Deferrer struct {
	Client Invoker
	// Function is the name or ARN of the Slack function: the running
	// function's own (AWS_LAMBDA_FUNCTION_NAME).
	Function string
}

// Defer implements slackops.Deferrer. The job runs in the new invocation,
// not here, so run is not used.
func (d Deferrer) Defer(ctx context.Context, job slackops.Job, _ func(context.Context, slackops.Job)) error {
	payload, err := slackops.JobPayload(job)
	if err != nil {
		return err
	}
	_, err = d.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String(d.Function), InvocationType: types.InvocationTypeEvent, Payload: payload,
	})
	if err != nil {
		return fmt.Errorf("invoke %s asynchronously: %w", d.Function, err)
	}
	return nil
}
