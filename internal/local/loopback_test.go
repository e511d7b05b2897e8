package local_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/local"
)

// Local mode refuses to listen beyond loopback unless told to, naming
// both settings and why.
func TestLocalModeStaysOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0", "192.0.2.10:0", "[2001:db8::1]:0"} {
		cfg := config(t, t.TempDir(), "OPSOS_ADDR", addr)
		s, err := local.Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard)
		if err == nil {
			stop(t, s)
			t.Errorf("OPSOS_ADDR=%s: started, want refused", addr)
			continue
		}
		for _, says := range []string{"OPSOS_ADDR=" + addr, "OPSOS_ALLOW_REMOTE=yes", "/_local/mail", "no authentication"} {
			if !strings.Contains(err.Error(), says) {
				t.Errorf("OPSOS_ADDR=%s: %q does not say %q", addr, err, says)
			}
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		s, _ := start(t, config(t, t.TempDir(), "OPSOS_ADDR", addr))
		stop(t, s)
	}
	if _, err := local.ConfigFromEnv(func(k string) string {
		return map[string]string{"OPSOS_ALLOW_REMOTE": "maybe"}[k]
	}); err == nil || !strings.Contains(err.Error(), "OPSOS_ALLOW_REMOTE") {
		t.Errorf("OPSOS_ALLOW_REMOTE=maybe: %v, want it named", err)
	}
	if _, err := local.ConfigFromEnv(func(k string) string {
		return map[string]string{"OPSOS_PUBLIC_HOST": "opsos.lan"}[k]
	}); err == nil || !strings.Contains(err.Error(), "OPSOS_ALLOW_REMOTE=yes") {
		t.Errorf("OPSOS_PUBLIC_HOST without remote: %v, want OPSOS_ALLOW_REMOTE named", err)
	}
}

// (It listens on loopback all the same: the test need not open a port to
// the network to check what remote mode prints and accepts.)
func TestAllowRemoteIsLoud(t *testing.T) {
	s, out := start(t, config(t, t.TempDir(), "OPSOS_ADDR", "127.0.0.1:0", "OPSOS_ALLOW_REMOTE", "yes", "OPSOS_PUBLIC_HOST", "opsos.lan"))
	defer stop(t, s)
	if !strings.Contains(out.String(), "WARNING: OPSOS_ALLOW_REMOTE=yes") || !strings.Contains(out.String(), "no authentication") {
		t.Errorf("start output does not warn:\n%s", out)
	}
	_, port, _ := net.SplitHostPort(s.Addr())
	for host, want := range map[string]int{
		"127.0.0.1:" + port: 200, "opsos.lan:" + port: 200, "opsos.lan": 200, "192.0.2.7:" + port: 200,
		"evil.example:" + port: http.StatusMisdirectedRequest,
	} {
		if got := hostStatus(t, "127.0.0.1:"+port, host, "/healthz"); got != want {
			t.Errorf("Host %s: %d, want %d", host, got, want)
		}
	}
}

// A page whose name was rebound to 127.0.0.1 sends its own name as Host:
// refused, so it cannot read the mailbox or reach the sign-in API.
func TestHostHeaderStopsDNSRebinding(t *testing.T) {
	s, _ := start(t, config(t, t.TempDir()))
	defer stop(t, s)
	_, port, _ := net.SplitHostPort(s.Addr())
	for _, path := range []string{"/_local/mail", "/_local/mail.json", "/_local/mail/x.html", "/_local/login", "/healthz", "/users"} {
		for host, want := range map[string]int{
			"127.0.0.1:" + port: 0, "localhost:" + port: 0, "LOCALHOST:" + port: 0, "[::1]:" + port: 0,
			"attacker.example:" + port:   http.StatusMisdirectedRequest,
			"attacker.example":           http.StatusMisdirectedRequest,
			"127.0.0.1":                  http.StatusMisdirectedRequest, // another port
			"localhost:1":                http.StatusMisdirectedRequest,
			"192.168.1.20:" + port:       http.StatusMisdirectedRequest,
			"localhost.attacker.example": http.StatusMisdirectedRequest,
		} {
			got := hostStatus(t, s.Addr(), host, path)
			if want == 0 && got == http.StatusMisdirectedRequest || want != 0 && got != want {
				t.Errorf("GET %s with Host %s: %d, want %v", path, host, got, map[bool]any{true: "served", false: want}[want == 0])
			}
		}
	}
}

func hostStatus(t *testing.T, addr, host, path string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
