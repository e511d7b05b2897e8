package local_test

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkReleases100 measures 100 releases end to end in local mode:
// the API writes, the feed (or DynamoDB Local's stream) carries them to
// the worker, which creates each login and emails it; it ends when all
// 100 users are invited. Reported as seconds per 100.
func BenchmarkReleases100(b *testing.B) {
	for name, env := range stores(b) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s, _, _ := startLogged(b, config(b, b.TempDir(), env...))
				ids := make([]string, 100)
				for i := range ids {
					r := call(b, s, "POST", "/users", token, fmt.Sprintf(`{"firstName":"B","lastName":"U%d","email":"bench%d@example.com","role":"staff"}`, i, i))
					ids[i] = r.body["id"].(string)
				}
				b.StartTimer()
				start := time.Now()
				for _, id := range ids {
					if r := call(b, s, "POST", "/users/"+id+"/release", token, ""); r.status != 202 {
						b.Fatal(r.status)
					}
				}
				for deadline := time.Now().Add(5 * time.Minute); ; {
					p := call(b, s, "GET", "/users?status=invited&limit=200", token, "")
					if len(p.body["items"].([]any)) == len(ids) {
						break
					}
					if time.Now().After(deadline) {
						b.Fatal("releases did not finish")
					}
					time.Sleep(10 * time.Millisecond)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/100-releases")
				b.StopTimer()
				stop(b, s)
				b.StartTimer()
			}
		})
	}
}
