package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// APIHandler is a Lambda handler of API Gateway HTTP API events.
type APIHandler func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Routed answers the console's paths (GET /console and /console/…, which
// the stack routes without the authorizer) from console, and sends every
// other request to api. So one function serves the API and its console.
func Routed(console http.Handler, api APIHandler) APIHandler {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		path := ev.RawPath
		if path == "" {
			path = ev.RequestContext.HTTP.Path
		}
		if path != strings.TrimSuffix(Path, "/") && !strings.HasPrefix(path, Path) {
			return api(ctx, ev)
		}
		u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
		r, err := http.NewRequestWithContext(ctx, ev.RequestContext.HTTP.Method, u.String(), http.NoBody)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest}, nil
		}
		for k, v := range ev.Headers {
			r.Header.Set(k, v)
		}
		w := &recorder{header: http.Header{}, status: http.StatusOK}
		console.ServeHTTP(w, r)
		out := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: map[string]string{}}
		for k, v := range w.header {
			out.Headers[k] = strings.Join(v, ", ")
		}
		// Text as text; anything else (an image) base64, as API Gateway wants.
		if ct := w.header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json") {
			out.Body = w.body.String()
		} else {
			out.Body, out.IsBase64Encoded = base64.StdEncoding.EncodeToString(w.body.Bytes()), true
		}
		return out, nil
	}
}

// recorder keeps one response of the console's handler.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
