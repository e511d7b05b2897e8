// Command bench is `make bench`: it measures what OpsOS promises about
// speed and size, on the emulators make bench starts, prints one table and
// writes it to docs/BENCHMARKS.md with the machine it ran on.
//
//	cold starts      each function's process start → first event handled,
//	                 under the Lambda Runtime Interface Emulator, against an
//	                 empty aws-lambda-go handler measured the same way
//	binary sizes     the linux/arm64 bootstraps make build ships
//	slash commands   acknowledgement p50/p99, in process
//	HTTP             create and list p50/p99 on the embedded store, at a
//	                 fixed rate, from another process over loopback
//	releases         N releases end to end on the emulators, unpaced and paced
//	kill-restart     a paced bulk release in local mode killed (SIGKILL) once,
//	                 then twice, mid-send: last restart → every user invited
//	DynamoDB         requests per use case
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "docs/BENCHMARKS.md", "where to write the report")
	runs := flag.Int("runs", 15, "cold starts per function")
	rate := flag.Int("rate", 200, "HTTP requests per second")
	dur := flag.Duration("duration", 10*time.Second, "length of each HTTP load phase")
	releases := flag.Int("releases", 1000, "releases end to end on the emulators")
	sendRate := flag.Float64("send-rate", 20, "the configured send rate of the paced release run, emails per second")
	killUsers := flag.Int("kill-users", 300, "users in the bulk release killed mid-send (kill-restart)")
	killRate := flag.Float64("kill-send-rate", 10, "OPSOS_SEND_RATE of the kill-restart runs, emails per second")
	only := flag.String("only", "", "measure only this figure and rewrite its section of -out, keeping the rest: kill-restart (needs no emulators)")
	flag.Parse()
	var err error
	switch *only {
	case "":
		err = run(*out, settings{runs: *runs, rate: *rate, dur: *dur, releases: *releases, sendRate: *sendRate, killUsers: *killUsers, killRate: *killRate})
	case "kill-restart":
		err = runKillRestart(*out, *killUsers, *killRate)
	default:
		err = fmt.Errorf("-only %q: the figure measured alone can be kill-restart", *only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// report is the table, section by section.
type report struct {
	sections []section
}

type section struct {
	title string
	note  string
	head  []string
	rows  [][]string
}

func (r *report) add(s section) {
	r.sections = append(r.sections, s)
	fmt.Print(s.markdown())
}

func (s section) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s\n\n", s.title)
	if s.note != "" {
		b.WriteString(s.note + "\n\n")
	}
	b.WriteString("| " + strings.Join(s.head, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(s.head)) + "\n")
	for _, r := range s.rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// settings are the command's flags that size the measurements.
type settings struct {
	runs      int           // cold starts per function
	rate      int           // HTTP requests per second
	dur       time.Duration // each HTTP load phase
	releases  int           // releases end to end
	sendRate  float64       // the paced release run's send rate
	killUsers int           // users in the bulk release killed mid-send
	killRate  float64       // the kill-restart runs' send rate
}

// bench is one make bench run: where it builds, and on what.
type bench struct {
	settings
	ctx context.Context
	dir string // binaries and data, removed at the end
	ddb string // DynamoDB Local's endpoint
}

// run measures every figure, printing each section as it is measured,
// and writes the whole report to out.
func run(out string, s settings) error {
	ddb := os.Getenv("OPSOS_TEST_DYNAMODB_ENDPOINT")
	if ddb == "" || os.Getenv("OPSOS_TEST_COGNITO_ENDPOINT") == "" || os.Getenv("OPSOS_TEST_SES_ENDPOINT") == "" {
		return fmt.Errorf("the emulators are not running: use make bench, which starts them")
	}
	dir, err := os.MkdirTemp("", "opsos-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{settings: s, ctx: context.Background(), dir: dir, ddb: ddb}
	started := time.Now()
	var rep report
	header := fmt.Sprintf("# OpsOS benchmarks\n\nMeasured by `make bench` on %s.\n\n%s\n", started.UTC().Format("2 January 2006 15:04 UTC"), machine())
	fmt.Print(header)
	for _, step := range []func() (section, error){
		b.binarySizes, b.coldStarts, b.slashCommands, b.httpLoad, b.releasesEndToEnd, b.killRestart, b.dynamoRequests,
	} {
		sec, err := step()
		if err != nil {
			return err
		}
		rep.add(sec)
	}
	footer := fmt.Sprintf("\nThe run took %s. Rerun with `make bench`; `go run ./cmd/bench -h` lists its settings.\n", time.Since(started).Round(time.Second))
	fmt.Print(footer)
	return rep.write(out, header, footer)
}

// write puts the report, between header and footer, into the file out.
func (r *report) write(out, header, footer string) error {
	var b strings.Builder
	b.WriteString(header)
	for _, s := range r.sections {
		b.WriteString(s.markdown())
	}
	b.WriteString(footer)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

// binarySizes builds the bootstraps as make build does and weighs them.
func (b *bench) binarySizes() (section, error) {
	sizes := section{title: "Lambda binary sizes", head: []string{"function", "linux/arm64 bootstrap", "goal", ""},
		note: "Built as `make build` builds them: CGO off, `-trimpath -ldflags \"-s -w\" -tags lambda.norpc`."}
	for _, fn := range []string{"api", "slack", "release", "postauth"} {
		bin := filepath.Join(b.dir, "arm64", fn, "bootstrap")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc", "-o", bin, "./functions/"+fn)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if o, err := cmd.CombinedOutput(); err != nil {
			return section{}, fmt.Errorf("build %s: %w\n%s", fn, err, o)
		}
		st, err := os.Stat(bin)
		if err != nil {
			return section{}, err
		}
		mb := float64(st.Size()) / (1 << 20)
		sizes.rows = append(sizes.rows, []string{fn, fmt.Sprintf("%.1f MB", mb), "≤ 12 MB", mark(mb <= 12)})
	}
	return sizes, nil
}

// coldStarts compares each function's cold start with an empty handler's.
func (b *bench) coldStarts() (section, error) {
	fx, err := newFixture(b.ctx, b.ddb)
	if err != nil {
		return section{}, fmt.Errorf("prepare the cold-start table: %w", err)
	}
	colds, err := measureColdStarts(b.ctx, b.dir, fx, b.runs)
	if err != nil {
		return section{}, err
	}
	cold := section{title: "Cold starts", head: []string{"function", "median", "slowest", "× empty handler", "goal", "", "first event reading DynamoDB Local"},
		note: fmt.Sprintf("Process start → first event answered, under the Lambda Runtime Interface Emulator (%s), %d cold starts each after one warm-up, built for this machine (%s) with `make build`'s flags. The first event needs no I/O (a request without claims, Slack's `help`, a change needing nothing, a sign-in of no OpsOS user), so the time is the function's start: reading its configuration and building its clients. The last column is the same cold start when the first event also reads DynamoDB Local (`GET /roles` as a manager, `show`, a manager's sign-in): the emulator's answer time is in it.",
			strings.TrimPrefix(rieVersion, "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/"), b.runs, runtime.GOARCH)}
	base := colds[0].median
	for i, c := range colds {
		// Rounded as shown, so that the mark agrees with the figure.
		ratio := math.Round(float64(c.median)/float64(base)*100) / 100
		goal, ok := "≤ 1.3×", ratio <= 1.3
		if i == 0 {
			goal, ok = "baseline", true
		}
		cold.rows = append(cold.rows, []string{c.fn.name, ms(c.median), ms(c.worst), fmt.Sprintf("%.2f×", ratio), goal, mark(ok), ms(c.withRead)})
	}
	return cold, nil
}

// slashCommands times Slack's acknowledgement, in process.
func (b *bench) slashCommands() (section, error) {
	lines, err := goBench("./internal/slackops/", "SlashCommandAck", "3000x")
	if err != nil {
		return section{}, err
	}
	slack := section{title: "Slash-command acknowledgement", head: []string{"command", "p50", "p99", "goal", ""},
		note: "A signed request to its answer, in process, on the embedded store (`go test -bench SlashCommandAck ./internal/slackops/`, 3,000 each). Slack allows 3 s."}
	for _, l := range lines {
		p99 := l.metrics["p99-ms"]
		slack.rows = append(slack.rows, []string{strings.TrimPrefix(l.name, "SlashCommandAck/"), fmt.Sprintf("%.3f ms", l.metrics["p50-ms"]),
			fmt.Sprintf("%.3f ms", p99), "p99 ≤ 25 ms", mark(p99 <= 25)})
	}
	return slack, nil
}

// httpLoad loads opsos serve at a fixed rate.
func (b *bench) httpLoad() (section, error) {
	loads, err := measureHTTP(b.ctx, b.dir, b.rate, b.dur)
	if err != nil {
		return section{}, err
	}
	httpSec := section{title: "HTTP API at a fixed rate", head: []string{"requests", "rate", "sent", "failed", "p50", "p99", "max", "answered/s"},
		note: fmt.Sprintf("`opsos serve` (local mode, embedded store) in its own process, loaded from this one over loopback, open loop at %d requests/s for %s per phase.", b.rate, b.dur)}
	for _, l := range loads {
		httpSec.rows = append(httpSec.rows, []string{l.name, fmt.Sprintf("%d/s", l.rate), fmt.Sprint(l.sent), fmt.Sprint(l.failed),
			ms(l.p50), ms(l.p99), ms(l.max), fmt.Sprintf("%.0f", l.achieved)})
	}
	return httpSec, nil
}

// releasesEndToEnd times the releases on the emulators, unpaced and then
// at the send rate.
func (b *bench) releasesEndToEnd() (section, error) {
	rel := section{title: "Releases end to end on the emulators", head: []string{"run", "releases", "total", "releases/s", "goal", ""},
		note: "Users created in Introduction Mode, then all released; timed until every one is invited: DynamoDB Local's stream → the release worker → cognito-local (login, group) → aws-ses-v2-local (email). Each run has emulators of its own: they slow down as earlier runs fill them."}
	for _, r := range []struct {
		name string
		rate float64
	}{{"unpaced", 0}, {fmt.Sprintf("send rate %g/s", b.sendRate), b.sendRate}} {
		lines, err := goBenchFresh("./internal/release/", "ReleasesOnEmulators", "1x",
			fmt.Sprintf("OPSOS_BENCH_RELEASES=%d", b.releases), fmt.Sprintf("OPSOS_BENCH_SEND_RATE=%g", r.rate))
		if err != nil {
			return section{}, err
		}
		total := lines[0].metrics["s-total"]
		goal, ok := "", true
		if r.rate == 0 {
			goal, ok = "≤ 60 s", total <= 60
		} else {
			goal = fmt.Sprintf("≥ %.0f s (the rate holds)", float64(b.releases)/r.rate)
			ok = total >= float64(b.releases-1)/r.rate
		}
		rel.rows = append(rel.rows, []string{r.name, fmt.Sprint(b.releases), fmt.Sprintf("%.1f s", total),
			fmt.Sprintf("%.1f", lines[0].metrics["releases/s"]), goal, mark(ok)})
	}
	return rel, nil
}

// killRestart measures recovery from kills in local mode.
func (b *bench) killRestart() (section, error) {
	return measureKillRestart(b.ctx, b.dir, b.killUsers, b.killRate)
}

// dynamoRequests counts DynamoDB requests per use case.
func (b *bench) dynamoRequests() (section, error) {
	lines, err := goBench("./internal/store/dynamo/", "RequestsPerUseCase", "5x")
	if err != nil {
		return section{}, err
	}
	reqs := section{title: "DynamoDB requests per use case", head: []string{"use case", "requests", "by operation"},
		note: "Counted on the DynamoDB client, against DynamoDB Local (`go test -bench RequestsPerUseCase ./internal/store/dynamo/`). Every request starts with Authorize (its own row: the manager and the roles in force); the other rows count what a use case adds to it, except RoleList, which is the whole `GET /roles` request."}
	for _, l := range lines {
		var ops []string
		for unit, v := range l.metrics {
			if strings.HasSuffix(unit, "/op") && unit != "requests/op" && unit != "ns/op" && unit != "B/op" && unit != "allocs/op" && v > 0 {
				ops = append(ops, fmt.Sprintf("%s %g", strings.TrimSuffix(unit, "/op"), v))
			}
		}
		sort.Strings(ops)
		reqs.rows = append(reqs.rows, []string{strings.TrimPrefix(l.name, "RequestsPerUseCase/"), fmt.Sprintf("%g", l.metrics["requests/op"]), strings.Join(ops, ", ")})
	}
	return reqs, nil
}

// runKillRestart measures the kill-restart figure alone and puts it into
// the report at out in place of its earlier version.
func runKillRestart(out string, users int, sendRate float64) error {
	doc, err := os.ReadFile(out)
	if err != nil {
		return fmt.Errorf("-only rewrites one section of the report of an earlier make bench: %w", err)
	}
	dir, err := os.MkdirTemp("", "opsos-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	started := time.Now()
	sec, err := measureKillRestart(context.Background(), dir, users, sendRate)
	if err != nil {
		return err
	}
	fmt.Print(sec.markdown())
	how := fmt.Sprintf("`go run ./cmd/bench -only kill-restart -kill-users %d -kill-send-rate %g`", users, sendRate)
	return os.WriteFile(out, []byte(replaceSection(string(doc), sec, started, how)), 0o644)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗ over the goal"
}

// machine describes where the numbers come from.
func machine() string {
	cpu, mem := "unknown CPU", ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		cpu = firstValue(f, "model name")
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscan(strings.TrimSuffix(firstValue(f, "MemTotal"), " kB"), &kb)
		mem = fmt.Sprintf(", %.0f GiB memory", float64(kb)/(1<<20))
		f.Close()
	}
	return fmt.Sprintf("Machine: %s, %d cores%s; %s %s/%s.", cpu, runtime.NumCPU(), mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func firstValue(r io.Reader, key string) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
