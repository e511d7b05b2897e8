package slackops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/onboarding"
)

// Request paths, as API Gateway and the local server route them.
const (
	PathCommands     = "/slack/commands"
	PathInteractions = "/slack/interactions"
)

// maxBody bounds a Slack request; a command or a modal is far smaller.
const maxBody = 256 << 10

// API is what the handler needs of Slack's Web API; *slack.Client has it.
type API interface {
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	GetUserInfoContext(ctx context.Context, userID string, options ...slack.GetUserInfoOption) (*slack.User, error)
}

// Responder posts a message to a response_url Slack handed out.
type Responder interface {
	Respond(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error
}

// Deferrer runs a command after Slack has been answered: Lambda freezes a
// function once it returns, so in AWS this is an asynchronous invocation
// of the same function; locally it is a goroutine.
type Deferrer interface {
	// Defer arranges for job to run later. run is the job's work in this
	// process, for deferrers whose process outlives the answer.
	Defer(ctx context.Context, job Job, run func(context.Context, Job)) error
}

// Job is a verified command whose answer goes to its response_url.
type Job struct {
	Text        string `json:"text"`
	SlackUserID string `json:"slackUserId"`
	ResponseURL string `json:"responseUrl"`
}

// Config holds what the handler is built from.
type Config struct {
	Service  *onboarding.Service
	Verifier Verifier
	// API is Slack's Web API, with the bot token. Without it, create and
	// edit answer with the direct-argument form instead of a modal, and
	// Slack users resolve only through the Slack id stored on a user.
	API API
	// Responder posts to response_urls; nil posts over HTTP.
	Responder Responder
	// Deferrer runs slow commands after the acknowledgement; nil runs
	// them before answering.
	Deferrer Deferrer
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler serves Slack's slash-command and interactivity requests.
type Handler struct {
	svc       *onboarding.Service
	verifier  Verifier
	api       API
	responder Responder
	deferrer  Deferrer
	emails    *emailCache
	log       *slog.Logger
	now       func() time.Time
}

// New returns the Slack handler.
func New(cfg Config) *Handler {
	h := &Handler{
		svc: cfg.Service, verifier: cfg.Verifier, api: cfg.API, responder: cfg.Responder,
		deferrer: cfg.Deferrer, log: cfg.Log, now: cfg.Now,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.responder == nil {
		h.responder = HTTPResponder{Client: &http.Client{Timeout: 5 * time.Second}}
	}
	if h.api != nil {
		h.emails = newEmailCache(h.api, 15*time.Minute, h.now)
	}
	return h
}

// Handle serves one API Gateway HTTP API request to /slack/commands or
// /slack/interactions. The signature is checked on the raw body before
// anything is parsed, looked up or written.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.now()
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	log := h.log.With("requestId", ev.RequestContext.RequestID, "path", path)
	if path != PathCommands && path != PathInteractions {
		return plain(http.StatusNotFound, "not found"), nil
	}
	if m := ev.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		return plain(http.StatusMethodNotAllowed, "Slack requests are POSTs"), nil
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			log.WarnContext(ctx, "slack request refused", "reason", "body is not base64")
			return plain(http.StatusBadRequest, "the body is not valid base64"), nil
		}
	}
	if len(body) > maxBody {
		return plain(http.StatusRequestEntityTooLarge, "the request is too large"), nil
	}
	if err := h.verifier.Verify(func(name string) string { return header(ev.Headers, name) }, body); err != nil {
		log.WarnContext(ctx, "slack request refused", "reason", err.Error())
		return plain(http.StatusUnauthorized, "invalid Slack signature"), nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return plain(http.StatusBadRequest, "the body is not a form"), nil
	}
	var out events.APIGatewayV2HTTPResponse
	var attrs []any
	if path == PathCommands {
		out, attrs = h.command(ctx, form)
	} else {
		out, attrs = h.interaction(ctx, form)
	}
	log.InfoContext(ctx, "slack request", append(attrs, "status", out.StatusCode,
		"durationMs", float64(h.now().Sub(start).Microseconds())/1000)...)
	return out, nil
}

// Invoke makes the handler a lambda.Handler: the function receives API
// Gateway requests and, from itself, deferred jobs.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var probe struct {
		Job *Job `json:"opsosSlackJob"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, err
	}
	if probe.Job != nil {
		h.RunJob(ctx, *probe.Job)
		return []byte("{}"), nil
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	out, err := h.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// JobPayload is the invocation payload that carries job to Invoke.
func JobPayload(job Job) ([]byte, error) {
	return json.Marshal(map[string]Job{"opsosSlackJob": job})
}

func header(h map[string]string, name string) string {
	if v, ok := h[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func plain(status int, text string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: status,
		Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: text + "\n"}
}

func jsonResponse(v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		return plain(http.StatusInternalServerError, "could not encode the answer")
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK,
		Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}

// HTTPResponder posts to response_urls with an HTTP client.
type HTTPResponder struct{ Client *http.Client }

// Respond implements Responder.
func (r HTTPResponder) Respond(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	if responseURL == "" {
		return errors.New("no response_url to answer on")
	}
	return slack.PostWebhookCustomHTTPContext(ctx, responseURL, r.Client, msg)
}

// Goroutines is the local Deferrer: the process lives on after answering,
// so a goroutine can finish the job within Timeout.
type Goroutines struct{ Timeout time.Duration }

// Defer implements Deferrer.
func (g Goroutines) Defer(ctx context.Context, job Job, run func(context.Context, Job)) error {
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		run(ctx, job)
	}()
	return nil
}
