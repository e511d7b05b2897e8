package slackops_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/slackops"
)

// BenchmarkSlashCommandAck measures the slash-command handler from a
// signed request to its answer, in process on the embedded store:
// verification, parsing, resolving the manager and the use case. Slack
// allows 3 s for the acknowledgement. It reports p50 and p99.
func BenchmarkSlashCommandAck(b *testing.B) {
	for _, c := range []struct {
		name string
		text func(i int) string
		want string
	}{
		{"show", func(int) string { return "show ada@example.com" }, "Ada Lovelace"},
		{"create", func(i int) string {
			return fmt.Sprintf("create first=Bench last=User%d email=<mailto:bench%d@example.com|bench%d@example.com> role=staff type=internal", i, i, i)
		}, "User created"},
		{"list", func(int) string { return "list introduction" }, "Ada Lovelace"},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b)
			f.command(adminSlack, "create first=Ada last=Lovelace email=ada@example.com role=supervisor")
			want := c.want
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				body := f.commandForm(adminSlack, c.text(i))
				ev := event(slackops.PathCommands, sign(secret, f.now, body), body)
				start := time.Now()
				resp, err := f.h.Handle(context.Background(), ev)
				lat = append(lat, time.Since(start))
				if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, want) {
					b.Fatalf("%d %v %s", resp.StatusCode, err, resp.Body)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
