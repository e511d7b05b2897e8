package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/releaseapp"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/lambdainvoke"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamotest"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
)

// notCalledByTheCode are the actions a function's role holds that its
// code never calls, each with the reason it is granted all the same. An
// action granted and neither called nor listed here is a grant too many;
// an action listed here that the code does call is a stale reason.
var notCalledByTheCode = map[string]map[string]string{
	"*": {
		"logs:CreateLogStream": "Lambda's runtime writes the function's logs with the role; the code never calls CloudWatch Logs",
		"logs:PutLogEvents":    "Lambda's runtime writes the function's logs with the role; the code never calls CloudWatch Logs",
	},
	"slack": {
		"dynamodb:UpdateItem": "a Slack command that finds no roles stored seeds the default roles, and each adds one to the roles' version; Slack changes no role otherwise",
	},
	"release": {
		"dynamodb:DescribeStream":   "the stream's event source mapping reads the stream with the function's role",
		"dynamodb:GetRecords":       "the stream's event source mapping reads the stream with the function's role",
		"dynamodb:GetShardIterator": "the stream's event source mapping reads the stream with the function's role",
		"dynamodb:ListStreams":      "the stream's event source mapping reads the stream with the function's role",
		"sqs:SendMessage":           "the event source mapping sends the records it gives up on to the failure queue with the function's role",
		"sqs:GetQueueAttributes":    "the event source mapping checks its failure queue with the function's role",
		"sqs:GetQueueUrl":           "the event source mapping checks its failure queue with the function's role",
	},
}

// iamPrefix maps the SDK's service ids to IAM's action prefixes.
var iamPrefix = map[string]string{
	"DynamoDB":                  "dynamodb",
	"Cognito Identity Provider": "cognito-idp",
	"SESv2":                     "ses", // SES v2 SendEmail is authorised as ses:SendEmail
	"Secrets Manager":           "secretsmanager",
	"Lambda":                    "lambda",
	"SQS":                       "sqs",
}

// calls records the AWS actions one function's code makes, each with the
// SDK operations that needed it.
type calls struct {
	mu      sync.Mutex
	actions map[string]map[string]bool
	unknown []string
}

func newCalls() *calls { return &calls{actions: map[string]map[string]bool{}} }

func (c *calls) add(action, via string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.actions[action] == nil {
		c.actions[action] = map[string]bool{}
	}
	c.actions[action][via] = true
}

