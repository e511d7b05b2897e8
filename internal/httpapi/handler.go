// Package httpapi serves the OpsOS user API (DESIGN.md §4) as a handler of
// API Gateway HTTP API events: the same handler runs in Lambda and, behind
// a small net/http adapter, in local mode. It translates requests into
// onboarding use cases and their results into JSON; it decides nothing.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// Claims the handler reads from the JWT authorizer.
const (
	ClaimUserID = user.LoginAttrUserID
	ClaimEmail  = user.LoginAttrEmail
)

// maxBody bounds request bodies; a user is far smaller.
const maxBody = 64 << 10

// Handler serves the user API.
type Handler struct {
	svc *onboarding.Service
	log *slog.Logger
}

// New returns the API handler.
func New(svc *onboarding.Service, log *slog.Logger) *Handler {
	return &Handler{svc: svc, log: log}
}

// request is what a route needs of an event.
type request struct {
	events.APIGatewayV2HTTPRequest
	id     onboarding.Identity
	actor  onboarding.Actor
	userID string // {id} of /users/{id}/…
	roleID string // {id} of /roles/{id}/…
	body   []byte
	// public: the route needs no manager (the OpenAPI document).
	public bool
}

func (r *request) header(name string) string {
	// API Gateway lower-cases header names; be lenient with other callers.
	if v, ok := r.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (r *request) query() url.Values {
	q, err := url.ParseQuery(r.RawQueryString)
	if err != nil || len(q) == 0 {
		q = url.Values{}
		for k, v := range r.QueryStringParameters {
			q.Set(k, v)
		}
	}
	return q
}

type response struct {
	status  int
	body    any
	headers map[string]string
}

type route func(ctx context.Context, r *request) (response, error)

// Handle serves one API Gateway HTTP API request.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	r := &request{APIGatewayV2HTTPRequest: ev, id: identity(ev)}
	method := ev.RequestContext.HTTP.Method
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	var resp response
	var err error
	rt, allowed := h.match(method, path, r)
	switch {
	case rt != nil:
		// Every route but the public ones needs a manager; who is not one
		// learns nothing more.
		if !r.public {
			r.actor, err = h.svc.Authorize(ctx, r.id)
		}
		if err == nil {
			if err = r.readBody(); err == nil {
				resp, err = rt(ctx, r)
			}
		}
	case allowed != "":
		err = &httpError{status: http.StatusMethodNotAllowed, title: "Method not allowed",
			detail: fmt.Sprintf("%s does not accept %s; it accepts %s", path, method, allowed), allow: allowed}
	default:
		err = &httpError{status: http.StatusNotFound, title: "Not found", detail: "there is no such route: see the README for the API"}
	}
	out := h.encode(resp, err)
	attrs := []any{
		slog.String("requestId", ev.RequestContext.RequestID),
		slog.String("method", method), slog.String("path", path),
		slog.Int("status", out.StatusCode), slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
		slog.String("actorId", r.id.UserID), slog.String("actorEmail", r.id.Email),
	}
	if r.userID != "" {
		attrs = append(attrs, slog.String("userId", r.userID))
	}
	if r.roleID != "" {
		attrs = append(attrs, slog.String("roleId", r.roleID))
	}
	if out.StatusCode >= 500 {
		h.log.ErrorContext(ctx, "request failed", append(attrs, slog.String("error", err.Error()))...)
	} else {
		h.log.InfoContext(ctx, "request", attrs...)
	}
	return out, nil
}

func identity(ev events.APIGatewayV2HTTPRequest) onboarding.Identity {
	id := onboarding.Identity{Source: onboarding.SourceAPI}
	if a := ev.RequestContext.Authorizer; a != nil && a.JWT != nil {
		id.UserID = a.JWT.Claims[ClaimUserID]
		id.Email = a.JWT.Claims[ClaimEmail]
	}
	return id
}

func (r *request) readBody() error {
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			return &httpError{status: http.StatusBadRequest, title: "Invalid request", detail: "the body is not valid base64"}
		}
	}
	if len(body) > maxBody {
		return &httpError{status: http.StatusRequestEntityTooLarge, title: "Request too large",
			detail: fmt.Sprintf("the body must be at most %d bytes", maxBody)}
	}
	r.body = body
	return nil
}

