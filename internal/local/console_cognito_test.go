package local_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/opsos/onboarding/internal/console"
)

// fakeManagedLogin stands in for Cognito managed login's three endpoints
// the console uses, holding them to what Cognito requires of a public
// client: the authorization code flow with an S256 PKCE challenge, the
// registered redirect URI, and the verifier that matches the challenge.
// Its ID token is idToken (a token the local server accepts).
type fakeManagedLogin struct {
	t        *testing.T
	srv      *httptest.Server
	clientID string
	redirect string // the console's address, registered on the client
	idToken  string

	mu                   sync.Mutex
	challenge, code      string
	exchanged, loggedOut bool
}

func newFakeManagedLogin(t *testing.T, clientID, idToken string) *fakeManagedLogin {
	f := &fakeManagedLogin{t: t, clientID: clientID, idToken: idToken}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/authorize", f.authorize)
	mux.HandleFunc("POST /oauth2/token", f.token)
	mux.HandleFunc("OPTIONS /oauth2/token", f.token)
	mux.HandleFunc("GET /logout", f.logout)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeManagedLogin) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": f.clientID, "redirect_uri": f.redirect, "code_challenge_method": "S256"} {
		if q.Get(k) != want {
			f.t.Errorf("authorize: %s=%q, want %q", k, q.Get(k), want)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
	}
	if q.Get("state") == "" || len(q.Get("code_challenge")) != 43 {
		f.t.Errorf("authorize: state %q, code_challenge %q", q.Get("state"), q.Get("code_challenge"))
	}
	f.mu.Lock()
	f.challenge, f.code = q.Get("code_challenge"), rand.Text()
	code := f.code
	f.mu.Unlock()
	// The manager signs in on the managed login page; it sends them back.
	http.Redirect(w, r, f.redirect+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (f *fakeManagedLogin) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	if r.Method == http.MethodOptions {
		return
	}
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code", r.PostForm.Get("client_id") != f.clientID,
		r.PostForm.Get("redirect_uri") != f.redirect, r.PostForm.Get("code") != f.code || f.code == "":
		f.t.Errorf("token: %v", r.PostForm)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != f.challenge:
		f.t.Errorf("token: the verifier does not match the challenge")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
		return
	}
	f.code, f.exchanged = "", true // a code works once
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id_token": f.idToken, "access_token": "unused", "token_type": "Bearer", "expires_in": 3600})
}

func (f *fakeManagedLogin) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != f.clientID || q.Get("logout_uri") != f.redirect {
		f.t.Errorf("logout: %v", q)
	}
	f.mu.Lock()
	f.loggedOut = true
	f.mu.Unlock()
	http.Redirect(w, r, q.Get("logout_uri"), http.StatusFound)
}

// consoleAsInAWS serves the console configured for Cognito, as the API
// function does, in front of the local server's API.
func consoleAsInAWS(t *testing.T, apiBase string, login *fakeManagedLogin) string {
	api, err := url.Parse(apiBase)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(api) }}
	mux := http.NewServeMux()
	h := console.Handler(console.Config{SignIn: console.SignInCognito, CognitoDomain: login.srv.URL, ClientID: login.clientID})
	mux.Handle("/console", h)
	mux.Handle("/console/", h)
	mux.Handle("/", proxy)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	login.redirect = srv.URL + "/console"
	return srv.URL
}
