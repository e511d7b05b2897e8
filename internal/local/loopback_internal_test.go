package local

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

func TestCheckLoopbackResolvesNames(t *testing.T) {
	lookup := func(_ context.Context, host string) ([]net.IP, error) {
		switch host {
		case "localhost":
			return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, nil
		case "devbox":
			return []net.IP{net.ParseIP("127.0.1.1"), net.ParseIP("192.168.1.20")}, nil
		}
		return nil, errors.New("no such host")
	}
	for addr, says := range map[string]string{
		"localhost:8080": "",
		"127.0.0.2:8080": "",
		"[::1]:8080":     "",
		"devbox:8080":    "resolves to 192.168.1.20",
		"nowhere:8080":   "does not resolve",
		"0.0.0.0:8080":   "every network interface",
		"10.1.2.3:8080":  "not a loopback address",
		"localhost":      "host:port",
	} {
		err := checkLoopback(context.Background(), addr, lookup)
		if says == "" && err != nil || says != "" && (err == nil || !strings.Contains(err.Error(), says)) {
			t.Errorf("%s: %v, want %q", addr, err, says)
		}
	}
}
