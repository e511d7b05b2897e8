// Package console serves the manager console (DESIGN.md §12): the help
// page's "Settings → Users" as static pages embedded in the binary, which
// call the same HTTP API as every other client with the signed-in
// manager's token. It serves files and one small configuration document;
// it holds no state and decides nothing.
package console

import (
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Path is where the console is served; every asset is under it. The
// page itself answers at Path and at Path without its slash: API
// Gateway's HTTP API routes "/console" and "/console/{proxy+}", and a
// greedy variable matches nothing empty, so in AWS the console's address
// is "/console" (the pages refer to their files by absolute paths for
// that reason).
const Path = "/console/"

//go:embed assets
var assets embed.FS

// SignIn says how the console signs a manager in.
type SignIn string

const (
	// SignInLocal is local mode's sign-in: the local logins' endpoints
	// (/_local/auth/…) or the administrator's token.
	SignInLocal SignIn = "local"
	// SignInCognito is Cognito managed login, with the authorization code
	// flow and PKCE.
	SignInCognito SignIn = "cognito"
)

// Config is what the pages need to know about where they run; it is
// served as /console/config.json.
type Config struct {
	SignIn SignIn `json:"signIn"`
	// CognitoDomain is the managed login's base URL
	// (https://<prefix>.auth.<region>.amazoncognito.com); Cognito only.
	CognitoDomain string `json:"cognitoDomain,omitempty"`
	// ClientID is the app client the console signs in with; Cognito only.
	ClientID string `json:"clientId,omitempty"`
}

// ConfigFromEnv reads the console's settings in AWS: OPSOS_CONSOLE_COGNITO_DOMAIN
// and OPSOS_CONSOLE_CLIENT_ID, both set by the stack. Without them the
// console is not served (ok is false).
func ConfigFromEnv(getenv func(string) string) (c Config, ok bool) {
	c = Config{SignIn: SignInCognito, CognitoDomain: strings.TrimRight(getenv("OPSOS_CONSOLE_COGNITO_DOMAIN"), "/"), ClientID: getenv("OPSOS_CONSOLE_CLIENT_ID")}
	return c, c.CognitoDomain != "" && c.ClientID != ""
}

// Assets are the console's files, as served under Path.
func Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	return sub
}

// Handler serves the console under Path: the pages, their scripts and
// styles, and config.json.
func Handler(cfg Config) http.Handler {
	sub := Assets()
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // a struct of strings always encodes
	}
	csp := policy(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the console only answers GET", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), strings.TrimSuffix(Path, "/"))
		switch {
		case name == "/config.json":
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			w.Write(cfgJSON)
			return
		case name == "" || name == "/":
			name = "/index.html"
		}
		f, err := sub.Open(strings.TrimPrefix(name, "/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		rs, seekable := f.(io.ReadSeeker)
		if err != nil || st.IsDir() || !seekable {
			http.NotFound(w, r)
			return
		}
		// The pages change with each build and are small: always ask.
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, name, st.ModTime(), rs)
	})
}

// policy is the pages' Content-Security-Policy: scripts and styles only
// from the console's own files, calls only to the API (and, in AWS, to
// Cognito's token endpoint), and never inside another site's frame.
func policy(cfg Config) string {
	connect := "'self'"
	if cfg.SignIn == SignInCognito && cfg.CognitoDomain != "" {
		connect += " " + cfg.CognitoDomain
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}
