package lambdainvoke

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/opsos/onboarding/internal/slackops"
)

type recorder struct {
	in  []*lambda.InvokeInput
	err error
}

func (r *recorder) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	r.in = append(r.in, in)
	return &lambda.InvokeOutput{StatusCode: 202}, r.err
}

func TestDeferInvokesTheFunctionAsynchronouslyWithTheJob(t *testing.T) {
	rec := &recorder{}
	d := Deferrer{Client: rec, Function: "opsos-slack"}
	job := slackops.Job{Text: "status ada@example.com", SlackUserID: "U1", ResponseURL: "https://hooks.slack.com/commands/1"}
	ran := false
	if err := d.Defer(context.Background(), job, func(context.Context, slackops.Job) { ran = true }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the job ran in the answering invocation, which Lambda freezes")
	}
	if len(rec.in) != 1 {
		t.Fatalf("%d invocations, want 1", len(rec.in))
	}
	in := rec.in[0]
	if *in.FunctionName != "opsos-slack" || in.InvocationType != types.InvocationTypeEvent {
		t.Errorf("invoked %s as %s, want opsos-slack as Event", *in.FunctionName, in.InvocationType)
	}
	var got struct {
		Job slackops.Job `json:"opsosSlackJob"`
	}
	if err := json.Unmarshal(in.Payload, &got); err != nil || got.Job != job {
		t.Errorf("payload %s carries %+v, want %+v", in.Payload, got.Job, job)
	}
}

func TestDeferReportsFailure(t *testing.T) {
	d := Deferrer{Client: &recorder{err: errors.New("AccessDeniedException")}, Function: "opsos-slack"}
	if err := d.Defer(context.Background(), slackops.Job{}, nil); err == nil {
		t.Fatal("a failed invocation was not reported, so the command would get no answer")
	}
}
