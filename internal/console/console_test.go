package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/console"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w.Result()
}

func TestServesThePagesUnderAStrictPolicy(t *testing.T) {
	h := console.Handler(console.Config{SignIn: console.SignInLocal})
	cases := []struct {
		path, wantType string
		want           int
	}{
		{"/console/", "text/html; charset=utf-8", 200},
		{"/console/index.html", "text/html; charset=utf-8", 200},
		{"/console/js/app.js", "text/javascript; charset=utf-8", 200},
		{"/console/console.css", "text/css; charset=utf-8", 200},
		{"/console/config.json", "application/json", 200},
		{"/console/nothing.js", "", 404},
		{"/console/js/", "", 404},
		{"/console/../internal/console.go", "", 404},
	}
	for _, c := range cases {
		r := get(t, h, "GET", c.path)
		if r.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, r.StatusCode, c.want)
		}
		if c.wantType != "" && r.Header.Get("Content-Type") != c.wantType {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, r.Header.Get("Content-Type"), c.wantType)
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "script-src 'self';", "frame-ancestors 'none'", "connect-src 'self';"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s: the policy %q lacks %q", c.path, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: the policy allows inline code: %q", c.path, csp)
		}
	}
	// In AWS the console's address has no slash; its files are named
	// by absolute paths, so the page works from both.
	for _, p := range []string{"/console", "/console/"} {
		r := get(t, h, "GET", p)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || !strings.Contains(string(body), `src="/console/js/app.js"`) || !strings.Contains(string(body), `href="/console/console.css"`) {
			t.Errorf("GET %s: %d %.200s", p, r.StatusCode, body)
		}
	}
	if r := get(t, h, "POST", "/console/"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /console/: %d", r.StatusCode)
	}
}

func TestConfigTellsThePagesHowToSignIn(t *testing.T) {
	env := map[string]string{"OPSOS_CONSOLE_COGNITO_DOMAIN": "https://opsos-1.auth.eu-west-2.amazoncognito.com/", "OPSOS_CONSOLE_CLIENT_ID": "abc123"}
	cfg, ok := console.ConfigFromEnv(func(k string) string { return env[k] })
	if !ok {
		t.Fatal("the stack's settings are not read")
	}
	r := get(t, console.Handler(cfg), "GET", "/console/config.json")
	body, _ := io.ReadAll(r.Body)
	if want := `{"signIn":"cognito","cognitoDomain":"https://opsos-1.auth.eu-west-2.amazoncognito.com","clientId":"abc123"}`; string(body) != want {
		t.Errorf("config.json is %s, want %s", body, want)
	}
	// The token exchange goes to Cognito's domain, and nowhere else.
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://opsos-1.auth.eu-west-2.amazoncognito.com;") {
		t.Errorf("the policy %q does not let the pages reach Cognito's token endpoint", csp)
	}
	if _, ok := console.ConfigFromEnv(func(string) string { return "" }); ok {
		t.Error("without the stack's settings the console is configured")
	}
}

// The policy refuses inline code, so the pages must carry none: an inline
// script or style would be dead in the browser.
func TestPagesCarryNoInlineCode(t *testing.T) {
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|<style|\son[a-z]+=|\sstyle=|javascript:`)
	err := fs.WalkDir(console.Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(console.Assets(), path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".html") && inline.Match(b) {
			t.Errorf("%s has inline code: %q", path, inline.Find(b))
		}
		if strings.HasSuffix(path, ".js") {
			for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "srcdoc", "eval(", "new Function", "Function("} {
				if strings.Contains(string(b), sink) {
					t.Errorf("%s builds markup from strings or evaluates code: it uses %s", path, sink)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
