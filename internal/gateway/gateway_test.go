package gateway_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/gateway"
)

func TestRequestIsShapedLikeAPIGateway(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	h := gateway.New(func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = ev
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: map[string]string{"ETag": `"1"`},
			Body: base64.StdEncoding.EncodeToString([]byte("created")), IsBase64Encoded: true}, nil
	}, gateway.TokenAuthorizer("secret-token-000000", map[string]string{"email": "admin@localhost"}))

	req := httptest.NewRequest("POST", "/users/a%2Fb?status=introduction&q=x&q=y", strings.NewReader("\xff\xfe"))
	req.Header.Set("Authorization", "Bearer secret-token-000000")
	req.Header.Set("Idempotency-Key", "k1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	if rec.Code != 201 || rec.Header().Get("ETag") != `"1"` || rec.Body.String() != "created" {
		t.Errorf("response: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	if got.RawPath != "/users/a%2Fb" || got.RawQueryString != "status=introduction&q=x&q=y" || got.QueryStringParameters["q"] != "x,y" {
		t.Errorf("path and query: %q %q %v", got.RawPath, got.RawQueryString, got.QueryStringParameters)
	}
	if got.Headers["idempotency-key"] != "k1" || got.RequestContext.HTTP.Method != "POST" || got.RequestContext.RequestID == "" {
		t.Errorf("headers and context: %v %+v", got.Headers, got.RequestContext)
	}
	if got.RequestContext.Authorizer.JWT.Claims["email"] != "admin@localhost" {
		t.Errorf("claims: %+v", got.RequestContext.Authorizer)
	}
	if b, _ := base64.StdEncoding.DecodeString(got.Body); !got.IsBase64Encoded || string(b) != "\xff\xfe" {
		t.Errorf("binary body: %q base64=%v", got.Body, got.IsBase64Encoded)
	}
}

func TestTokenRequired(t *testing.T) {
	called := false
	h := gateway.New(func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		called = true
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}, gateway.TokenAuthorizer("secret-token-000000", map[string]string{}))
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic secret-token-000000", "Bearer secret-token-0000001"} {
		req := httptest.NewRequest("GET", "/users", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), "Bearer") {
			t.Errorf("Authorization %q: %d %s", auth, rec.Code, body)
		}
	}
	if called {
		t.Error("the handler ran for a refused request")
	}
}

// Form posts, Slack's among them, reach the handler base64-encoded as API
// Gateway delivers them, so local mode exercises the same decoding.
func TestFormBodiesArriveBase64(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	h := gateway.New(func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = ev
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}, nil)
	for body, contentType := range map[string]string{
		"text=create+first%3DAda&user_id=U1": "application/x-www-form-urlencoded",
		`{"firstName":"Ada"}`:                "application/json",
	} {
		req := httptest.NewRequest("POST", "/slack/commands", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		h.ServeHTTP(httptest.NewRecorder(), req)
		wantBase64 := strings.HasPrefix(contentType, "application/x-www-form-urlencoded")
		decoded := got.Body
		if got.IsBase64Encoded {
			b, _ := base64.StdEncoding.DecodeString(got.Body)
			decoded = string(b)
		}
		if got.IsBase64Encoded != wantBase64 || decoded != body {
			t.Errorf("%s body: base64=%v %q, want base64=%v %q", contentType, got.IsBase64Encoded, got.Body, wantBase64, body)
		}
	}
}
