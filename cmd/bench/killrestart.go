package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsos/onboarding/internal/killrun"
)

// killRestartTitle names the section, also when -only rewrites it alone.
const killRestartTitle = "Recovery from SIGKILL during a bulk release"

// measureKillRestart runs the bulk release of DESIGN.md §10's goal, once
// killed once and once killed twice, each on a data directory of its own,
// and times each last restart until every user is invited.
func measureKillRestart(ctx context.Context, dir string, users int, sendRate float64) (section, error) {
	sec := section{title: killRestartTitle,
		head: []string{"kills", "users", "left at the last kill", "send time", "restart → all invited", "sent/s after restart", "goal", "", "second emails", "last emails sign in"},
		note: fmt.Sprintf("`opsos serve` (local mode, embedded store) in its own process, sending a bulk release of %d users in Introduction Mode at `OPSOS_SEND_RATE=%g`; killed with SIGKILL when half of them have an email (one kill), or a third and two thirds (two kills), and started again on the same data directory each time. Timed from the last restart (process start) until every user is invited; the send time is the users without an email at that kill at the send rate, and the users left over the recovery time is the pace the restarted worker kept (below the send rate when provisioning each login takes longer than the rate allows). Then every user's last email must sign in (`NEW_PASSWORD_REQUIRED`), and the crash window may cost one second email per kill. The same run as `go test -run TestKillDuringBulkRelease ./internal/local/`, with more users.", users, sendRate)}
	bin, err := killrun.Build(ctx, filepath.Join(dir, "kill-restart"))
	if err != nil {
		return sec, err
	}
	for kills := 1; kills <= 2; kills++ {
		data, err := os.MkdirTemp(dir, "kill-restart-data")
		if err != nil {
			return sec, err
		}
		res, err := killrun.Run(ctx, killrun.Scenario{Bin: bin, DataDir: data, Users: users, SendRate: sendRate, Kills: kills,
			Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "  kill-restart: "+format+"\n", args...) }})
		if err != nil {
			return sec, fmt.Errorf("kill-restart with %d kill(s): %w", kills, err)
		}
		signIn := fmt.Sprintf("%d of %d", users-problemsOf(res, "does not sign in", "no email"), users)
		if len(res.Problems) > 0 {
			signIn += " ✗ " + strings.Join(res.Problems[:min(len(res.Problems), 3)], "; ")
		}
		sec.rows = append(sec.rows, []string{fmt.Sprint(kills), fmt.Sprint(users), fmt.Sprint(res.Remaining), seconds(res.SendTime),
			seconds(res.Recovery), fmt.Sprintf("%.1f", float64(res.Remaining)/res.Recovery.Seconds()), "≤ " + seconds(res.Goal()), mark(res.Recovery <= res.Goal()),
			fmt.Sprintf("%d (≤ %d)", res.Extra, kills), signIn})
	}
	return sec, nil
}

// problemsOf counts the problems that mention any of words.
func problemsOf(res killrun.Result, words ...string) int {
	n := 0
	for _, p := range res.Problems {
		for _, w := range words {
			if strings.Contains(p, w) {
				n++
				break
			}
		}
	}
	return n
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// replaceSection puts s into the report doc in place of its section of the
// same title, or before the DynamoDB requests (the last section) if it has
// none, noting when it was measured: the rest of doc is from an earlier run.
func replaceSection(doc string, s section, when time.Time, how string) string {
	s.note += fmt.Sprintf(" (Measured alone on %s with %s.)", when.UTC().Format("2 January 2006 15:04 UTC"), how)
	md := s.markdown()
	head := "\n## " + s.title + "\n"
	if i := strings.Index(doc, head); i >= 0 {
		end := len(doc)
		if j := strings.Index(doc[i+len(head):], "\n## "); j >= 0 {
			end = i + len(head) + j
		} else if j := strings.Index(doc[i+len(head):], "\nThe run took"); j >= 0 {
			end = i + len(head) + j
		}
		return doc[:i] + md + doc[end:]
	}
	for _, before := range []string{"\n## DynamoDB requests per use case\n", "\nThe run took"} {
		if i := strings.Index(doc, before); i >= 0 {
			return doc[:i] + md + doc[i:]
		}
	}
	return doc + md
}
