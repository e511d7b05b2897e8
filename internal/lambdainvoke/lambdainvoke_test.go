package lambdainvoke

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/opsos/onboarding/internal/slackops"
)

func config() aws.Config {
	return aws.Config{Region: "eu-west-2", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token")}
}

func TestDeferInvokesTheFunctionAsynchronouslyWithTheJob(t *testing.T) {
	var got *http.Request
	var body []byte
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer lambda.Close()
	d := Deferrer{Config: config(), Function: "OpsOS-slack", Endpoint: lambda.URL,
		now: func() time.Time { return time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC) }}
	job := slackops.Job{Text: "status ada@example.com", SlackUserID: "U1", ResponseURL: "https://hooks.slack.com/commands/1"}
	ran := false
	if err := d.Defer(context.Background(), job, func(context.Context, slackops.Job) { ran = true }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the job ran in the answering invocation, which Lambda freezes")
	}
	if got == nil {
		t.Fatal("Lambda was not called")
	}
	if got.Method != http.MethodPost || got.URL.Path != "/2015-03-31/functions/OpsOS-slack/invocations" || got.Header.Get("X-Amz-Invocation-Type") != "Event" {
		t.Errorf("called %s %s (%s), want an asynchronous Invoke of OpsOS-slack", got.Method, got.URL.Path, got.Header.Get("X-Amz-Invocation-Type"))
	}
	auth := got.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/eu-west-2/lambda/aws4_request") ||
		got.Header.Get("X-Amz-Security-Token") != "session-token" {
		t.Errorf("not signed for Lambda in eu-west-2 with the role's session: %q", auth)
	}
	var payload struct {
		Job slackops.Job `json:"opsosSlackJob"`
	}
	if err := json.Unmarshal(body, &payload); err != nil || payload.Job != job {
		t.Errorf("payload %s carries %+v, want %+v", body, payload.Job, job)
	}
}

func TestDeferReportsRefusal(t *testing.T) {
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"Message":"not authorized to perform: lambda:InvokeFunction"}`)
	}))
	defer lambda.Close()
	err := Deferrer{Config: config(), Function: "OpsOS-slack", Endpoint: lambda.URL}.Defer(context.Background(), slackops.Job{}, nil)
	if err == nil || !strings.Contains(err.Error(), "lambda:InvokeFunction") {
		t.Fatalf("%v, want the refusal, so the command is answered inline instead", err)
	}
}
