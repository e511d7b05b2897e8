package local

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Local mode serves a mailbox that holds temporary passwords
// (/_local/mail) and a sign-in page, neither behind any authentication:
// they stand in for the recipients' inboxes and Cognito's managed login.
// So it listens only on the loopback interface unless told otherwise, and
// answers only requests addressed to it by a loopback name, which stops a
// web page on another origin from reading the mailbox by rebinding its own
// DNS name to 127.0.0.1 (the browser then sends that name as Host).

// remoteWarning is printed at start when OPSOS_ALLOW_REMOTE is on.
const remoteWarning = `
WARNING: OPSOS_ALLOW_REMOTE=yes: OpsOS local mode is serving %s to other machines.
         Its mailbox (%s, with every temporary password) and sign-in page have
         no authentication: anyone who can reach this address can sign in as any
         invited user. Use it only on a network you trust.

`

// lookupIP resolves a host name; a variable of Start's caller in tests.
type lookupIP func(ctx context.Context, host string) ([]net.IP, error)

func resolve(ctx context.Context, host string) ([]net.IP, error) {
	return net.DefaultResolver.LookupIP(ctx, "ip", host)
}

// checkLoopback refuses a listen address that is not loopback only: an
// unspecified host (":8080", 0.0.0.0, ::), another interface's address,
// or a name that resolves to anything but loopback addresses.
func checkLoopback(ctx context.Context, addr string, lookup lookupIP) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("OPSOS_ADDR=%q must be host:port, such as 127.0.0.1:8080", addr)
	}
	refuse := func(why string) error {
		return fmt.Errorf("OPSOS_ADDR=%s %s: local mode's mailbox (/_local/mail, with temporary passwords) and sign-in page have no authentication, "+
			"so it listens only on 127.0.0.1, [::1] or localhost; set OPSOS_ALLOW_REMOTE=yes to serve other machines anyway", addr, why)
	}
	if host == "" {
		return refuse("listens on every network interface")
	}
	if ip := net.ParseIP(host); ip != nil {
		switch {
		case ip.IsUnspecified():
			return refuse("listens on every network interface")
		case !ip.IsLoopback():
			return refuse("is not a loopback address")
		}
		return nil
	}
	ips, err := lookup(ctx, host)
	if err != nil || len(ips) == 0 {
		return refuse(fmt.Sprintf("names a host that does not resolve (%v), so it cannot be checked to be loopback", err))
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return refuse(fmt.Sprintf("resolves to %s, which is not a loopback address", ip))
		}
	}
	return nil
}

// hostGuard answers only requests whose Host names this server: the
// listen host or a loopback name (localhost, 127.0.0.1, [::1]) with the
// port it listens on; with remote access allowed, also any IP address
// (a rebinding page always sends its own name, never an address) and the
// configured public host, on any port (it may sit behind a forward).
// Anything else gets 421 Misdirected Request.
type hostGuard struct {
	port        string
	names       map[string]bool // lower-case host names and addresses, without port
	allowRemote bool
	publicHost  string
	next        http.Handler
}

func newHostGuard(listenHost, port string, allowRemote bool, publicHost string, next http.Handler) hostGuard {
	names := map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	if listenHost != "" {
		names[strings.ToLower(listenHost)] = true
	}
	return hostGuard{port: port, names: names, allowRemote: allowRemote, publicHost: strings.ToLower(publicHost), next: next}
}

func (g hostGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.allowed(r.Host) {
		g.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusMisdirectedRequest)
	io.WriteString(w, "421 Misdirected Request: this OpsOS local server answers only to localhost, 127.0.0.1 and [::1] on its own port "+
		"(its mailbox and sign-in page have no authentication, so requests addressed to other host names are refused).\n")
}

func (g hostGuard) allowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), "80"
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case g.names[host] && port == g.port:
		return true
	case !g.allowRemote:
		return false
	case g.publicHost != "" && host == g.publicHost:
		return true
	}
	return net.ParseIP(host) != nil
}