// match finds the route for method and path. When the path exists but not
// for method, it returns the methods it allows.
func (h *Handler) match(method, path string, r *request) (route, string) {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	var byMethod map[string]route
	switch {
	case path == OpenAPIPath:
		byMethod, r.public = map[string]route{http.MethodGet: h.openAPI}, true
	case len(seg) == 1 && seg[0] == "users":
		byMethod = map[string]route{http.MethodGet: h.list, http.MethodPost: h.create}
	case len(seg) == 1 && seg[0] == "roles":
		byMethod = map[string]route{http.MethodGet: h.roles, http.MethodPost: h.createRole}
	case len(seg) == 2 && seg[0] == "roles" && seg[1] != "":
		byMethod = map[string]route{http.MethodGet: h.getRole, http.MethodPatch: h.editRole, http.MethodDelete: h.deleteRole}
	case len(seg) == 3 && seg[0] == "roles" && seg[1] != "" && seg[2] == "history":
		byMethod = map[string]route{http.MethodGet: h.roleHistory}
	case len(seg) == 2 && seg[0] == "users" && seg[1] == "release":
		// Ids are UUIDs: "release" is never one.
		byMethod = map[string]route{http.MethodPost: h.releaseMany}
		seg = seg[:1]
	case len(seg) == 2 && seg[0] == "users" && seg[1] != "":
		byMethod = map[string]route{http.MethodGet: h.get, http.MethodPatch: h.edit}
	case len(seg) == 3 && seg[0] == "users" && seg[1] != "":
		byMethod = map[string]map[string]route{
			"release":       {http.MethodPost: h.release},
			"hold":          {http.MethodPost: h.hold},
			"resend-invite": {http.MethodPost: h.resend},
			"status":        {http.MethodGet: h.status},
			"history":       {http.MethodGet: h.history},
		}[seg[2]]
	}
	if byMethod == nil {
		return nil, ""
	}
	if len(seg) >= 2 {
		id, err := url.PathUnescape(seg[1])
		if err != nil {
			return nil, ""
		}
		if seg[0] == "roles" {
			r.roleID = id
		} else {
			r.userID = id
		}
	}
	if rt, ok := byMethod[method]; ok {
		return rt, ""
	}
	allowed := slices.Sorted(maps.Keys(byMethod))
	return nil, strings.Join(allowed, ", ")
}

func (h *Handler) create(ctx context.Context, r *request) (response, error) {
	in, err := decodeUser(r.body)
	if err != nil {
		return response{}, err
	}
	key := strings.TrimSpace(r.header("Idempotency-Key"))
	if len(key) > 255 {
		return response{}, fieldError("Idempotency-Key", "must be at most 255 characters")
	}
	if dry, err := dryRun(r); err != nil {
		return response{}, err
	} else if dry {
		// Every check of a create, nothing written: the import's first pass.
		u, err := h.svc.CheckCreate(ctx, r.actor, in.Draft())
		if err != nil {
			return response{}, err
		}
		return userResponse(r, http.StatusOK, u, map[string]string{}), nil // no ETag: nothing was stored
	}
	u, replayed, err := h.svc.Create(ctx, r.actor, in.Draft(), key)
	if err != nil {
		return response{}, err
	}
	headers := map[string]string{"Location": "/users/" + url.PathEscape(u.ID), "ETag": etag(u.Version)}
	if replayed {
		headers["Idempotent-Replayed"] = "true"
	}
	return userResponse(r, http.StatusCreated, u, headers), nil
}

// dryRun reads the dryRun query parameter.
func dryRun(r *request) (bool, error) {
	v := r.query().Get("dryRun")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fieldError("dryRun", "must be true or false")
	}
	return b, nil
}

// bulkInput is the body of POST /users/release.
type bulkInput struct {
	Role          string      `json:"role"`
	Type          user.Type   `json:"type"`
	Q             string      `json:"q"`
	Status        user.Status `json:"status"`
	ExpectedCount *int        `json:"expectedCount"`
}

