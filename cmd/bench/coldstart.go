package main

import (
	"bytes"
	"context"
	b64 "encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/killrun"
	"github.com/opsos/onboarding/internal/local"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/user"
)

// rieVersion is the Lambda Runtime Interface Emulator the cold starts run
// under, built from the Go module proxy.
const rieVersion = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

const (
	benchSecret = "bench-signing-secret-0123456789"
	// benchTeam is the workspace the Slack function serves in the bench.
	benchTeam  = "T0BENCH01"
	adminSlack = "UBENCH0001"
)

// coldFunction is one binary to start cold, with what it needs to handle
// a real first event.
type coldFunction struct {
	name string
	pkg  string
	env  []string
	// event needs no I/O: the cold start proper. read reads DynamoDB
	// Local, as most first events in AWS do.
	event, read func() ([]byte, error)
}

// fixture is the DynamoDB Local table the functions read at their first
// event, with a bootstrapped administrator.
type fixture struct {
	endpoint, table string
	admin           user.User
}

func newFixture(ctx context.Context, endpoint string) (fixture, error) {
	f := fixture{endpoint: endpoint, table: fmt.Sprintf("opsos-cold-%d", time.Now().UnixNano())}
	cfg, err := app.ConfigFromEnv(func(k string) string {
		return map[string]string{"OPSOS_DYNAMODB_ENDPOINT": endpoint, "OPSOS_TABLE_NAME": f.table, "OPSOS_DATA_DIR": os.TempDir()}[k]
	})
	if err != nil {
		return f, err
	}
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.WithStorage(local.OpenStorage))
	if err != nil {
		return f, err
	}
	defer a.Close()
	f.admin, _, err = a.Service.Bootstrap(ctx, "admin@bench.example", adminSlack)
	return f, err
}

// awsEnv points the functions' AWS SDK at DynamoDB Local with the
// credentials the local client uses (DynamoDB Local keeps data per key).
func (f fixture) awsEnv() []string {
	return []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + f.endpoint, "AWS_ACCESS_KEY_ID=opsoslocal", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "OPSOS_TABLE_NAME=" + f.table, "OPSOS_LOG_LEVEL=error",
		"OPSOS_USER_POOL_ID=us-east-1_bench",
	}
}

func (f fixture) functions() []coldFunction {
	none := func() ([]byte, error) { return []byte(`{}`), nil }
	return []coldFunction{
		{name: "empty aws-lambda-go handler", pkg: "./cmd/bench/empty", event: none, read: none},
		{name: "api", pkg: "./functions/api", env: f.awsEnv(), event: f.apiEvent(false), read: f.apiEvent(true)},
		{name: "slack", pkg: "./functions/slack", env: append(f.awsEnv(), "OPSOS_SLACK_SIGNING_SECRET="+benchSecret, "OPSOS_SLACK_TEAM_ID="+benchTeam),
			event: f.slackEvent(false), read: f.slackEvent(true)},
		{name: "release", pkg: "./functions/release", env: append(f.awsEnv(),
			"OPSOS_MAIL_FROM=invites@bench.example", "OPSOS_LOGIN_URL=https://login.bench.example/login"), event: f.streamEvent(false), read: f.streamEvent(true)},
		{name: "postauth", pkg: "./functions/postauth", env: f.awsEnv(), event: f.postAuthEvent(false), read: f.postAuthEvent(true)},
	}
}

// apiEvent is GET /roles: as the administrator when read (their record
// is read to authorize them), else with no claims (refused at once).
func (f fixture) apiEvent(read bool) func() ([]byte, error) {
	return func() ([]byte, error) {
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /roles", RawPath: "/roles", Headers: map[string]string{}}
		ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "GET", "/roles"
		if read {
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{
					httpapi.ClaimUserID: f.admin.ID, httpapi.ClaimEmail: f.admin.Email}}}
		}
		return json.Marshal(ev)
	}
}

// slackEvent is a signed command: `show` (the manager and the user are
// read) or `help` (nothing is).
func (f fixture) slackEvent(read bool) func() ([]byte, error) {
	text := "help"
	if read {
		text = "show " + f.admin.Email
	}
	return func() ([]byte, error) { return f.signedCommand(text) }
}

func (f fixture) signedCommand(text string) ([]byte, error) {
	// Each command is new bytes, as Slack's trigger ids make them: the
	// function accepts a signed request once.
	body := url.Values{"command": {"/opsos-user"}, "text": {text}, "user_id": {adminSlack}, "team_id": {benchTeam},
		"response_url": {"https://hooks.slack.com/commands/T1/1/x"}, "trigger_id": {fmt.Sprintf("1.%d.3", time.Now().UnixNano())}}.Encode()
	ts, sig := slackops.Sign(benchSecret, time.Now(), []byte(body))
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /slack/commands", RawPath: slackops.PathCommands,
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts, "x-slack-signature": sig},
		Body:    b64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "POST", slackops.PathCommands
	return json.Marshal(ev)
}