// record is the SDK middleware: at the end of the Initialize step, after
// the client has named the service and the operation, it sees each
// operation once, before retries, whatever the answer.
func (c *calls) record(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("OpsOSIAMCoverage",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			svc, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
			prefix, ok := iamPrefix[svc]
			if !ok {
				c.mu.Lock()
				c.unknown = append(c.unknown, svc+" "+op)
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}
			via := svc + " " + op
			// IAM authorises a transaction by its items' own actions.
			if tx, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok {
				for _, it := range tx.TransactItems {
					switch {
					case it.Put != nil:
						c.add("dynamodb:PutItem", via)
					case it.Update != nil:
						c.add("dynamodb:UpdateItem", via)
					case it.Delete != nil:
						c.add("dynamodb:DeleteItem", via)
					case it.ConditionCheck != nil:
						c.add("dynamodb:ConditionCheckItem", via)
					}
				}
				return next.HandleInitialize(ctx, in)
			}
			c.add(prefix+":"+op, via)
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// standIn is the AWS endpoint every function's clients are pointed at: it
// passes DynamoDB, Cognito and SES to their emulators and answers what
// has no emulator. The recording is done by the SDK middleware, not here,
// except for the Slack function's self-invocation, which is signed by
// hand (lambdainvoke) and never passes through an SDK stack.
type standIn struct {
	t                     *testing.T
	dynamo, cognito, ses  http.Handler
	secretARN, secretJSON string
	// rejected is an address SES refuses for good, as it does one on the
	// suppression list: the release worker's release_failed path.
	rejected string
	// flaky is an address SES fails to send to (HTTP 500) flakyLeft more
	// times: the worker abandons its claim and the retry sends.
	flaky     string
	flakyLeft int
	invokes   *calls
	mu        sync.Mutex
	deferred  [][]byte
}

func proxy(t *testing.T, endpoint string) http.Handler {
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(u)
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "DynamoDB_20120810."):
		s.dynamo.ServeHTTP(w, r)
	case target == "AWSCognitoIdentityProviderService.AdminUserGlobalSignOut":
		// cognito-local 5.3.0 does not implement it (HTTP 500).
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "{}")
	case strings.HasPrefix(target, "AWSCognitoIdentityProviderService."):
		s.cognito.ServeHTTP(w, r)
	case target == "secretsmanager.GetSecretValue":
		// There is no Secrets Manager emulator; the answer is the shape
		// of the real one.
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"ARN": s.secretARN, "Name": "SlackSecret", "SecretString": s.secretJSON, "VersionId": "v1"})
	case strings.HasPrefix(r.URL.Path, "/v2/email/outbound-emails"):
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(s.rejected)) {
			w.Header().Set("X-Amzn-ErrorType", "MessageRejected")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"message":"Email address is on the suppression list for your account."}`)
			return
		}
		s.mu.Lock()
		fail := s.flaky != "" && s.flakyLeft > 0 && bytes.Contains(body, []byte(s.flaky))
		if fail {
			s.flakyLeft--
		}
		s.mu.Unlock()
		if fail {
			w.Header().Set("X-Amzn-ErrorType", "InternalServiceErrorException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"message":"Internal service error."}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.ses.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") && strings.HasSuffix(r.URL.Path, "/invocations"):
		// Lambda's Invoke API is authorised as lambda:InvokeFunction.
		s.invokes.add("lambda:InvokeFunction", "Lambda Invoke (lambdainvoke, signed by hand)")
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.deferred = append(s.deferred, body)
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	default:
		s.t.Errorf("a function called AWS at %s %s (X-Amz-Target %q), which the test does not stand in for", r.Method, r.URL.Path, target)
		w.WriteHeader(http.StatusNotImplemented)
	}
}

// takeDeferred returns the payloads the Slack function invoked itself with.
func (s *standIn) takeDeferred() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.deferred
	s.deferred = nil
	return out
}

// functionEnv is the environment the stack gives the function name: the
// template's variables, with the table, pool, secret and login page of
// this test in place of the stack's references to its own.
func functionEnv(t *testing.T, name string, stands map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range get(functionsByName(t)[name].props, "Environment.Variables").(map[string]any) {
		if s, ok := v.(string); ok {
			env[k] = s
			continue
		}
		s, ok := stands[k]
		if !ok {
			t.Fatalf("the stack gives %s's %s the value %s, which the test has no stand-in for", name, k, js(v))
		}
		env[k] = s
	}
	return env
}

// build opens the function name as its main does, but with the test's
// AWS endpoint and, when rec is not nil, the recorder on every client.
func build(t *testing.T, ctx context.Context, name string, env map[string]string, endpoint string, rec *calls, more ...app.Option) *app.Root {
	t.Helper()
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	opts := []app.Option{app.WithAWSConfig(func(context.Context) (aws.Config, error) { return dynamo.LocalConfig(endpoint), nil })}
	if rec != nil {
		opts = append(opts, app.WithAPIOptions(rec.record))
	}
	opts = append(opts, more...)
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler).With("function", name), opts...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

type memCheckpoints struct{ m map[string]string }

func (c *memCheckpoints) Load(context.Context) (map[string]string, error) { return c.m, nil }
func (c *memCheckpoints) Save(_ context.Context, m map[string]string) error {
	c.m = m
	return nil
}

// TestReleasePathOnTheEmulators runs every function's paths once on the
// emulators and checks two things the emulators themselves cannot:
//
//   - IAMCoverage: every AWS action each function's code makes, recorded
//     on its clients, is allowed by the role the synthesised stack gives
//     it, and every grant is called or listed in notCalledByTheCode with
//     its reason;
//   - StreamFilter: the event source mapping's filter, read from the
//     template, lets through exactly the user changes among the records
//     the table's stream really carries after all those writes.
func TestReleasePathOnTheEmulators(t *testing.T) {
	r := drive(t)
	t.Run("IAMCoverage", func(t *testing.T) { checkCoverage(t, r.recorded) })
	t.Run("StreamFilter", func(t *testing.T) { checkStreamFilter(t, r.dynamoDB, r.table) })
}

// run is what drive leaves for the checks.
type run struct {
	recorded        map[string]*calls
	dynamoDB, table string
}

// drive builds each function as its main does, with the recorder on its
// AWS clients, and drives its paths.
func drive(t *testing.T) run {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := &rig{t: t, ctx: ctx}
	defer r.close()
	r.startCloud()
	r.startSlack()
	r.buildFunctions()
	id := r.driveAPI()
	r.driveReleaseFailures()
	r.driveFirstSignIns(id)
	r.driveSlack()
	r.driveRoles()
	r.checkSlackAnswers()
	return run{recorded: r.recorded, dynamoDB: r.ddb, table: r.table}
}

// rig is what drive's steps share: the emulators and the stand-ins for
// the rest of AWS and for Slack, the functions built on them, and what
// the functions' calls leave.
type rig struct {
	t       *testing.T
	ctx     context.Context
	closers []func() // in the order they were opened

	ddb, cog    string // the emulators' endpoints
	table, pool string
	recorded    map[string]*calls
	cloud       *standIn
	endpoint    *httptest.Server
	env         func(name string) map[string]string

	hooks, slackCalls []string // Slack answers posted, Slack Web API paths called
	hooksMu, slackMu  sync.Mutex

	d           apiDriver
	slackApp    *app.Root
	slackH      *slackops.Handler
	poller      *dynamostream.Poller
	firstSignIn cognito.PostAuthentication
}

// signing is the Slack signing secret the Slack function is given.
const signing = "iam-coverage-signing-secret"

// adminSlack is the first administrator's Slack user id.
const adminSlack = "U0ADMIN01"

// close closes what the steps opened, the last first.
func (r *rig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// startCloud starts the emulators, a table and a pool on them, and the
// AWS endpoint every function's clients call.
func (r *rig) startCloud() {
	t := r.t
	var ses string
	r.ddb, r.cog, ses = emulators.DynamoDB(t), emulators.Cognito(t), emulators.SES(t)
	_, r.table = dynamotest.Table(t)
	var err error
	r.pool, _, err = cognito.CreateLocalPool(r.ctx, cognito.NewLocalClient(r.cog), fmt.Sprintf("opsos-iam-%d", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	secretARN := "arn:aws:secretsmanager:us-east-1:123456789012:secret:SlackSecret-abc123"
	r.recorded = map[string]*calls{"api": newCalls(), "slack": newCalls(), "release": newCalls(), "postauth": newCalls()}
	r.cloud = &standIn{t: t, dynamo: proxy(t, r.ddb), cognito: proxy(t, r.cog), ses: proxy(t, ses),
		secretARN: secretARN, secretJSON: `{"signingSecret":"` + signing + `","botToken":"xoxb-iam-coverage"}`,
		rejected: "suppressed@example.com", invokes: r.recorded["slack"]}
	r.endpoint = httptest.NewServer(r.cloud)
	r.closers = append(r.closers, r.endpoint.Close)
	r.env = func(name string) map[string]string {
		stands := map[string]string{"OPSOS_TABLE_NAME": r.table, "OPSOS_USER_POOL_ID": r.pool,
			"OPSOS_SLACK_SECRET_ARN": secretARN, "OPSOS_LOGIN_URL": "https://opsos-example.auth.us-east-1.amazoncognito.com/login?client_id=x",
			// The console's sign-in settings, which the pages read and no
			// AWS call uses.
			"OPSOS_CONSOLE_COGNITO_DOMAIN": "https://opsos-example.auth.us-east-1.amazoncognito.com", "OPSOS_CONSOLE_CLIENT_ID": "x"}
		return functionEnv(t, name, stands)
	}
}

// startSlack stands in for Slack: the response URLs the Slack function
// answers on, and the Web API the release worker posts notices to.
func (r *rig) startSlack() {
	responseURLs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.hooksMu.Lock()
		r.hooks = append(r.hooks, string(b))
		r.hooksMu.Unlock()
	}))
	r.closers = append(r.closers, responseURLs.Close)
	// The Slack function answers only on Slack's own response_url host,
	// as in AWS; here that host is the catcher above, on this machine.
	r.closers = append(r.closers, reachSlackHooksAt(r.t, responseURLs.Listener.Addr().String()))

	// Slack's Web API, for the release worker's notices (not AWS: its
	// address is the one setting the stack does not give).
	slackAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.slackMu.Lock()
		r.slackCalls = append(r.slackCalls, req.URL.Path)
		r.slackMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"channel":"C0123ABCD","ts":"1700000000.000100"}`)
	}))
	r.closers = append(r.closers, slackAPI.Close)

	stackEnv := r.env
	r.env = func(name string) map[string]string {
		e := stackEnv(name)
		e["OPSOS_SLACK_API_URL"] = slackAPI.URL + "/"
		return e
	}
	r.t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	r.t.Setenv("AWS_LAMBDA_FUNCTION_NAME", slackFunctionName(Config{StackName: "OpsOS"}))
}

