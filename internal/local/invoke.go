package local

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/identity/localid"
	"github.com/opsos/onboarding/internal/mail/outbox"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
)

// The Lambda functions, by the names `opsos invoke -function` takes.
const (
	FunctionAPI      = "api"
	FunctionSlack    = "slack"
	FunctionRelease  = "release"
	FunctionPostAuth = "postauth"
)

// FunctionNames lists the functions as help and errors name them.
const FunctionNames = "api, slack, release or postauth"

// EventKind is the shape of an event and the function that takes it.
type EventKind struct {
	// Name says what the event is, as a message would: "a DynamoDB stream event".
	Name string
	// Function is the function that takes it: FunctionAPI and the others.
	Function string
}

// knownShapes is what an unknown event is told it could have been.
const knownShapes = `the shapes known are an API Gateway HTTP API request ("version": "2.0" and requestContext.http; api, or slack for rawPath /slack/commands and /slack/interactions), the Slack function's deferred command ({"opsosSlackJob": …}; slack), a DynamoDB stream event (Records[].eventSource "aws:dynamodb"; release) and a Cognito post-authentication trigger (triggerSource "PostAuthentication_Authentication"; postauth)`

// KindOf tells from its shape which function's event raw is, as Lambda's
// event sources would have delivered it: each function is only ever sent
// one kind.
func KindOf(raw []byte) (EventKind, error) {
	var probe struct {
		Version        string `json:"version"`
		RawPath        string `json:"rawPath"`
		RequestContext struct {
			HTTP *struct {
				Path string `json:"path"`
			} `json:"http"`
		} `json:"requestContext"`
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
		TriggerSource string          `json:"triggerSource"`
		Job           json.RawMessage `json:"opsosSlackJob"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return EventKind{}, fmt.Errorf("it is not a JSON object (%v); %s", err, knownShapes)
	}
	fromDynamoDB := true
	for _, r := range probe.Records {
		fromDynamoDB = fromDynamoDB && r.EventSource == "aws:dynamodb"
	}
	switch {
	case len(probe.Job) > 0 && string(probe.Job) != "null":
		return EventKind{"the Slack function's deferred command", FunctionSlack}, nil
	case probe.Version == "2.0" && probe.RequestContext.HTTP != nil:
		path := probe.RawPath
		if path == "" {
			path = probe.RequestContext.HTTP.Path
		}
		if path == slackops.PathCommands || path == slackops.PathInteractions {
			return EventKind{"a Slack request to " + path, FunctionSlack}, nil
		}
		return EventKind{"an API Gateway HTTP API request", FunctionAPI}, nil
	case len(probe.Records) > 0 && fromDynamoDB:
		return EventKind{"a DynamoDB stream event", FunctionRelease}, nil
	case probe.TriggerSource == "PostAuthentication_Authentication":
		return EventKind{"a Cognito post-authentication trigger", FunctionPostAuth}, nil
	case probe.TriggerSource != "":
		return EventKind{}, fmt.Errorf("it is a Cognito %s trigger, which no function takes; %s", probe.TriggerSource, knownShapes)
	}
	return EventKind{}, errors.New("no function takes an event of its shape; " + knownShapes)
}

// Fits checks that the event raw is for function (empty: any) and
// returns its kind. A refusal names the function the event is for.
func Fits(function string, raw []byte) (EventKind, error) {
	switch function {
	case "", FunctionAPI, FunctionSlack, FunctionRelease, FunctionPostAuth:
	default:
		return EventKind{}, fmt.Errorf("there is no function %q: the functions are %s", function, FunctionNames)
	}
	k, err := KindOf(raw)
	if err != nil {
		return EventKind{}, err
	}
	if function != "" && function != k.Function {
		return k, fmt.Errorf("it is %s, which the %s function takes, not the %s function", k.Name, k.Function, function)
	}
	return k, nil
}

// Invoke runs the production handler of function (empty: the one the
// event is for, named on notes) on the event in file, on the local data,
// as Lambda would run it, and writes the handler's answer as JSON to out.
// An event the function is never sent is refused, naming the function
// that takes it. The administrator is bootstrapped first, so the sample
// events' claims resolve to a manager.
func Invoke(ctx context.Context, cfg Config, function, file string, out, notes io.Writer) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	k, err := Fits(function, raw)
	if err != nil {
		if k.Function != "" {
			return fmt.Errorf("%s: %w: make invoke FUNCTION=%s EVENT=%s", file, err, k.Function, file)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	if function == "" {
		fmt.Fprintf(notes, "%s is %s: invoking the %s function\n", file, k.Name, k.Function)
	}
	// Warnings say why a request was refused (a signature, a job's MAC);
	// the answer itself goes to out alone.
	log := slog.New(slog.NewJSONHandler(notes, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(ctx, cfg.App, log, app.WithStorage(OpenStorage))
	if err != nil {
		return err
	}
	defer a.Close()
	if _, _, err := a.Service.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminSlackID); err != nil {
		return err
	}
	var resp any
	switch k.Function {
	case FunctionAPI:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		resp, err = httpapi.New(a.Service, log).Handle(ctx, ev)
	case FunctionSlack:
		resp, err = invokeSlack(ctx, a, file, raw)
	case FunctionRelease:
		resp, err = invokeRelease(ctx, cfg, a, file, raw, log)
	case FunctionPostAuth:
		var ev events.CognitoEventUserPoolsPostAuthentication
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		resp, err = cognito.PostAuthentication{Activator: a.Service, Log: log}.Handle(ctx, ev)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(resp)
}

// invokeSlack runs the Slack function's entry point on raw, a request
// signed afresh or a deferred command.
func invokeSlack(ctx context.Context, a *app.Root, file string, raw []byte) (any, error) {
	if a.Config.SlackSigningSecret == "" {
		return nil, fmt.Errorf("%s is for the Slack function: set OPSOS_SLACK_SIGNING_SECRET to sign it with", file)
	}
	// No deferrer: a slow command runs before the answer, which then
	// carries it, instead of going to a response_url.
	h, err := slackapp.Handler(a, nil)
	if err != nil {
		return nil, err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if ev.RequestContext.HTTP.Method != "" {
		// A sample's signature is as old as the sample: sign it afresh
		// with the local secret, as Slack would sign it now.
		body := []byte(ev.Body)
		if ev.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
				return nil, fmt.Errorf("%s: the body is not base64: %w", file, err)
			}
		}
		ts, sig := slackops.Sign(a.Config.SlackSigningSecret, time.Now(), body)
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		for k := range ev.Headers {
			if strings.EqualFold(k, "x-slack-request-timestamp") || strings.EqualFold(k, "x-slack-signature") {
				delete(ev.Headers, k)
			}
		}
		ev.Headers["x-slack-request-timestamp"], ev.Headers["x-slack-signature"] = ts, sig
		if raw, err = json.Marshal(ev); err != nil {
			return nil, err
		}
	}
	// A deferred command goes in as it is: only the function that sealed
	// it can, so one written by hand is refused (and the refusal logged).
	answer, err := h.Invoke(ctx, raw)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(answer), nil
}

// invokeRelease runs local mode's release worker on the stream event raw:
// invitations go to the local mailbox and logins to the local sign-in.
func invokeRelease(ctx context.Context, cfg Config, a *app.Root, file string, raw []byte, log *slog.Logger) (any, error) {
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	now := func() time.Time { return time.Now().UTC() }
	logins, err := localid.Open(filepath.Join(cfg.App.DataDir, "logins.db"), localid.Options{
		Now: now, TemporaryPasswordValidity: cfg.App.TempPasswordValidity, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	defer logins.Close()
	mailbox, err := outbox.Open(filepath.Join(cfg.App.DataDir, "mail"), now)
	if err != nil {
		return nil, err
	}
	w, err := newWorker(a, logins, mailbox, "http://"+cfg.Addr, now)
	if err != nil {
		return nil, err
	}
	return stream.Edge(item.DecodeChange, w.Changes)(ctx, ev)
}
