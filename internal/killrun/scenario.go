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
	r := &run{sc: sc, logf: sc.Logf, mailDir: filepath.Join(sc.DataDir, "mail")}
	if r.logf == nil {
		r.logf = func(string, ...any) {}
	}
	r.res.Users, r.res.SendRate = sc.Users, sc.SendRate
	defer func() {
		if r.srv == nil {
			return
		}
		if serr := r.srv.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop the last server: %w", serr)
		}
	}()
	emails, err := r.release(ctx)
	if err != nil {
		return r.res, err
	}
	for k := 1; k <= sc.Kills; k++ {
		if err := r.kill(ctx, k); err != nil {
			return r.res, err
		}
	}
	if sc.Kills == 0 {
		r.restarted = time.Now() // the recovery is then the whole release
	}
	if err := r.waitAllInvited(ctx); err != nil {
		return r.res, err
	}
	return r.res, check(ctx, r.c, emails, &r.res)
}

// run is one scenario under way.
type run struct {
	sc      Scenario
	logf    func(string, ...any)
	set     Settings
	srv     *Server
	c       Client
	mailDir string
	res     Result
	// patience bounds every wait, far beyond the goal: a run that misses
	// it is measured, not cut short.
	patience time.Duration
	// restarted is when the last server started; emailedAtKill, how many
	// users had an email when the last one was killed.
	restarted     time.Time
	emailedAtKill int
}

// release starts the server, creates the users and releases them in
// bulk, returning their emails.
func (r *run) release(ctx context.Context) ([]string, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	r.set = Settings{Bin: r.sc.Bin, DataDir: r.sc.DataDir, Addr: addr, Token: Token, SendRate: r.sc.SendRate}
	if r.srv, err = Start(ctx, r.set); err != nil {
		return nil, err
	}
	r.c = NewClient(addr, Token)
	emails, err := r.c.CreateUsers(ctx, r.sc.Users)
	if err != nil {
		return nil, err
	}
	released, err := r.c.BulkRelease(ctx)
	if err != nil {
		return nil, err
	}
	if released != r.sc.Users {
		return nil, fmt.Errorf("the bulk release released %d users, not %d", released, r.sc.Users)
	}
	r.logf("released %d users at %g emails/s", released, r.sc.SendRate)
	sendAll := time.Duration(float64(r.sc.Users) / r.sc.SendRate * float64(time.Second))
	r.patience = 2*sendAll + 2*time.Minute + 30*time.Second
	return emails, nil
}

// kill waits until the k-th share of the users has an email, kills the
// server with SIGKILL and starts another on the same data.
func (r *run) kill(ctx context.Context, k int) error {
	target := k * r.sc.Users / (r.sc.Kills + 1)
	var resumed time.Duration
	err := poll(ctx, r.patience, 5*time.Millisecond, fmt.Sprintf("%d emails before kill %d", target, k), func() (bool, error) {
		n, err := countMail(r.mailDir)
		if k > 1 && resumed == 0 && n > r.res.Kills[k-2].Emails {
			resumed = time.Since(r.restarted)
		}
		return n >= target, err
	})
	if err != nil {
		return err
	}
	if err := r.srv.Kill(); err != nil {
		return fmt.Errorf("kill %d: %w", k, err)
	}
	if k > 1 {
		r.res.Kills[k-2].Resumed = resumed
		r.res.Kills[k-2].TookOver = tookOver(r.srv.Logs())
	}
	total, to, err := readMailDir(r.mailDir)
	if err != nil {
		return err
	}
	r.emailedAtKill = len(to)
	r.logf("kill %d (SIGKILL): %d emails to %d of %d users", k, total, len(to), r.sc.Users)
	r.restarted = time.Now()
	next, err := Start(ctx, r.set)
	if err != nil {
		r.srv = nil // killed: nothing to stop
		return fmt.Errorf("restart after kill %d: %w", k, err)
	}
	r.srv = next
	r.res.Kills = append(r.res.Kills, Kill{Emails: total, Emailed: len(to), Start: time.Since(r.restarted)})
	return nil
}

// waitAllInvited measures the recovery: from the last start until every
// user is invited.
func (r *run) waitAllInvited(ctx context.Context) error {
	r.res.Remaining = r.sc.Users - r.emailedAtKill
	r.res.SendTime = time.Duration(float64(r.res.Remaining) / r.sc.SendRate * float64(time.Second))
	var resumed time.Duration
	invited := 0 // or not releasing any more, while some are
	err := poll(ctx, r.res.Goal()+r.patience, 50*time.Millisecond, "every user invited", func() (bool, error) {
		if r.sc.Kills > 0 && resumed == 0 {
			n, err := countMail(r.mailDir)
			if err != nil {
				return false, err
			}
			if n > r.res.Kills[r.sc.Kills-1].Emails {
				resumed = time.Since(r.restarted)
			}
		}
		// The users still releasing are the fewer to list: the server's
		// time goes to the release, not to this poll.
		switch releasing, err := r.c.CountStatus(ctx, "releasing"); {
		case err != nil:
			return false, err
		case releasing > 0:
			invited = r.sc.Users - releasing
			return false, nil
		}
		var err error
		invited, err = r.c.CountStatus(ctx, "invited")
		return invited == r.sc.Users, err
	})
	r.res.Recovery = time.Since(r.restarted)
	if r.sc.Kills > 0 {
		// The start logs its take-over before its pump's first delivery.
		r.res.Kills[r.sc.Kills-1].Resumed = resumed
		r.res.Kills[r.sc.Kills-1].TookOver = tookOver(r.srv.Logs())
	}
	if err != nil {
		return fmt.Errorf("%w (%d of %d invited after %s)", err, invited, r.sc.Users, r.res.Recovery.Round(time.Millisecond))
	}
	r.logf("all %d invited %s after the last restart (send time %s, goal %s)", r.sc.Users,
		r.res.Recovery.Round(time.Millisecond), r.res.SendTime.Round(time.Millisecond), r.res.Goal().Round(time.Millisecond))
	return nil
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
