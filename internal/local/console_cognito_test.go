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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
	tokenCalls           int
	// refuse, when set, is the error the managed login sends the manager
	// back with (and refuseText its error_description) instead of a code.
	refuse, refuseText string
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
	code, refuse, refuseText := f.code, f.refuse, f.refuseText
	f.mu.Unlock()
	if refuse != "" {
		http.Redirect(w, r, f.redirect+"?"+url.Values{"error": {refuse}, "error_description": {refuseText}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
		return
	}
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
	f.tokenCalls++
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

// TestConsoleCognitoCallbackTrustsOnlyItsOwnSignIn: the console's
// address is its sign-in callback, so anyone can send a manager a link
// to it with a code or an error of their choosing. The console reads
// only the answer to the sign-in its own tab started (the state it
// saved), never shows the link's error_description, and clears the
// query from the address whatever it held.
func TestConsoleCognitoCallbackTrustsOnlyItsOwnSignIn(t *testing.T) {
	exe := chromium(t)
	s, _, _ := startLogged(t, config(t, t.TempDir()))
	defer stop(t, s)
	login := newFakeManagedLogin(t, "console-client", token)
	inAWS := consoleAsInAWS(t, "http://"+s.Addr(), login)

	ctx := browser(t, exe, 30*time.Second)
	p := browserPage{t: t, ctx: ctx}

	const attacker = "Your account is locked: call +1 555 0100 at once"
	landed := func(what string) string {
		t.Helper()
		p.do(what, chromedp.WaitVisible(chromedp.CSS(`#signin-button`)))
		if where := get(p, "read the address", chromedp.Location()); where != inAWS+"/console#/users" {
			t.Errorf("%s: the address is %s; want the query gone", what, where)
		}
		m := p.text("main")
		if strings.Contains(m, attacker) || strings.Contains(m, "555") {
			t.Errorf("%s: the page shows the link's text: %q", what, m)
		}
		return m
	}

	// Forged links, with no sign-in started in this tab and then with one.
	forged := []url.Values{
		{"error": {"access_denied"}, "error_description": {attacker}, "state": {"forged"}},
		{"error": {"access_denied"}, "error_description": {attacker}},
		{"code": {"forged-code"}, "state": {"forged"}},
	}
	for _, q := range forged {
		p.do("open a forged link", chromedp.Navigate(inAWS+"/console?"+q.Encode()))
		if m := landed("a forged link " + q.Encode()); !strings.Contains(m, "not started from this page") {
			t.Errorf("a forged link %s: the page says %q", q.Encode(), m)
		}
	}
	p.do("start a sign-in, then follow a forged link", chromedp.Navigate(inAWS+"/console"), chromedp.WaitVisible(chromedp.CSS(`#signin-button`)),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('opsos.console.pkce', JSON.stringify({verifier: 'v', state: 'mine', back: '#/roles'}))`),
		chromedp.Navigate(inAWS+"/console?"+url.Values{"code": {"forged-code"}, "state": {"theirs"}}.Encode()))
	landed("a forged code while a sign-in is under way")

	// The managed login itself refuses: a fixed message for its error
	// code, never its description.
	login.mu.Lock()
	login.refuse, login.refuseText = "access_denied", attacker
	login.mu.Unlock()
	p.do("sign in, refused", chromedp.Navigate(inAWS+"/console"), chromedp.WaitVisible(chromedp.CSS(`#signin-button`)),
		chromedp.Click(chromedp.CSS(`#signin-button`)), chromedp.WaitVisible(chromedp.Search(`//main//p[contains(., "cancelled or refused")]`)))
	landed("a refused sign-in")

	login.mu.Lock()
	defer login.mu.Unlock()
	if login.tokenCalls != 0 || login.exchanged {
		t.Errorf("the console asked the managed login for tokens %d times on forged or refused answers", login.tokenCalls)
	}
}
