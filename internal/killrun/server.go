// Package killrun drives local mode (`opsos serve`) as a process of its
// own that can be killed with SIGKILL and started again on the same data
// directory, and measures how a bulk release recovers from such kills:
// DESIGN.md §10's goal that the pipeline finishes within the send time
// plus 15 s of a restart, every user's last email signs in, and at most
// the crash window sends a second email.
//
// The kill-restart test of internal/local and make bench share it; no
// production binary imports it.
package killrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Build compiles cmd/opsos into dir and returns the binary's path. A
// built binary, not go run, so that SIGKILL reaches the server itself
// and nothing is left behind it.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "opsos")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/opsos/onboarding/cmd/opsos").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build opsos: %w\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address with a port nobody listens on now.
// A killed server's successor takes the same address, so that the links
// in the emails of both runs lead to one sign-in page.
func FreeAddr() (string, error) {
	addrs, err := FreeAddrs(1)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// FreeAddrs returns n loopback addresses with ports nobody listens on
// now, all different: each is held until all are found, as one released
// port can be handed out again at once.
func FreeAddrs(n int) ([]string, error) {
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// Server is one `opsos serve` process.
type Server struct {
	cmd    *exec.Cmd
	logs   *buffer
	exited chan struct{}
	err    error // how the process ended, once exited is closed
}

// Settings are what every run of the server on one data directory gets.
type Settings struct {
	Bin      string
	DataDir  string
	Addr     string
	Token    string
	SendRate float64
	// LogLevel is OPSOS_LOG_LEVEL; info when empty.
	LogLevel string
}

func (s Settings) env() []string {
	level := s.LogLevel
	if level == "" {
		level = "info"
	}
	// Later entries win: the caller's environment cannot point the server
	// at DynamoDB, Slack or another data directory.
	return append(os.Environ(),
		"OPSOS_DATA_DIR="+s.DataDir, "OPSOS_ADDR="+s.Addr, "OPSOS_ADMIN_TOKEN="+s.Token,
		fmt.Sprintf("OPSOS_SEND_RATE=%g", s.SendRate), "OPSOS_LOG_LEVEL="+level,
		"OPSOS_DYNAMODB_ENDPOINT=", "OPSOS_SLACK_BOT_TOKEN=", "OPSOS_SLACK_CHANNEL=", "OPSOS_ALLOW_REMOTE=", "OPSOS_PUBLIC_HOST=")
}

// Start starts the server and returns once /healthz answers 200, or with
// an error carrying its output if it exits or does not come up in time.
func Start(ctx context.Context, s Settings) (*Server, error) {
	cmd := exec.Command(s.Bin, "serve")
	cmd.Env = s.env()
	srv := &Server{cmd: cmd, logs: &buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = srv.logs, srv.logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		srv.err = cmd.Wait()
		close(srv.exited)
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := client.Get("http://" + s.Addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return srv, nil
			}
		}
		select {
		case <-srv.exited:
			return nil, fmt.Errorf("opsos serve exited (%v):\n%s", srv.err, srv.Logs())
		case <-ctx.Done():
			srv.Kill()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			srv.Kill()
			return nil, fmt.Errorf("opsos serve did not answer /healthz within 30 s:\n%s", srv.Logs())
		}
	}
}

// Kill ends the process with SIGKILL, which it cannot catch: nothing is
// finished or flushed, as when a machine loses power mid-release (short of
// the disk's cache). It returns once the process is gone.
func (s *Server) Kill() error {
	err := s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	if errors.Is(err, os.ErrProcessDone) {
		err = nil
	}
	return err
}

// Stop asks the server to shut down gracefully (SIGTERM) and waits. A
// server already killed is left as it is.
func (s *Server) Stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.exited:
		return s.err
	case <-time.After(20 * time.Second):
		return s.Kill()
	}
}

// Logs is everything the process printed, its JSON logs included.
func (s *Server) Logs() string { return s.logs.String() }

// buffer is the process's output, written by exec's copier while the
// caller reads it.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
