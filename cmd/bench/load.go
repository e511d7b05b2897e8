package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
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
	bin, err := killrun.Build(ctx, dir)
	if err != nil {
		return nil, err
	}
	addr, err := killrun.FreeAddr()
	if err != nil {
		return nil, err
	}
	const token = "bench-token-0123456789abcdef"
	srv, err := killrun.Start(ctx, killrun.Settings{Bin: bin, DataDir: filepath.Join(dir, "data"), Addr: addr, Token: token, LogLevel: "error"})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	call := func(method, path, body string, want int) (time.Duration, bool) {
		req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader([]byte(body)))
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
	create := func(i int) (time.Duration, bool) {
		return call(http.MethodPost, "/users", fmt.Sprintf(`{"firstName":"Load","lastName":"User%d","email":"load%d@bench.example","role":"staff"}`, i, i), http.StatusCreated)
	}
	list := func(int) (time.Duration, bool) { return call(http.MethodGet, "/users?limit=50", "", http.StatusOK) }
	return []loadResult{openLoop("POST /users (create)", rate, dur, create), openLoop("GET /users (a page of 50)", rate, dur, list)}, nil
}

// openLoop sends rate requests a second for dur with do, each on its own
// schedule, so a slow answer delays nobody and shows in the latency.
func openLoop(name string, rate int, dur time.Duration, do func(i int) (time.Duration, bool)) loadResult {
	n := rate * int(dur/time.Second)
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var wg sync.WaitGroup
	tick := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * tick)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i], ok[i] = do(i)
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
	return loadResult{name: name, rate: rate, sent: n, failed: failed,
		p50: lat[n/2], p99: lat[n*99/100], max: lat[n-1], achieved: float64(n-failed) / took.Seconds()}
}
