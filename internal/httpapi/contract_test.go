package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/opsos/onboarding/internal/httpapi"
)

// The contract: the OpenAPI document the handler serves, loaded once. Every
// request a handler test makes goes through fixture.handle, which holds the
// request and the answer to it.
var contract = sync.OnceValues(func() (*contractDoc, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contractDoc{doc: doc, router: router}, nil
})

type contractDoc struct {
	doc    *openapi3.T
	router routers.Router
}

func mustContract(t testing.TB) *contractDoc {
	t.Helper()
	c, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handle answers ev and fails the test when the request or the answer
// breaks the OpenAPI document. Benchmarks measure the handler alone.
func (f *fixture) handle(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	f.t.Helper()
	resp, err := f.h.Handle(context.Background(), ev)
	if err != nil {
		f.t.Fatalf("handler error: %v", err)
	}
	if _, bench := f.t.(*testing.B); !bench {
		if err := mustContract(f.t).check(ev, resp); err != nil {
			f.t.Errorf("%s %s?%s breaks the OpenAPI document: %v\nanswer: %d %v %s", ev.RequestContext.HTTP.Method, ev.RawPath,
				ev.RawQueryString, err, resp.StatusCode, resp.Headers, resp.Body)
		}
	}
	return resp
}

// httpRequest is the request ev stands for, as a client sent it. Its URL
// is the path alone, as the document's one server is "/".
func httpRequest(ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(ev.Body); err == nil {
			body = b
		}
	}
	req, err := http.NewRequest(ev.RequestContext.HTTP.Method, path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.URL.RawQuery = ev.RawQueryString
	if ev.RawQueryString == "" && len(ev.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
		req.URL.RawQuery = q.Encode()
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	return req, nil
}

// bearerOnly is the document's one security scheme as API Gateway's JWT
// authorizer applies it: a request without a bearer token never reaches
// the handler.
func bearerOnly(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// checkRequest holds a request to the document: the route it takes, and
// why the document refuses it (nil when it accepts it).
func (c *contractDoc) checkRequest(ev events.APIGatewayV2HTTPRequest) (*openapi3filter.RequestValidationInput, error, error) {
	req, err := httpRequest(ev)
	if err != nil {
		return nil, nil, err
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s %s", err, req.Method, req.URL.Path)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerOnly, MultiError: true}}
	return in, openapi3filter.ValidateRequest(context.Background(), in), nil
}

// check holds a request and the handler's answer to the document:
//   - a route the document does not have must be answered 404 or 405;
//   - a request the document refuses must be refused (4xx): the document
//     is not stricter than the handler;
//   - every answer must be one the document declares for the operation:
//     its status, its headers, its content type, and a body its schema
//     accepts, undeclared members refused.
func (c *contractDoc) check(ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) error {
	in, refused, err := c.checkRequest(ev)
	if err != nil {
		var re *routers.RouteError
		if !errors.As(err, &re) {
			return err
		}
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			return fmt.Errorf("the document has no such route (%v), yet the handler answered %d", err, resp.StatusCode)
		}
		if resp.StatusCode == http.StatusMethodNotAllowed && resp.Headers["Allow"] == "" {
			return errors.New("405 without Allow")
		}
		return c.checkProblem(resp)
	}
	if refused != nil {
		if resp.StatusCode < 400 || resp.StatusCode > 499 {
			return fmt.Errorf("the document refuses the request (%v), yet the handler answered %d", refused, resp.StatusCode)
		}
		return c.checkProblem(resp)
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: header,
		Body: io.NopCloser(strings.NewReader(resp.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// checkProblem holds an answer outside any operation of the document to
// its problem document schema.
func (c *contractDoc) checkProblem(resp events.APIGatewayV2HTTPResponse) error {
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		return fmt.Errorf("status %d with Content-Type %q, not a problem document", resp.StatusCode, ct)
	}
	var v any
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		return err
	}
	if m, _ := v.(map[string]any); m["status"] != float64(resp.StatusCode) {
		return fmt.Errorf("status %d, the problem document says %v", resp.StatusCode, m["status"])
	}
	return c.doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors())
}

// TestContractCatchesDrift proves the check above fails when the handler
// and the document part: an answer with a member, a status, a type or a
// header the document does not declare, and a request the document
// refuses that the handler accepts.
func TestContractCatchesDrift(t *testing.T) {
	f := newFixture(t)
	c := mustContract(t)
	ev := f.request(http.MethodPost, "/users", `{"firstName":"Ann","lastName":"Lee","email":"ann.lee@example.com","role":"staff"}`)
	good := f.handle(ev)
	if good.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", good.StatusCode, good.Body)
	}
	if err := c.check(ev, good); err != nil {
		t.Fatalf("the handler's own answer breaks the document: %v", err)
	}
	var user map[string]any
	if err := json.Unmarshal([]byte(good.Body), &user); err != nil {
		t.Fatal(err)
	}
	withBody := func(change func(map[string]any)) events.APIGatewayV2HTTPResponse {
		u := map[string]any{}
		for k, v := range user {
			u[k] = v
		}
		change(u)
		b, _ := json.Marshal(u)
		r := good
		r.Body = string(b)
		return r
	}
	withHeader := func(k, v string) events.APIGatewayV2HTTPResponse {
		r := good
		r.Headers = map[string]string{}
		for hk, hv := range good.Headers {
			r.Headers[hk] = hv
		}
		if v == "" {
			delete(r.Headers, k)
		} else {
			r.Headers[k] = v
		}
		return r
	}
	teapot := good
	teapot.StatusCode = http.StatusTeapot
	for name, resp := range map[string]events.APIGatewayV2HTTPResponse{
		"an undeclared member":           withBody(func(u map[string]any) { u["temporaryPassword"] = "Secret-123" }),
		"a missing member":               withBody(func(u map[string]any) { delete(u, "status") }),
		"a number where a string is due": withBody(func(u map[string]any) { u["phone"] = 447911123456 }),
		"a status outside the enum":      withBody(func(u map[string]any) { u["status"] = "pending" }),
		"an undeclared status":           teapot,
		"another content type":           withHeader("Content-Type", "text/plain"),
		"no ETag":                        withHeader("ETag", ""),
		"a cacheable answer":             withHeader("Cache-Control", "max-age=60"),
	} {
		if err := c.check(ev, resp); err == nil {
			t.Errorf("an answer with %s passes the contract", name)
		}
	}

	// A request the document refuses, answered as if accepted.
	list := f.handle(f.request(http.MethodGet, "/users", ""))
	if err := c.check(f.request(http.MethodGet, "/users?limit=0", ""), list); err == nil {
		t.Error("a refused limit answered 200 passes the contract")
	}
	if err := c.check(f.request(http.MethodGet, "/users?colour=blue", ""), list); err != nil {
		t.Errorf("an unknown query parameter is not the document's business: %v", err)
	}
	// A route the document does not have, answered as if it existed.
	if err := c.check(f.request(http.MethodGet, "/groups", ""), list); err == nil {
		t.Error("an undocumented route answered 200 passes the contract")
	}
}

// TestEveryDocumentedRouteIsServed sends each operation of the document
// to the handler: none may be answered as a route the handler lacks.
func TestEveryDocumentedRouteIsServed(t *testing.T) {
	f := newFixture(t)
	c := mustContract(t)
	n := 0
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			n++
			p := strings.ReplaceAll(path, "{id}", "no-such-id")
			resp := f.handle(f.request(method, p, ""))
			var pr struct{ Detail string }
			json.Unmarshal([]byte(resp.Body), &pr)
			if resp.StatusCode == http.StatusMethodNotAllowed || strings.HasPrefix(pr.Detail, "there is no such route") {
				t.Errorf("%s %s is in the document, the handler answers %d %s", method, p, resp.StatusCode, resp.Body)
			}
		}
	}
	if n < 17 {
		t.Errorf("the document has %d operations, want every route of the handler", n)
	}
}

// TestSampleEventsFollowTheContract: the events `make invoke` sends are
// requests the document accepts.
func TestSampleEventsFollowTheContract(t *testing.T) {
	c := mustContract(t)
	names, err := filepath.Glob(filepath.Join("..", "..", "events", "api", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, name := range names {
		_, refused, err := c.checkRequest(sample(t, filepath.Base(name)))
		if err != nil || refused != nil {
			t.Errorf("%s: %v %v", filepath.Base(name), err, refused)
		}
	}
}

// TestOpenAPIServedWithoutToken: the document is public, served as it is
// embedded, and the same to everyone.
func TestOpenAPIServedWithoutToken(t *testing.T) {
	f := newFixture(t)
	ev := f.request(http.MethodGet, httpapi.OpenAPIPath, "")
	ev.RequestContext.Authorizer = nil
	delete(ev.Headers, "authorization")
	resp := f.handle(ev)
	if resp.StatusCode != http.StatusOK || resp.Headers["Content-Type"] != "application/openapi+json" {
		t.Fatalf("GET %s: %d %v", httpapi.OpenAPIPath, resp.StatusCode, resp.Headers)
	}
	var served, embedded any
	if err := json.Unmarshal([]byte(resp.Body), &served); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &embedded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(served, embedded) {
		t.Error("the served document is not the embedded one")
	}
	if v, _ := served.(map[string]any)["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi %q, want 3.1", v)
	}
	if r := f.handle(f.request(http.MethodPost, httpapi.OpenAPIPath, "")); r.StatusCode != http.StatusMethodNotAllowed || r.Headers["Allow"] != "GET" {
		t.Errorf("POST %s: %d %v", httpapi.OpenAPIPath, r.StatusCode, r.Headers)
	}
	// Public is only the document: the users still need a manager.
	ev.RawPath, ev.RequestContext.HTTP.Path = "/users", "/users"
	if r := f.handle(ev); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /users without a token: %d %s", r.StatusCode, r.Body)
	}
}
