package slackops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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

// Job is a verified command whose answer goes to its response_url. It
// leaves the process (an invocation of the function by itself), so it
// carries a MAC over its fields and an expiry, and the workspace it came
// from, which is checked again when it runs.
type Job struct {
	Text         string `json:"text"`
	SlackUserID  string `json:"slackUserId"`
	ResponseURL  string `json:"responseUrl"`
	TeamID       string `json:"teamId"`
	EnterpriseID string `json:"enterpriseId,omitempty"`
	// Expires is when the job may no longer run, in epoch seconds.
	Expires int64 `json:"expires"`
	// MAC is hex HMAC-SHA256 of the fields above, keyed from the signing
	// secret.
	MAC string `json:"mac"`
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
	// Workspace is the Slack workspace served; requests from any other
	// are refused. Empty refuses every request.
	Workspace Workspace
	// Replays remembers accepted requests so that each is accepted once;
	// nil remembers them in this process only.
	Replays Replays
	// LoopbackResponses lets answers go to loopback response_urls as well
	// as Slack's: for local mode's stand-in for Slack only.
	LoopbackResponses bool
	Log               *slog.Logger
	Now               func() time.Time
}

// Handler serves Slack's slash-command and interactivity requests.
type Handler struct {
	svc       *onboarding.Service
	verifier  Verifier
	api       API
	responder Responder
	deferrer  Deferrer
	workspace Workspace
	replays   Replays
	loopback  bool
	emails    *emailCache
	log       *slog.Logger
	now       func() time.Time
}

// New returns the Slack handler.
func New(cfg Config) *Handler {
	h := &Handler{
		svc: cfg.Service, verifier: cfg.Verifier, api: cfg.API, responder: cfg.Responder,
		deferrer: cfg.Deferrer, workspace: cfg.Workspace, replays: cfg.Replays, loopback: cfg.LoopbackResponses,
		log: cfg.Log, now: cfg.Now,
	}
	if h.replays == nil {
		h.replays = &memoryReplays{}
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
		h.emails = newEmailCache(h.api, h.workspace, 15*time.Minute, h.now)
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
	get := func(name string) string { return header(ev.Headers, name) }
	if err := h.verifier.Verify(get, body); err != nil {
		log.WarnContext(ctx, "slack request refused", "reason", err.Error())
		return plain(http.StatusUnauthorized, "invalid Slack signature"), nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return plain(http.StatusBadRequest, "the body is not a form"), nil
	}
	// Who the request is from and where it is to be answered are checked
	// before it is remembered, so another workspace's requests write
	// nothing at all.
	if out, attrs, refused := h.gate(ctx, path, form); refused {
		log.InfoContext(ctx, "slack request", append(attrs, "status", out.StatusCode)...)
		return out, nil
	}
	// A replay is answered as a bad signature: the signature is spent.
	ts, sig := strings.TrimSpace(get("X-Slack-Request-Timestamp")), strings.TrimSpace(get("X-Slack-Signature"))
	first, err := h.replays.FirstSeen(ctx, replayKey(ts, sig), h.now(), replayExpiry(ts))
	if err != nil {
		log.ErrorContext(ctx, "slack replay check", "error", err.Error())
		return plain(http.StatusServiceUnavailable, "could not check the request; please try again"), nil
	}
	if !first {
		log.WarnContext(ctx, "slack request refused", "reason", "the signed request was already accepted (replay)")
		return plain(http.StatusUnauthorized, "invalid Slack signature: this request was already received"), nil
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
		// RunJob checks the job's MAC, expiry and workspace.
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

// post sends msg to a response_url through the responder, only if the
// address is Slack's (checkResponseURL): every answer after the HTTP
// response goes through here.
func (h *Handler) post(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	if err := checkResponseURL(responseURL, h.loopback); err != nil {
		return fmt.Errorf("%w: %s", err, loggableURL(responseURL))
	}
	return h.responder.Respond(ctx, responseURL, msg)
}

// foreignResponseURL reports, and logs, a response_url a request names
// that is not Slack's; "" (none given) passes, as nothing can be posted
// to it.
func (h *Handler) foreignResponseURL(ctx context.Context, responseURL string) bool {
	if responseURL == "" || checkResponseURL(responseURL, h.loopback) == nil {
		return false
	}
	h.log.WarnContext(ctx, "slack request refused", "reason", errForeignResponseURL.Error(), "responseUrl", loggableURL(responseURL))
	return true
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
