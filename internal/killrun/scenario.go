package killrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Margin is what DESIGN.md §10 allows beyond the send time: killed at any
// moment during a bulk release, the pipeline finishes within the send
// time plus Margin of the restart.
const Margin = 15 * time.Second

// Token is the administrator's bearer token of the servers Run starts.
const Token = "kill-restart-token-0123456789"

// Scenario is a bulk release whose server is killed and restarted.
type Scenario struct {
	Bin      string  // the opsos binary (Build)
	DataDir  string  // an empty directory, the server's OPSOS_DATA_DIR
	Users    int     // users created in Introduction Mode and released at once
	SendRate float64 // OPSOS_SEND_RATE, emails per second (> 0)
	// Kills is how many times the server is killed (SIGKILL) during the
	// release; kill k of K comes once k/(K+1) of the users have an email,
	// and each is followed by a restart on the same data directory.
	Kills int
	// Logf reports progress; nil reports nothing.
	Logf func(format string, args ...any)
}

// Kill is what one SIGKILL left and how its successor took over.
type Kill struct {
	Emails  int // emails in the mailbox when the process died
	Emailed int // users who had one
	// TookOver is how many claims in progress the next start took over
	// (read from its log once it has delivered).
	TookOver int
	// Start is the restart's process start until /healthz answered.
	Start time.Duration
	// Resumed is the restart until the next email.
	Resumed time.Duration
}

// Result is what Run measured and found.
type Result struct {
	Users    int
	SendRate float64
	Kills    []Kill
	// Remaining is how many users had no email yet when the server was
	// last killed: the emails left to send after the last restart.
	Remaining int
	// SendTime is Remaining at the send rate: the least the rest of the
	// release can take.
	SendTime time.Duration
	// Recovery is the last restart (the process start) until every user
	// was invited.
	Recovery time.Duration
	// Emails is how many emails the mailbox holds in the end; Extra is
	// how many of them are second ones (DESIGN.md §10 allows the crash
	// window one per kill).
	Emails, Extra int
	// Problems are the broken promises: someone not invited or still
	// releasing, a last email whose password does not sign in, more
	// extra emails than kills.
	Problems []string
}

// Goal is the longest the recovery may take: the send time plus Margin.
func (r Result) Goal() time.Duration { return r.SendTime + Margin }

// Run creates the users, bulk-releases them, kills and restarts the
// server as the scenario says, waits until everyone is invited, and
// checks every user's last email. It stops the last server before it
// returns. An error means the run could not be carried out; broken
// promises are in Result.Problems.
func Run(ctx context.Context, sc Scenario) (res Result, err error) {
	if sc.Users <= 0 || sc.SendRate <= 0 || sc.Kills < 0 {
		return res, fmt.Errorf("killrun: need users > 0, a send rate > 0 and kills >= 0")
	}
	logf := sc.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	res.Users, res.SendRate = sc.Users, sc.SendRate
	addr, err := FreeAddr()
	if err != nil {
		return res, err
	}
	set := Settings{Bin: sc.Bin, DataDir: sc.DataDir, Addr: addr, Token: Token, SendRate: sc.SendRate}
	srv, err := Start(ctx, set)
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := srv.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop the last server: %w", serr)
		}
	}()
	c := NewClient(addr, Token)
	emails, err := c.CreateUsers(ctx, sc.Users)
	if err != nil {
		return res, err
	}
	released, err := c.BulkRelease(ctx)
	if err != nil {
		return res, err
	}
	if released != sc.Users {
		return res, fmt.Errorf("the bulk release released %d users, not %d", released, sc.Users)
	}
	logf("released %d users at %g emails/s", released, sc.SendRate)
	// Waits allow far more than the goal: a run that misses it is
	// measured, not cut short.
	sendAll := time.Duration(float64(sc.Users) / sc.SendRate * float64(time.Second))
	patience := 2*sendAll + 2*time.Minute + 30*time.Second

	mailDir := filepath.Join(sc.DataDir, "mail")
	var restarted time.Time
	emailedAtKill := 0
	for k := 1; k <= sc.Kills; k++ {
		target := k * sc.Users / (sc.Kills + 1)
		var resumed time.Duration
		err := poll(ctx, patience, 5*time.Millisecond, fmt.Sprintf("%d emails before kill %d", target, k), func() (bool, error) {
			n, err := countMail(mailDir)
			if k > 1 && resumed == 0 && n > res.Kills[k-2].Emails {
				resumed = time.Since(restarted)
			}
			return n >= target, err
		})
		if err != nil {
			return res, err
		}
		if err := srv.Kill(); err != nil {
			return res, fmt.Errorf("kill %d: %w", k, err)
		}
		if k > 1 {
			res.Kills[k-2].Resumed = resumed
			res.Kills[k-2].TookOver = tookOver(srv.Logs())
		}
		total, to, err := readMailDir(mailDir)
		if err != nil {
			return res, err
		}
		emailedAtKill = len(to)
		logf("kill %d (SIGKILL): %d emails to %d of %d users", k, total, len(to), sc.Users)
		restarted = time.Now()
		next, err := Start(ctx, set)
		if err != nil {
			return res, fmt.Errorf("restart after kill %d: %w", k, err)
		}
		srv = next
		res.Kills = append(res.Kills, Kill{Emails: total, Emailed: len(to), Start: time.Since(restarted)})
	}
	if sc.Kills == 0 {
		restarted = time.Now() // the recovery is then the whole release
	}
	res.Remaining = sc.Users - emailedAtKill
	res.SendTime = time.Duration(float64(res.Remaining) / sc.SendRate * float64(time.Second))

	var resumed time.Duration
	invited := 0 // or not releasing any more, while some are
	err = poll(ctx, res.Goal()+patience, 50*time.Millisecond, "every user invited", func() (bool, error) {
		if sc.Kills > 0 && resumed == 0 {
			n, err := countMail(mailDir)
			if err != nil {
				return false, err
			}
			if n > res.Kills[sc.Kills-1].Emails {
				resumed = time.Since(restarted)
			}
		}
		// The users still releasing are the fewer to list: the server's
		// time goes to the release, not to this poll.
		switch releasing, err := c.CountStatus(ctx, "releasing"); {
		case err != nil:
			return false, err
		case releasing > 0:
			invited = sc.Users - releasing
			return false, nil
		}
		var err error
		invited, err = c.CountStatus(ctx, "invited")
		return invited == sc.Users, err
	})
	res.Recovery = time.Since(restarted)
	if sc.Kills > 0 {
		// The start logs its take-over before its pump's first delivery.
		res.Kills[sc.Kills-1].Resumed = resumed
		res.Kills[sc.Kills-1].TookOver = tookOver(srv.Logs())
	}
	if err != nil {
		return res, fmt.Errorf("%w (%d of %d invited after %s)", err, invited, sc.Users, res.Recovery.Round(time.Millisecond))
	}
	logf("all %d invited %s after the last restart (send time %s, goal %s)", sc.Users,
		res.Recovery.Round(time.Millisecond), res.SendTime.Round(time.Millisecond), res.Goal().Round(time.Millisecond))
	return res, check(ctx, c, emails, &res)
}

