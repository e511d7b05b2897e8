package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/opsos/onboarding/internal/killrun"
)

// loadResult is one phase of the HTTP load: latencies of the answers, and
// how many were not the expected status.
type loadResult struct {
	name          string
	rate          int
	sent, failed  int
	p50, p99, max time.Duration
	achieved      float64 // requests answered per second
}

// measureHTTP starts local mode (`opsos serve`, the embedded store) as
// its own process and loads it from this one over loopback: creates, then
// list pages, each at a fixed rate whatever the answers' pace.
func measureHTTP(ctx context.Context, dir string, rate int, dur time.Duration) ([]loadResult, error) {
	bin := filepath.Join(dir, "opsos")
	if b, err := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/opsos").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build opsos: %w\n%s", err, b)
	}
	addr, err := killrun.FreeAddr()
	if err != nil {
		return nil, err
	}
	const token = "bench-token-0123456789abcdef"
	srv := exec.CommandContext(ctx, bin, "serve")
	srv.Env = append(os.Environ(), "OPSOS_DATA_DIR="+filepath.Join(dir, "data"), "OPSOS_ADDR="+addr, "OPSOS_ADMIN_TOKEN="+token,
		"OPSOS_LOG_LEVEL=error", "OPSOS_DYNAMODB_ENDPOINT=")
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer func() {
		syscall.Kill(-srv.Process.Pid, syscall.SIGTERM)
		srv.Wait()
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("opsos serve did not come up:\n%s", logs.String())
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	call := func(method, path, body string, want int) (time.Duration, bool) {
		req, _ := http.NewRequest(method, base+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return time.Since(start), false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode == want
	}
	phases := []struct {
		name string
		do   func(i int) (time.Duration, bool)
	}{
		{"POST /users (create)", func(i int) (time.Duration, bool) {
			return call(http.MethodPost, "/users", fmt.Sprintf(`{"firstName":"Load","lastName":"User%d","email":"load%d@bench.example","role":"staff"}`, i, i), http.StatusCreated)
		}},
		{"GET /users (a page of 50)", func(i int) (time.Duration, bool) {
			return call(http.MethodGet, "/users?limit=50", "", http.StatusOK)
		}},
	}
	var out []loadResult
	for _, ph := range phases {
		n := rate * int(dur/time.Second)
		lat := make([]time.Duration, n)
		ok := make([]bool, n)
		var wg sync.WaitGroup
		tick := time.Second / time.Duration(rate)
		start := time.Now()
		for i := range n {
			// Open loop: each request leaves on its own schedule, so a slow
			// answer delays nobody and shows in the latency.
			time.Sleep(time.Until(start.Add(time.Duration(i) * tick)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				lat[i], ok[i] = ph.do(i)
			}()
		}
		wg.Wait()
		took := time.Since(start)
		failed := 0
		for _, v := range ok {
			if !v {
				failed++
			}
		}
		slices.Sort(lat)
		out = append(out, loadResult{name: ph.name, rate: rate, sent: n, failed: failed,
			p50: lat[n/2], p99: lat[n*99/100], max: lat[n-1], achieved: float64(n-failed) / took.Seconds()})
	}
	return out, nil
}