// buildFunctions writes the first administrator, as `opsos
// bootstrap-admin` does and not by any function, then builds each
// function as its main builds it (functions/*/main.go).
func (r *rig) buildFunctions() {
	t, ctx := r.t, r.ctx
	setup := build(t, ctx, "setup", r.env("api"), r.endpoint.URL, nil)
	admin, _, err := setup.Service.Bootstrap(ctx, "admin@example.com", adminSlack)
	if err != nil {
		t.Fatal(err)
	}

	apiApp := build(t, ctx, "api", r.env("api"), r.endpoint.URL, r.recorded["api"])
	r.d = apiDriver{t: t, h: httpapi.New(apiApp.Service, apiApp.Log), claims: map[string]string{httpapi.ClaimUserID: admin.ID, httpapi.ClaimEmail: admin.Email}}

	r.slackApp = build(t, ctx, "slack", r.env("slack"), r.endpoint.URL, r.recorded["slack"], app.WithSlackSecret(slackapp.ReadSecret))
	deferrer, err := lambdainvoke.New(r.slackApp.AWS)
	if err != nil {
		t.Fatal(err)
	}
	deferrer.Endpoint = r.endpoint.URL
	if r.slackH, err = slackapp.Handler(r.slackApp, deferrer); err != nil {
		t.Fatal(err)
	}

	releaseApp := build(t, ctx, "release", r.env("release"), r.endpoint.URL, r.recorded["release"], app.WithSlackSecret(slackapp.ReadSecret))
	worker, err := releaseapp.Worker(releaseApp)
	if err != nil {
		t.Fatal(err)
	}

	postauthApp := build(t, ctx, "postauth", r.env("postauth"), r.endpoint.URL, r.recorded["postauth"])
	r.firstSignIn = cognito.PostAuthentication{Activator: postauthApp.Service, Log: postauthApp.Log}

	// The stream reaches the worker as the event source mapping would
	// deliver it; the poller's own reads are the mapping's, not the code's.
	r.poller, err = dynamostream.NewPoller(ctx, dynamo.NewLocalClient(r.ddb), dynamostream.NewLocalClient(r.ddb), r.table,
		func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			return stream.Edge(item.DecodeChange, worker.Changes)(wctx, ev)
		}, &memCheckpoints{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
}

// pump delivers what the stream holds, retrying failed records as the
// mapping would, until nothing is left.
func (r *rig) pump() {
	r.t.Helper()
	var err error
	for range 20 {
		var n int
		if n, err = r.poller.Poll(r.ctx); err == nil && n == 0 {
			return
		}
	}
	r.t.Fatalf("release worker: the stream does not drain: %v", err)
}

// driveAPI creates, lists with cursors, gets, edits, releases, resends,
// diagnoses, reads the history, holds, releases again (re-enable),
// changes a role (move group) and releases in bulk with its dry run; and
// creates, renames, reads and deletes a custom role. It
// returns Priya's id, the user most of it works on.
func (r *rig) driveAPI() string {
	d := r.d
	priya := d.do("POST", "/users", "", map[string]any{"type": "internal", "firstName": "Priya", "lastName": "Shah",
		"email": "priya@example.com", "phone": "07911 123456", "jobTitle": "Shift Lead", "role": "supervisor", "holdInvite": true}, 201, "key-1")
	d.do("POST", "/users", "dryRun=true", map[string]any{"type": "internal", "firstName": "Dry", "lastName": "Run",
		"email": "dry@example.com", "role": "staff", "holdInvite": true}, 200, "")
	for _, who := range []string{"ana", "ben"} {
		d.do("POST", "/users", "", map[string]any{"type": "internal", "firstName": who, "lastName": "Bulk",
			"email": who + "@example.com", "role": "staff", "holdInvite": true}, 201, "")
	}
	page := d.do("GET", "/users", "limit=1", nil, 200, "")
	d.do("GET", "/users", "limit=1&cursor="+url.QueryEscape(page.str("nextCursor")), nil, 200, "")
	d.do("GET", "/users", "email=priya%40example.com", nil, 200, "")
	d.do("GET", "/users", "q=bulk&status=introduction&role=staff", nil, 200, "")
	d.do("GET", "/roles", "", nil, 200, "")
	role := d.do("POST", "/roles", "", map[string]any{"name": "Weekend Lead", "permissions": []string{"planner.view"}}, 201, "")
	role = d.ifMatch(role).do("PATCH", "/roles/weekend-lead", "", map[string]any{"name": "Weekend Supervisor"}, 200, "")
	d.do("GET", "/roles/weekend-lead", "", nil, 200, "")
	d.do("GET", "/roles/weekend-lead/history", "", nil, 200, "")
	d.ifMatch(role).do("DELETE", "/roles/weekend-lead", "", nil, 204, "")
	id := priya.str("id")
	priya = d.do("GET", "/users/"+id, "", nil, 200, "")
	priya = d.ifMatch(priya).do("PATCH", "/users/"+id, "", map[string]any{"email": "priya.shah@example.com", "jobTitle": "Lead"}, 200, "")
	priya = d.ifMatch(priya).do("POST", "/users/"+id+"/release", "", nil, 202, "")
	r.pump()
	priya = d.do("GET", "/users/"+id, "", nil, 200, "")
	priya = d.ifMatch(priya).do("POST", "/users/"+id+"/resend-invite", "", nil, 202, "")
	r.pump()
	d.do("GET", "/users/"+id+"/status", "", nil, 200, "")
	hist := d.do("GET", "/users/"+id+"/history", "limit=1", nil, 200, "")
	d.do("GET", "/users/"+id+"/history", "limit=1&cursor="+url.QueryEscape(hist.str("nextCursor")), nil, 200, "")
	priya = d.do("GET", "/users/"+id, "", nil, 200, "")
	priya = d.ifMatch(priya).do("PATCH", "/users/"+id, "", map[string]any{"role": "planner"}, 200, "")
	r.pump()
	priya = d.ifMatch(priya).do("POST", "/users/"+id+"/hold", "", nil, 200, "")
	r.pump()
	d.ifMatch(priya).do("POST", "/users/"+id+"/release", "", nil, 202, "")
	r.pump()
	preview := d.do("POST", "/users/release", "dryRun=true", map[string]any{"role": "staff"}, 200, "")
	d.do("POST", "/users/release", "", map[string]any{"role": "staff", "expectedCount": preview.num("count")}, 200, "")
	return id
}

// driveReleaseFailures releases to an address SES refuses, to one while
// SES is down for a while (the claim is abandoned and the retry sends),
// and to one whose login is already in the pool.
func (r *rig) driveReleaseFailures() {
	d, cloud := r.d, r.cloud
	d.do("POST", "/users", "", map[string]any{"type": "internal", "firstName": "Sup", "lastName": "Pressed",
		"email": cloud.rejected, "role": "staff", "holdInvite": false}, 201, "")
	r.pump()
	if got := d.do("GET", "/users", "email="+url.QueryEscape(cloud.rejected), nil, 200, ""); got.first("status") != "release_failed" {
		r.t.Errorf("the refused address did not end in release_failed: %s", js(got))
	}
	cloud.flaky, cloud.flakyLeft = "flaky@example.com", 3
	d.do("POST", "/users", "", map[string]any{"type": "internal", "firstName": "Fla", "lastName": "Ky",
		"email": cloud.flaky, "role": "staff", "holdInvite": false}, 201, "")
	r.pump()
	// A login left in the pool for the address (a user deleted and added
	// again): the worker adopts it.
	if _, err := cognito.NewLocalClient(r.cog).AdminCreateUser(r.ctx, &cip.AdminCreateUserInput{UserPoolId: &r.pool,
		Username: ptr("adopted@example.com"), MessageAction: ciptypes.MessageActionTypeSuppress}); err != nil {
		r.t.Fatal(err)
	}
	d.do("POST", "/users", "", map[string]any{"type": "internal", "firstName": "Ad", "lastName": "Opted",
		"email": "adopted@example.com", "role": "staff", "holdInvite": false}, 201, "")
	r.pump()
	for _, email := range []string{cloud.flaky, "adopted@example.com"} {
		if got := d.do("GET", "/users", "email="+url.QueryEscape(email), nil, 200, ""); got.first("status") != "invited" {
			r.t.Errorf("%s is not invited: %s", email, js(got))
		}
	}
}

// driveFirstSignIns runs post-authentication for Priya (user id id) and
// for Ana, whose login lacks the OpsOS id attribute.
func (r *rig) driveFirstSignIns(id string) {
	d, t := r.d, r.t
	priya := d.do("GET", "/users/"+id, "", nil, 200, "")
	var ev events.CognitoEventUserPoolsPostAuthentication
	ev.TriggerSource = "PostAuthentication_Authentication"
	ev.UserPoolID = r.pool
	ev.Request.UserAttributes = map[string]string{"email": priya.str("email"), "custom:opsos_user_id": id, "email_verified": "true"}
	if _, err := r.firstSignIn.Handle(r.ctx, ev); err != nil {
		t.Fatalf("post-authentication: %v", err)
	}
	if got := d.do("GET", "/users/"+id, "", nil, 200, ""); got.str("status") != "active" {
		t.Errorf("after the first sign-in Priya is %s, want active", got.str("status"))
	}
	// A login without the OpsOS id attribute is matched by its email.
	ev.Request.UserAttributes = map[string]string{"email": "ana@example.com", "email_verified": "true"}
	if _, err := r.firstSignIn.Handle(r.ctx, ev); err != nil {
		t.Fatalf("post-authentication: %v", err)
	}
	if got := d.do("GET", "/users", "email=ana%40example.com", nil, 200, ""); got.first("status") != "active" {
		t.Errorf("after the first sign-in Ana is %s, want active", got.first("status"))
	}
}

// driveSlack sends the Slack commands, runs the deferred status job and
// clicks both buttons.
func (r *rig) driveSlack() {
	s := slackDriver{t: r.t, h: r.slackH, secret: signing, user: adminSlack, team: r.slackApp.Config.SlackTeamID, enterprise: r.slackApp.Config.SlackEnterpriseID,
		responseURL: "https://hooks.slack.com/services/T0123TEAM"}
	s.command("create first=Sam last=Lee email=sam@example.com role=staff type=internal holdInvite=yes")
	s.command("show sam@example.com")
	s.command("list")
	s.command("list role=staff")
	s.command("edit sam@example.com email=samuel@example.com title=Cook")
	s.command("hold samuel@example.com")
	s.command("resend samuel@example.com")
	s.command("history samuel@example.com")
	s.command("release role=staff")
	s.command("status priya.shah@example.com")
	for _, p := range r.cloud.takeDeferred() {
		// Lambda runs the deferred job as a new invocation of the function.
		if _, err := r.slackH.Invoke(r.ctx, p); err != nil {
			r.t.Fatalf("deferred job: %v", err)
		}
	}
	s.command("create first=Tom last=Kay email=tom@example.com role=staff type=internal holdInvite=yes")
	tom := r.d.do("GET", "/users", "email=tom%40example.com", nil, 200, "")
	tomID, tomVersion := tom.first("id"), tom.first("version")
	s.click("release", tomID+":"+tomVersion)
	s.command("create first=Una last=Ray email=una@example.com role=purchasing type=internal holdInvite=yes")
	s.click("release-many", `{"r":"purchasing","n":1}`)
	r.pump()
	s.command("release samuel@example.com")
	r.pump()
}

// checkSlackAnswers checks that the worker's notice reached Slack and that
// no answer the Slack function posted is an internal error.
func (r *rig) checkSlackAnswers() {
	r.slackMu.Lock()
	if !slices.Contains(r.slackCalls, "/chat.postMessage") {
		r.t.Errorf("the release worker sent no notice to Slack (calls %v): its notice path went unrecorded", r.slackCalls)
	}
	r.slackMu.Unlock()
	r.hooksMu.Lock()
	for _, h := range r.hooks {
		if strings.Contains(h, "went wrong on our side") {
			r.t.Errorf("a Slack answer is an internal error: %s", h)
		}
	}
	r.hooksMu.Unlock()
}

// checkCoverage holds the recorded actions against each role and prints
// the table.
func checkCoverage(t *testing.T, recorded map[string]*calls) {
	grants := grantsByFunction(t)
	for _, name := range Functions {
		c := recorded[name]
		if len(c.unknown) > 0 {
			t.Errorf("%s called services the test cannot map to IAM: %v", name, c.unknown)
		}
		var table strings.Builder
		fmt.Fprintf(&table, "%s function: action ← SDK operation → granted by\n", name)
		for _, action := range sortedKeys(c.actions) {
			by := grants[name][action]
			where := strings.Join(by, "; ")
			if len(by) == 0 {
				where = "NOT GRANTED"
				t.Errorf("%s calls %s (%s), which its role does not allow", name, action, strings.Join(sortedKeys(c.actions[action]), ", "))
			}
			fmt.Fprintf(&table, "  %-40s ← %-50s → %s\n", action, strings.Join(sortedKeys(c.actions[action]), ", "), where)
		}
		for _, action := range sortedKeys(grants[name]) {
			if c.actions[action] != nil {
				if _, listed := reasonFor(name, action); listed {
					t.Errorf("%s: %s is listed as not called by the code, but the code calls it", name, action)
				}
				continue
			}
			reason, listed := reasonFor(name, action)
			if !listed {
				t.Errorf("%s's role allows %s (%s), which the code never called: drop the grant or give the reason in notCalledByTheCode",
					name, action, strings.Join(grants[name][action], "; "))
				reason = "UNUSED, NO REASON"
			}
			fmt.Fprintf(&table, "  %-40s   (not called by the code: %s) → %s\n", action, reason, strings.Join(grants[name][action], "; "))
		}
		t.Log("\n" + table.String())
	}
}

func reasonFor(name, action string) (string, bool) {
	if r, ok := notCalledByTheCode[name][action]; ok {
		return r, true
	}
	r, ok := notCalledByTheCode["*"][action]
	return r, ok
}

func ptr(s string) *string { return &s }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// grantsByFunction reads, for each function, the actions its role's
// policies allow and the statements that allow them, as
// "<policy>#<n> on <resources>".
func grantsByFunction(t *testing.T) map[string]map[string][]string {
	t.Helper()
	roleOf := map[string]string{}
	for name, f := range functionsByName(t) {
		roleOf[get(f.props, "Role.Fn::GetAtt").([]any)[0].(string)] = name
	}
	out := map[string]map[string][]string{}
	for _, p := range resources(t, "AWS::IAM::Policy") {
		for _, role := range asList(p.props["Roles"]) {
			name, ok := roleOf[get(role, "Ref").(string)]
			if !ok {
				continue
			}
			if out[name] == nil {
				out[name] = map[string][]string{}
			}
			for i, st := range statements(p.props["PolicyDocument"]) {
				if get(st, "Effect") != "Allow" {
					continue
				}
				var res []string
				for _, r := range asList(get(st, "Resource")) {
					res = append(res, arnText(r))
				}
				where := fmt.Sprintf("%s#%d on %s", p.id, i, strings.Join(res, ", "))
				for _, a := range toStrings(get(st, "Action")) {
					if !slices.Contains(out[name][a], where) {
						out[name][a] = append(out[name][a], where)
					}
				}
			}
		}
	}
	return out
}

// arnText renders a template ARN readably: {Users.Arn}, {AWS::Region}.
func arnText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			return "{" + r + "}"
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return fmt.Sprintf("{%v.%v}", g[0], g[1])
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range asList(j[1]) {
				parts = append(parts, arnText(p))
			}
			sep, _ := j[0].(string)
			return strings.Join(parts, sep)
		}
	}
	return js(v)
}

