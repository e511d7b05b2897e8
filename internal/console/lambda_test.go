package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/console"
)

func event(method, path string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: map[string]string{"accept": "text/html"}}
	ev.RequestContext.HTTP.Method = method
	return ev
}

// In AWS one function serves the API and the console: the console's
// paths get its pages, every other path the API.
func TestRoutedServesTheConsoleBesideTheAPI(t *testing.T) {
	apiCalls := 0
	api := func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		apiCalls++
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: `{"items":[]}`}, nil
	}
	h := console.Routed(console.Handler(console.Config{SignIn: console.SignInCognito, CognitoDomain: "https://x.auth.eu-west-2.amazoncognito.com", ClientID: "c"}), api)
	ctx := context.Background()

	page, _ := h(ctx, event("GET", "/console/"))
	if page.StatusCode != 200 || !strings.Contains(page.Body, `<script type="module" src="/console/js/app.js">`) || page.IsBase64Encoded {
		t.Errorf("GET /console/: %d %.80q", page.StatusCode, page.Body)
	}
	if csp := page.Headers["Content-Security-Policy"]; !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("GET /console/ has the policy %q", csp)
	}
	cfg, _ := h(ctx, event("GET", "/console/config.json"))
	if !strings.Contains(cfg.Body, `"clientId":"c"`) {
		t.Errorf("config.json: %s", cfg.Body)
	}
	bare, _ := h(ctx, event("GET", "/console"))
	if bare.StatusCode != 200 || bare.Body != page.Body {
		t.Errorf("GET /console: %d %.80q, want the page", bare.StatusCode, bare.Body)
	}
	if apiCalls != 0 {
		t.Fatalf("the console's paths reached the API %d times", apiCalls)
	}
	for _, p := range []string{"/users", "/consoles", "/roles/console"} {
		if r, _ := h(ctx, event("GET", p)); r.Body != `{"items":[]}` {
			t.Errorf("GET %s did not reach the API: %d %q", p, r.StatusCode, r.Body)
		}
	}
}