// check looks at the outcome: nobody releasing, each user's last email
// signing in, the extra emails within one per kill.
func check(ctx context.Context, c Client, emails []string, res *Result) error {
	releasing, err := c.CountStatus(ctx, "releasing")
	if err != nil {
		return err
	}
	if releasing > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d users still releasing", releasing))
	}
	box, err := c.Mailbox(ctx)
	if err != nil {
		return err
	}
	res.Emails, res.Extra = len(box), len(box)-res.Users
	if res.Extra > len(res.Kills) {
		res.Problems = append(res.Problems, fmt.Sprintf("%d emails for %d users: %d second emails, more than the %d kill(s) allow", len(box), res.Users, res.Extra, len(res.Kills)))
	}
	last := map[string]string{} // the password of each user's last email
	for _, m := range box {
		if len(m.To) == 1 {
			last[m.To[0]] = TemporaryPassword(m.Text)
		}
	}
	// bcrypt makes each sign-in take a while: a few at a time.
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		gate = make(chan struct{}, 4)
	)
	for _, email := range emails {
		pw, ok := last[email]
		if !ok || pw == "" {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: no email with a temporary password", email))
			continue
		}
		wg.Add(1)
		gate <- struct{}{}
		go func() {
			defer func() { <-gate; wg.Done() }()
			ch, err := c.SignIn(ctx, email, pw)
			if err == nil && ch == "NEW_PASSWORD_REQUIRED" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			res.Problems = append(res.Problems, fmt.Sprintf("%s: the last email's temporary password does not sign in: challenge %q, %v", email, ch, err))
		}()
	}
	wg.Wait()
	return nil
}

// poll calls cond every interval until it holds, fails, or patience runs
// out.
func poll(ctx context.Context, patience, interval time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(patience)
	for {
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s within %s", what, patience)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// countMail counts the messages in the mailbox folder (DESIGN.md §7: one
// file each; a message being written is a dot file until it is whole).
func countMail(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if isMessage(e.Name()) {
			n++
		}
	}
	return n, nil
}

func isMessage(name string) bool {
	return strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, ".")
}

// readMailDir reads the mailbox folder of a server that is not running:
// how many messages, and the recipients.
func readMailDir(dir string) (int, map[string]bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, nil, err
	}
	n, to := 0, map[string]bool{}
	for _, e := range ents {
		if !isMessage(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return 0, nil, err
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			return 0, nil, fmt.Errorf("mailbox %s: %w", e.Name(), err)
		}
		n++
		for _, r := range m.To {
			to[r] = true
		}
	}
	return n, to, nil
}

var tookOverLine = regexp.MustCompile(`"msg":"took over the release claims of a previous run","claims":(\d+)`)

// tookOver is how many claims a start said it took over.
func tookOver(logs string) int {
	if m := tookOverLine.FindStringSubmatch(logs); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}