// releaseMany releases every user on hold matching the body's selection.
// With ?dryRun=true it says how many that is; otherwise the body must
// repeat that count as expectedCount, so nobody is emailed by surprise.
func (h *Handler) releaseMany(ctx context.Context, r *request) (response, error) {
	var in bulkInput
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if len(strings.TrimSpace(string(r.body))) > 0 {
		if err := invalidText(r.body); err != nil {
			return response{}, err
		}
		if err := dec.Decode(&in); err != nil {
			return response{}, &user.Error{Code: user.CodeInvalid, Message: "the request body must be a JSON object with role, type, q, status and expectedCount: " + err.Error()}
		}
	}
	sel := onboarding.BulkSelection{Role: in.Role, Type: in.Type, Q: in.Q, Status: in.Status}
	dry, err := dryRun(r)
	if err != nil {
		return response{}, err
	}
	if dry {
		p, err := h.svc.PreviewRelease(ctx, r.actor, sel, 20)
		if err != nil {
			return response{}, err
		}
		return response{status: http.StatusOK, body: viewBulkPreview(p, r.actor.Roles())}, nil
	}
	if in.ExpectedCount == nil {
		return response{}, fieldError("expectedCount", "is required: ask with ?dryRun=true how many users match, then send that count to confirm")
	}
	res, err := h.svc.ReleaseMany(ctx, r.actor, sel, *in.ExpectedCount)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: viewBulkResult(res, r.actor.Roles())}, nil
}

func (h *Handler) list(ctx context.Context, r *request) (response, error) {
	q := r.query()
	lq := onboarding.ListQuery{
		Status: user.Status(q.Get("status")), Role: q.Get("role"), Type: user.Type(q.Get("type")),
		Email: q.Get("email"), Q: q.Get("q"), Cursor: q.Get("cursor"),
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return response{}, fieldError("limit", fmt.Sprintf("must be a whole number between 1 and %d", onboarding.MaxLimit))
		}
		lq.Limit = n
	}
	p, err := h.svc.List(ctx, r.actor, lq)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: viewPage(p, r.actor.Roles())}, nil
}

func (h *Handler) get(ctx context.Context, r *request) (response, error) {
	u, err := h.svc.Get(ctx, r.actor, r.userID)
	if err != nil {
		return response{}, err
	}
	return userResponse(r, http.StatusOK, u, nil), nil
}

func (h *Handler) edit(ctx context.Context, r *request) (response, error) {
	version, err := ifMatch(r.header("If-Match"))
	if err != nil {
		return response{}, err
	}
	in, err := decodeUser(r.body)
	if err != nil {
		return response{}, err
	}
	u, err := h.svc.Edit(ctx, r.actor, r.userID, version, in)
	if err != nil {
		return response{}, err
	}
	return userResponse(r, http.StatusOK, u, nil), nil
}

type versionedChange func(ctx context.Context, actor onboarding.Actor, userID string, version int64) (user.User, error)

func (h *Handler) transition(ctx context.Context, r *request, status int, change versionedChange) (response, error) {
	version, err := ifMatch(r.header("If-Match"))
	if err != nil {
		return response{}, err
	}
	u, err := change(ctx, r.actor, r.userID, version)
	if err != nil {
		return response{}, err
	}
	return userResponse(r, status, u, nil), nil
}

func (h *Handler) release(ctx context.Context, r *request) (response, error) {
	// 202: the login and the email follow from the release worker.
	return h.transition(ctx, r, http.StatusAccepted, h.svc.Release)
}

func (h *Handler) hold(ctx context.Context, r *request) (response, error) {
	return h.transition(ctx, r, http.StatusOK, h.svc.Hold)
}

func (h *Handler) resend(ctx context.Context, r *request) (response, error) {
	return h.transition(ctx, r, http.StatusAccepted, h.svc.Resend)
}

func (h *Handler) status(ctx context.Context, r *request) (response, error) {
	u, d, err := h.svc.Status(ctx, r.actor, r.userID)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: statusView{
		ID: u.ID, Email: u.Email, Status: u.Status, HoldInvite: u.HoldInvite, CanLogIn: d.CanLogIn,
		Summary: d.Summary, NextStep: d.NextStep, InvitedAt: optTime(u.InvitedAt),
		PasswordExpiresAt: optTime(d.PasswordExpiresAt), ActivatedAt: optTime(u.ActivatedAt),
	}}, nil
}