// apiDriver sends API Gateway events to the API function as the
// administrator, whose claims the JWT authorizer would pass.
type apiDriver struct {
	t      *testing.T
	h      *httpapi.Handler
	claims map[string]string
	match  string
}

type jsonBody map[string]any

func (b jsonBody) str(k string) string { s, _ := b[k].(string); return s }
func (b jsonBody) num(k string) int    { n, _ := b[k].(float64); return int(n) }

// first returns the field k of the first user of a list, as text.
func (b jsonBody) first(k string) string {
	users, _ := b["items"].([]any)
	if len(users) == 0 {
		return ""
	}
	switch v := users[0].(map[string]any)[k].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(int64(v))
	}
	return ""
}

func (d apiDriver) ifMatch(u jsonBody) apiDriver {
	d.match = fmt.Sprintf("%q", fmt.Sprint(int64(u["version"].(float64))))
	return d
}

func (d apiDriver) do(method, path, query string, body any, status int, idem string) jsonBody {
	d.t.Helper()
	ev := events.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: query, Headers: map[string]string{"content-type": "application/json"}}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = method, path
	ev.RequestContext.RequestID = "iam-coverage"
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: d.claims}}
	if body != nil {
		b, _ := json.Marshal(body)
		ev.Body = string(b)
	}
	if d.match != "" {
		ev.Headers["if-match"] = d.match
	}
	if idem != "" {
		ev.Headers["idempotency-key"] = idem
	}
	resp, err := d.h.Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != status {
		d.t.Fatalf("%s %s?%s: %d %v %s, want %d", method, path, query, resp.StatusCode, err, resp.Body, status)
	}
	var out jsonBody
	json.Unmarshal([]byte(resp.Body), &out)
	return out
}

