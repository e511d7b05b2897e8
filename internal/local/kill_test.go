package local_test

import (
	"context"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/killrun"
)

// TestKillDuringBulkRelease is DESIGN.md §10's goal on the real binary:
// `opsos serve` is killed with SIGKILL twice while a bulk release is
// sending, started again on the same data directory each time, and
// finishes within the send time left plus 15 s of the last restart;
// everyone is invited, each user's last email signs in, and the kills
// cost at most one second email each. make bench measures the same with
// more users (cmd/bench).
func TestKillDuringBulkRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds opsos and sends a paced bulk release")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := killrun.Build(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := killrun.Run(ctx, killrun.Scenario{
		Bin: bin, DataDir: t.TempDir(), Users: 48, SendRate: 10, Kills: 2, Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range res.Kills {
		t.Logf("kill %d: %d emails to %d users; restart took over %d claim(s), answered in %s, sent again after %s",
			i+1, k.Emails, k.Emailed, k.TookOver, k.Start.Round(time.Millisecond), k.Resumed.Round(time.Millisecond))
	}
	t.Logf("recovery %s from the last restart: %d users left at %g/s is a send time of %s; goal ≤ %s; %d emails, %d second ones",
		res.Recovery.Round(time.Millisecond), res.Remaining, res.SendRate, res.SendTime.Round(time.Millisecond),
		res.Goal().Round(time.Millisecond), res.Emails, res.Extra)
	for _, p := range res.Problems {
		t.Error(p)
	}
	if res.Recovery > res.Goal() {
		t.Errorf("recovery took %s, over the goal of the send time plus %s: %s", res.Recovery.Round(time.Millisecond), killrun.Margin, res.Goal())
	}
}