// streamEvent is a change of the administrator's job title, which needs
// nothing of the worker; read makes it a first sign-in (invited → active
// is recorded by postauth, so for the worker it is a change to announce
// when a notifier is set, else nothing: it still decides from the images
// only). Both need no I/O, so the two columns are alike.
func (f fixture) streamEvent(bool) func() ([]byte, error) { return f.stream }

func (f fixture) stream() ([]byte, error) {
	old, cur := f.admin, f.admin
	cur.JobTitle, cur.Version = "Head of operations", old.Version+1
	oldImg, err := item.Image(item.FromUser(old))
	if err != nil {
		return nil, err
	}
	curImg, err := item.Image(item.FromUser(cur))
	if err != nil {
		return nil, err
	}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		EventID: "1", EventName: "MODIFY", EventSource: "aws:dynamodb", AWSRegion: "us-east-1",
		Change: events.DynamoDBStreamRecord{Keys: item.Keys(curImg), OldImage: oldImg, NewImage: curImg,
			SequenceNumber: "100", StreamViewType: "NEW_AND_OLD_IMAGES"},
	}}}
	return json.Marshal(ev)
}

// postAuthEvent is a sign-in: of the administrator (read), or of a login
// with no OpsOS user on it (nothing to read).
func (f fixture) postAuthEvent(read bool) func() ([]byte, error) {
	return func() ([]byte, error) {
		var ev events.CognitoEventUserPoolsPostAuthentication
		ev.Request.UserAttributes = map[string]string{}
		if read {
			ev.Request.UserAttributes = map[string]string{user.LoginAttrUserID: f.admin.ID, user.LoginAttrEmail: f.admin.Email}
		}
		return json.Marshal(ev)
	}
}

// coldStart is the cold start of one function: median and slowest of its
// runs, from starting the process to the first event's answer.
type coldStart struct {
	fn            coldFunction
	median, worst time.Duration
	// withRead is the median when the first event reads DynamoDB Local.
	withRead time.Duration
}

// measureColdStarts builds each function for this machine (as make build
// does for Lambda, but for the host's architecture) and starts each cold,
// runs times, under the Runtime Interface Emulator.
func measureColdStarts(ctx context.Context, dir string, fx fixture, runs int) ([]coldStart, error) {
	rie, err := buildRIE(dir)
	if err != nil {
		return nil, err
	}
	var out []coldStart
	for _, fn := range fx.functions() {
		bin := filepath.Join(dir, "host", filepath.Base(fn.pkg), "bootstrap")
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc", "-o", bin, fn.pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if b, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %w\n%s", fn.pkg, err, b)
		}
		var times, reads []time.Duration
		// One warm-up run fills the page cache, as Lambda's would be.
		for i := range runs + 1 {
			d, err := oneColdStart(ctx, rie, bin, fn, fn.event)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fn.name, err)
			}
			r, err := oneColdStart(ctx, rie, bin, fn, fn.read)
			if err != nil {
				return nil, fmt.Errorf("%s, reading: %w", fn.name, err)
			}
			if i > 0 {
				times, reads = append(times, d), append(reads, r)
			}
		}
		slices.Sort(times)
		slices.Sort(reads)
		out = append(out, coldStart{fn: fn, median: times[len(times)/2], worst: times[len(times)-1], withRead: reads[len(reads)/2]})
	}
	return out, nil
}

func buildRIE(dir string) (string, error) {
	cmd := exec.Command("go", "install", rieVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Runtime Interface Emulator: %w\n%s", err, b)
	}
	return filepath.Join(dir, "aws-lambda-rie"), nil
}

// oneColdStart starts the emulator, sends the function's first event and
// times it: the emulator starts the function's process on that event.
func oneColdStart(ctx context.Context, rie, bin string, fn coldFunction, event func() ([]byte, error)) (time.Duration, error) {
	// Two different ports: the emulator's and its runtime API's.
	addrs, err := killrun.FreeAddrs(2)
	if err != nil {
		return 0, err
	}
	addr, api := addrs[0], addrs[1]
	cmd := exec.CommandContext(ctx, rie, "--log-level", "error", "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, bin)
	cmd.Env = append(append(os.Environ(), "AWS_LAMBDA_FUNCTION_NAME=bench", "AWS_LAMBDA_FUNCTION_TIMEOUT=30"), fn.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the emulator did not listen on %s:\n%s", addr, logs.String())
		}
	}
	ev, err := event()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := http.Post("http://"+addr+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(ev))
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	var answer struct {
		StatusCode int `json:"statusCode"`
	}
	json.Unmarshal(body, &answer)
	// The API's refusal of a request with no claims is its answer too.
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errorMessage"`)) ||
		answer.StatusCode != 0 && answer.StatusCode != http.StatusOK && answer.StatusCode != http.StatusUnauthorized {
		return 0, fmt.Errorf("the first event failed: %d %s\n%s", resp.StatusCode, body, logs.String())
	}
	return took, nil
}