// slackDriver sends signed Slack requests to the Slack function.
type slackDriver struct {
	t                                           *testing.T
	h                                           *slackops.Handler
	secret, user, team, enterprise, responseURL string
}

func (s slackDriver) post(path, body string) string {
	s.t.Helper()
	ts, sig := slackops.Sign(s.secret, time.Now(), []byte(body))
	ev := events.APIGatewayV2HTTPRequest{RawPath: path, IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString([]byte(body)),
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts, "x-slack-signature": sig}}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = http.MethodPost, path
	resp, err := s.h.Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("%s %s: %d %v %s", path, body, resp.StatusCode, err, resp.Body)
	}
	if strings.Contains(resp.Body, "went wrong on our side") {
		s.t.Errorf("%s: an internal error: %s", body, resp.Body)
	}
	return resp.Body
}

func (s slackDriver) command(text string) string {
	s.t.Helper()
	return s.post(slackops.PathCommands, url.Values{"command": {"/opsos-user"}, "text": {text}, "user_id": {s.user}, "team_id": {s.team}, "enterprise_id": {s.enterprise},
		"channel_id": {"C0001"}, "response_url": {s.responseURL + "/commands"}, "trigger_id": {"1.2.3"}}.Encode())
}

func (s slackDriver) click(action, value string) string {
	s.t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": s.user}, "team": map[string]any{"id": s.team}, "enterprise": map[string]any{"id": s.enterprise},
		"response_url": s.responseURL + "/actions", "trigger_id": "1.2.3",
		"actions": []map[string]any{{"action_id": action, "block_id": "b", "type": "button", "value": value}},
	})
	return s.post(slackops.PathInteractions, url.Values{"payload": {string(payload)}}.Encode())
}

// reachSlackHooksAt sends this process's HTTPS requests for
// hooks.slack.com to addr, a test server on loopback, until the returned
// function restores the default transport: the Slack function posts its
// answers there and nowhere else, and no request leaves the machine.
func reachSlackHooksAt(t *testing.T, addr string) func() {
	t.Helper()
	orig := http.DefaultTransport
	tr := orig.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test server's own certificate
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, target string) (net.Conn, error) {
		if target == "hooks.slack.com:443" {
			target = addr
		}
		return dial(ctx, network, target)
	}
	http.DefaultTransport = tr
	return func() { http.DefaultTransport = orig }
}