// historyLimit reads a history page's limit parameter; empty is the
// service's default.
func historyLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fieldError("limit", fmt.Sprintf("must be a whole number between 1 and %d", onboarding.MaxLimit))
	}
	return n, nil
}

func (h *Handler) history(ctx context.Context, r *request) (response, error) {
	q := r.query()
	limit, err := historyLimit(q.Get("limit"))
	if err != nil {
		return response{}, err
	}
	p, err := h.svc.History(ctx, r.actor, r.userID, limit, q.Get("cursor"))
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusOK, body: viewHistory(p)}, nil
}

// userResponse answers with u as the request's roles make them (read
// once, when the actor was authorized), and its ETag besides headers.
func userResponse(r *request, status int, u user.User, headers map[string]string) response {
	if headers == nil {
		headers = map[string]string{"ETag": etag(u.Version)}
	}
	return response{status: status, body: viewUser(u, r.actor.Roles()), headers: headers}
}

func etag(version int64) string { return strconv.Quote(strconv.FormatInt(version, 10)) }

// ifMatch returns the version an If-Match header asks for: 0 when absent or
// "*". A value that names no version cannot match, as HTTP says.
func ifMatch(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	if uq, err := strconv.Unquote(v); err == nil {
		v = uq
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, user.ErrVersionConflict
	}
	return n, nil
}

func fieldError(field, msg string) error {
	return user.InvalidField(field, "%s", msg)
}

func (h *Handler) encode(resp response, err error) events.APIGatewayV2HTTPResponse {
	if err != nil {
		return problemResponse(err)
	}
	body, merr := json.Marshal(resp.body)
	if merr != nil {
		return problemResponse(fmt.Errorf("encode response: %w", merr))
	}
	headers := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
	for k, v := range resp.headers {
		headers[k] = v
	}
	if resp.status == http.StatusNoContent {
		delete(headers, "Content-Type")
		body = nil
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: resp.status, Headers: headers, Body: string(body)}
}

// httpError is an error that only the HTTP layer knows (routing, framing).
type httpError struct {
	status int
	title  string
	detail string
	allow  string
}

func (e *httpError) Error() string { return e.detail }

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail"`
	Errors []user.FieldError `json:"errors,omitempty"`
	// Rule names the authority rule that refused a 403 (DESIGN.md §9).
	Rule string `json:"rule,omitempty"`
}

// statusOf maps each application error code to its one HTTP status.
var statusOf = map[user.Code]struct {
	status int
	title  string
}{
	user.CodeInvalid:       {http.StatusBadRequest, "Invalid request"},
	user.CodeUnauthorized:  {http.StatusUnauthorized, "Unauthorized"},
	user.CodeForbidden:     {http.StatusForbidden, "Forbidden"},
	user.CodeNotFound:      {http.StatusNotFound, "Not found"},
	user.CodeConflict:      {http.StatusConflict, "Conflict"},
	user.CodeStale:         {http.StatusPreconditionFailed, "Precondition failed"},
	user.CodeUnprocessable: {http.StatusUnprocessableEntity, "Unprocessable request"},
	user.CodeInternal:      {http.StatusInternalServerError, "Internal error"},
}

func problemResponse(err error) events.APIGatewayV2HTTPResponse {
	p := problem{Type: "about:blank"}
	headers := map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"}
	var he *httpError
	if errors.As(err, &he) {
		p.Status, p.Title, p.Detail = he.status, he.title, he.detail
		if he.allow != "" {
			headers["Allow"] = he.allow
		}
	} else {
		m := statusOf[user.ErrorCode(err)]
		p.Status, p.Title, p.Detail, p.Errors = m.status, m.title, user.ErrorMessage(err), user.ErrorFields(err)
		p.Rule = user.ErrorRule(err)
	}
	if p.Status == http.StatusUnauthorized {
		headers["WWW-Authenticate"] = "Bearer"
	}
	body, _ := json.Marshal(p) // a problem always encodes
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: headers, Body: string(body)}
}
