package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/store/schema"
)

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// settings are a deployment's context, as `cdk deploy -c …` gives it.
var settings = map[string]string{
	"opsos:mailFrom":          "OpsOS <invites@ops.example.com>",
	"opsos:callbackUrls":      "https://app.ops.example.com/auth/callback, http://localhost:3000/auth/callback",
	"opsos:logoutUrls":        "https://app.ops.example.com/",
	"opsos:domainPrefix":      "opsos-example",
	"opsos:slackChannel":      "C0123ABCD",
	"opsos:slackTeamId":       "T0123TEAM",
	"opsos:slackEnterpriseId": "E0123GRID",
	"opsos:alarmEmail":        "oncall@ops.example.com",
}

// synthesized is the stack built once for all tests (a synth takes
// seconds): its template as JSON, and cdk-nag's findings.
var synthesized = sync.OnceValues(func() (map[string]any, []string) {
	dir, err := os.MkdirTemp("", "opsos-build")
	if err != nil {
		panic(err)
	}
	for _, f := range Functions {
		os.MkdirAll(filepath.Join(dir, f), 0o755)
		os.WriteFile(filepath.Join(dir, f, "bootstrap"), []byte("#!/bin/sh\n"), 0o755)
	}
	ctx := map[string]string{"opsos:buildDir": dir}
	for k, v := range settings {
		ctx[k] = v
	}
	cfg, err := ConfigFrom(func(key, _ string) string { return ctx[key] })
	if err != nil {
		panic(err)
	}
	app := awscdk.NewApp(nil)
	s := NewStack(app, cfg, nil)
	tpl := assertions.Template_FromStack(s.Stack, nil)
	raw, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	var findings []string
	annotations := assertions.Annotations_FromStack(s.Stack)
	for _, level := range []func(*string, any) *[]*cxapi.SynthesisMessage{annotations.FindError, annotations.FindWarning} {
		for _, m := range *level(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			b, _ := json.Marshal(m.Entry.Data)
			findings = append(findings, *m.Id+": "+string(b))
		}
	}
	return out, findings
})

type resource struct {
	id    string
	props map[string]any
	raw   map[string]any
}

func resources(t *testing.T, typ string) []resource {
	t.Helper()
	tpl, _ := synthesized()
	var out []resource
	for id, r := range tpl["Resources"].(map[string]any) {
		m := r.(map[string]any)
		if m["Type"] == typ {
			props, _ := m["Properties"].(map[string]any)
			out = append(out, resource{id, props, m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func one(t *testing.T, typ string) resource {
	t.Helper()
	rs := resources(t, typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(rs), typ)
	}
	return rs[0]
}

// get walks a JSON path such as "StreamSpecification.StreamViewType".
func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func want(t *testing.T, what string, got, w any) {
	t.Helper()
	if js(got) != js(w) {
		t.Errorf("%s = %s, want %s", what, js(got), js(w))
	}
}

func TestTable(t *testing.T) {
	tb := one(t, "AWS::DynamoDB::Table")
	want(t, "billing", tb.props["BillingMode"], "PAY_PER_REQUEST")
	want(t, "stream", get(tb.props, "StreamSpecification.StreamViewType"), "NEW_AND_OLD_IMAGES")
	want(t, "point-in-time recovery", get(tb.props, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"), true)
	want(t, "TTL", tb.props["TimeToLiveSpecification"], map[string]any{"AttributeName": schema.TTLAttribute, "Enabled": true})
	want(t, "deletion protection", tb.props["DeletionProtectionEnabled"], true)
	want(t, "deletion policy", tb.raw["DeletionPolicy"], "Retain")
	want(t, "replace policy", tb.raw["UpdateReplacePolicy"], "Retain")
	want(t, "keys", tb.props["KeySchema"], []map[string]any{
		{"AttributeName": schema.PartitionKey, "KeyType": "HASH"}, {"AttributeName": schema.SortKey, "KeyType": "RANGE"}})
	var got []string
	for _, g := range tb.props["GlobalSecondaryIndexes"].([]any) {
		got = append(got, js(g))
	}
	for _, ix := range schema.Indexes() {
		w := js(map[string]any{"IndexName": ix.Name, "KeySchema": []map[string]any{
			{"AttributeName": ix.Hash, "KeyType": "HASH"}, {"AttributeName": ix.Range, "KeyType": "RANGE"}},
			"Projection": map[string]any{"ProjectionType": "ALL"}})
		if !slices.Contains(got, w) {
			t.Errorf("index %s missing or different: have %v", ix.Name, got)
		}
	}
}

// functionsByName maps api, slack, release, postauth to their resources.
func functionsByName(t *testing.T) map[string]resource {
	t.Helper()
	out := map[string]resource{}
	for _, f := range resources(t, "AWS::Lambda::Function") {
		for _, name := range Functions {
			if strings.HasPrefix(f.id, strings.ToUpper(name[:1])+name[1:]) {
				out[name] = f
			}
		}
	}
	if len(out) != len(Functions) {
		t.Fatalf("functions %v, want %v", out, Functions)
	}
	return out
}

func TestFunctions(t *testing.T) {
	fs := functionsByName(t)
	for name, f := range fs {
		want(t, name+" runtime", f.props["Runtime"], "provided.al2023")
		want(t, name+" architecture", f.props["Architectures"], []string{"arm64"})
		want(t, name+" handler", f.props["Handler"], "bootstrap")
		want(t, name+" log format", get(f.props, "LoggingConfig.LogFormat"), "JSON")
		want(t, name+" log level", get(f.props, "LoggingConfig.ApplicationLogLevel"), "INFO")
		if f.props["MemorySize"] == nil || f.props["Timeout"] == nil {
			t.Errorf("%s: memory and timeout must be set: %s", name, js(f.props))
		}
		if get(f.props, "Environment.Variables.OPSOS_TABLE_NAME") == nil {
			t.Errorf("%s does not know the table", name)
		}
	}
	want(t, "postauth timeout (Cognito waits 5 s)", fs["postauth"].props["Timeout"], 5)
	env := func(name, key string) any { return get(fs[name].props, "Environment.Variables."+key) }
	want(t, "release sender", env("release", "OPSOS_MAIL_FROM"), "OpsOS <invites@ops.example.com>")
	want(t, "release channel", env("release", "OPSOS_SLACK_CHANNEL"), "C0123ABCD")
	want(t, "release send rate", env("release", "OPSOS_SEND_RATE"), "10")
	want(t, "slack workspace", env("slack", "OPSOS_SLACK_TEAM_ID"), "T0123TEAM")
	want(t, "slack enterprise", env("slack", "OPSOS_SLACK_ENTERPRISE_ID"), "E0123GRID")
	for _, name := range []string{"slack", "release"} {
		if env(name, "OPSOS_SLACK_SECRET_ARN") == nil {
			t.Errorf("%s does not know the Slack secret", name)
		}
	}
	for _, name := range []string{"api", "slack", "postauth"} {
		if env(name, "OPSOS_SLACK_BOT_TOKEN") != nil || env(name, "OPSOS_SLACK_SIGNING_SECRET") != nil {
			t.Errorf("%s has a Slack secret in its environment", name)
		}
	}
	if !strings.Contains(js(env("release", "OPSOS_LOGIN_URL")), "/login?client_id=") {
		t.Errorf("release login URL %s is not the managed login page", js(env("release", "OPSOS_LOGIN_URL")))
	}
	want(t, "slack function name", fs["slack"].props["FunctionName"], "OpsOS-slack")
}

func TestEventSourceMapping(t *testing.T) {
	m := one(t, "AWS::Lambda::EventSourceMapping")
	want(t, "function", get(m.props, "FunctionName.Ref"), functionsByName(t)["release"].id)
	want(t, "starting position", m.props["StartingPosition"], "TRIM_HORIZON")
	want(t, "batch size", m.props["BatchSize"], 25)
	want(t, "bisect", m.props["BisectBatchOnFunctionError"], true)
	want(t, "partial failures", m.props["FunctionResponseTypes"], []string{"ReportBatchItemFailures"})
	want(t, "retries", m.props["MaximumRetryAttempts"], 10)
	want(t, "record age", m.props["MaximumRecordAgeInSeconds"], 86400)
	want(t, "parallelization", m.props["ParallelizationFactor"], 1)
	q := one(t, "AWS::SQS::Queue")
	want(t, "on-failure destination", get(m.props, "DestinationConfig.OnFailure.Destination"), map[string]any{"Fn::GetAtt": []string{q.id, "Arn"}})
	filters := get(m.props, "FilterCriteria.Filters").([]any)
	if len(filters) != 1 {
		t.Fatalf("filters %s", js(filters))
	}
	var pattern any
	if err := json.Unmarshal([]byte(filters[0].(map[string]any)["Pattern"].(string)), &pattern); err != nil {
		t.Fatal(err)
	}
	want(t, "filter", pattern, map[string]any{
		"eventName": []string{"INSERT", "MODIFY"},
		"dynamodb":  map[string]any{"NewImage": map[string]any{"entity": map[string]any{"S": []string{"user"}}}},
	})
	want(t, "queue encryption", q.props["SqsManagedSseEnabled"], true)
}

func TestHTTPAPI(t *testing.T) {
	auth := one(t, "AWS::ApiGatewayV2::Authorizer")
	want(t, "authorizer type", auth.props["AuthorizerType"], "JWT")
	client := one(t, "AWS::Cognito::UserPoolClient")
	want(t, "JWT audience (the app client, not the pool)", get(auth.props, "JwtConfiguration.Audience"), []any{map[string]any{"Ref": client.id}})
	routes := map[string]resource{}
	for _, r := range resources(t, "AWS::ApiGatewayV2::Route") {
		routes[r.props["RouteKey"].(string)] = r
	}
	for _, key := range []string{"GET /users", "POST /users", "POST /users/release", "GET /users/{id}", "PATCH /users/{id}", "POST /users/{id}/release",
		"POST /users/{id}/hold", "POST /users/{id}/resend-invite", "GET /users/{id}/status", "GET /users/{id}/history", "GET /roles",
		"POST /roles", "GET /roles/{id}", "PATCH /roles/{id}", "DELETE /roles/{id}", "GET /roles/{id}/history"} {
		r, ok := routes[key]
		if !ok {
			t.Errorf("no route %s", key)
			continue
		}
		want(t, key+" authorization", r.props["AuthorizationType"], "JWT")
		want(t, key+" authorizer", r.props["AuthorizerId"], map[string]any{"Ref": auth.id})
	}
	for _, key := range []string{"POST /slack/commands", "POST /slack/interactions"} {
		r, ok := routes[key]
		if !ok {
			t.Errorf("no route %s", key)
			continue
		}
		if r.props["AuthorizerId"] != nil || (r.props["AuthorizationType"] != nil && r.props["AuthorizationType"] != "NONE") {
			t.Errorf("%s has an authorizer; Slack's signature is checked in code: %s", key, js(r.props))
		}
	}
	if r, ok := routes["GET "+OpenAPIPath]; !ok {
		t.Errorf("no route GET %s", OpenAPIPath)
	} else if r.props["AuthorizerId"] != nil || (r.props["AuthorizationType"] != nil && r.props["AuthorizationType"] != "NONE") {
		t.Errorf("the OpenAPI document is public, yet its route has an authorizer: %s", js(r.props))
	}
	// The console's pages are public files; the API calls they make
	// carry the manager's token through the authorizer.
	for _, key := range []string{"GET /console", "GET /console/{proxy+}"} {
		r, ok := routes[key]
		if !ok {
			t.Errorf("no route %s", key)
		} else if r.props["AuthorizerId"] != nil {
			t.Errorf("%s needs no authorizer: %s", key, js(r.props))
		}
	}
	if len(routes) != 21 {
		t.Errorf("%d routes, want 21: %v", len(routes), slices.Sorted(func(yield func(string) bool) {
			for k := range routes {
				if !yield(k) {
					return
				}
			}
		}))
	}
	stage := one(t, "AWS::ApiGatewayV2::Stage")
	want(t, "throttle", get(stage.props, "DefaultRouteSettings"), map[string]any{"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50})
	if get(stage.props, "AccessLogSettings.DestinationArn") == nil {
		t.Error("the API stage has no access log")
	}
	// Every operation of the API's OpenAPI document has its route: behind
	// the authorizer, unless the document says it needs no token.
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if OpenAPIPath != httpapi.OpenAPIPath {
		t.Errorf("the stack routes %s, the API serves its document at %s", OpenAPIPath, httpapi.OpenAPIPath)
	}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				Security *[]any `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			key := strings.ToUpper(method) + " " + path
			r, ok := routes[key]
			switch public := op.Security != nil && len(*op.Security) == 0; {
			case !ok:
				t.Errorf("the OpenAPI document has %s, the stack has no such route", key)
			case public && r.props["AuthorizerId"] != nil:
				t.Errorf("%s needs no token in the OpenAPI document, the stack puts an authorizer on it", key)
			case !public && r.props["AuthorizationType"] != "JWT":
				t.Errorf("%s needs a token in the OpenAPI document, the stack's route has no authorizer", key)
			}
		}
	}
	api := one(t, "AWS::ApiGatewayV2::Api")
	want(t, "CORS origins", get(api.props, "CorsConfiguration.AllowOrigins"), []string{"https://app.ops.example.com", "http://localhost:3000"})
}

func TestUserPool(t *testing.T) {
	p := one(t, "AWS::Cognito::UserPool")
	want(t, "admin-only creation", get(p.props, "AdminCreateUserConfig.AllowAdminCreateUserOnly"), true)
	want(t, "sign in by email", p.props["UsernameAttributes"], []string{"email"})
	want(t, "password policy", get(p.props, "Policies.PasswordPolicy"), map[string]any{
		"MinimumLength": 12, "RequireLowercase": true, "RequireNumbers": true, "RequireSymbols": true, "RequireUppercase": true,
		"TemporaryPasswordValidityDays": 7})
	want(t, "recovery", get(p.props, "AccountRecoverySetting.RecoveryMechanisms"), []map[string]any{{"Name": "verified_email", "Priority": 1}})
	want(t, "deletion protection", p.props["DeletionProtection"], "ACTIVE")
	want(t, "deletion policy", p.raw["DeletionPolicy"], "Retain")
	post := functionsByName(t)["postauth"]
	want(t, "post-authentication trigger", get(p.props, "LambdaConfig.PostAuthentication"), map[string]any{"Fn::GetAtt": []string{post.id, "Arn"}})
	var custom any
	for _, a := range p.props["Schema"].([]any) {
		if get(a, "Name") == "opsos_user_id" {
			custom = a
		}
	}
	if get(custom, "Mutable") != true {
		t.Errorf("custom:opsos_user_id must exist and be mutable: %s", js(custom))
	}
	d := one(t, "AWS::Cognito::UserPoolDomain")
	want(t, "domain", d.props["Domain"], "opsos-example")
	want(t, "managed login", d.props["ManagedLoginVersion"], 2)
	one(t, "AWS::Cognito::ManagedLoginBranding")
	c := one(t, "AWS::Cognito::UserPoolClient")
	callbacks := asList(c.props["CallbackURLs"])
	want(t, "callback URLs", callbacks[:2], []string{"https://app.ops.example.com/auth/callback", "http://localhost:3000/auth/callback"})
	// The console signs managers in with the managed login and back out.
	if len(callbacks) != 3 || !strings.HasSuffix(js(callbacks[2]), `/console"]]}`) || !strings.Contains(js(asList(c.props["LogoutURLs"])), `/console"]]}`) {
		t.Errorf("the console's address is not a callback and sign-out URL: %s, %s", js(callbacks), js(c.props["LogoutURLs"]))
	}
	api := functionsByName(t)["api"]
	env := js(get(api.props, "Environment.Variables"))
	for _, v := range []string{"OPSOS_CONSOLE_COGNITO_DOMAIN", "OPSOS_CONSOLE_CLIENT_ID"} {
		if !strings.Contains(env, v) {
			t.Errorf("the API function is not told %s: %s", v, env)
		}
	}
	want(t, "OAuth flow", c.props["AllowedOAuthFlows"], []string{"code"})
	if slices.Contains(toStrings(c.props["WriteAttributes"]), "custom:opsos_user_id") || c.props["WriteAttributes"] == nil {
		t.Errorf("users must not be able to write their OpsOS user id: write attributes %s", js(c.props["WriteAttributes"]))
	}
	var groups []string
	for _, g := range resources(t, "AWS::Cognito::UserPoolGroup") {
		groups = append(groups, g.props["GroupName"].(string))
	}
	sort.Strings(groups)
	want(t, "role groups", groups, []string{"administrator", "operations-manager", "planner", "purchasing", "staff", "supervisor"})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// actionsByRole collects each role's allowed actions from its policies.
func actionsByRole(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range resources(t, "AWS::IAM::Policy") {
		for _, role := range asList(p.props["Roles"]) {
			id := get(role, "Ref").(string)
			for _, st := range asList(get(p.props, "PolicyDocument.Statement")) {
				out[id] = append(out[id], toStrings(get(st, "Action"))...)
			}
		}
	}
	for id := range out {
		slices.Sort(out[id])
		out[id] = slices.Compact(out[id])
	}
	return out
}

func TestNoWildcardActions(t *testing.T) {
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"} {
		for _, r := range resources(t, typ) {
			for _, doc := range []any{get(r.props, "PolicyDocument"), r.props["Policies"], get(r.props, "AssumeRolePolicyDocument")} {
				for _, st := range statements(doc) {
					if get(st, "Effect") == "Deny" {
						continue // a deny of "sqs:*" over plain HTTP takes nothing away from least privilege
					}
					for _, a := range toStrings(get(st, "Action")) {
						if strings.Contains(a, "*") {
							t.Errorf("%s %s allows %q", typ, r.id, a)
						}
					}
					if get(st, "NotAction") != nil {
						t.Errorf("%s %s uses NotAction", typ, r.id)
					}
				}
			}
			if len(asList(r.props["ManagedPolicyArns"])) > 0 {
				t.Errorf("%s %s attaches managed policies", typ, r.id)
			}
		}
	}
}

func statements(doc any) []any {
	var out []any
	for _, d := range asList(doc) {
		if pd := get(d, "PolicyDocument"); pd != nil {
			d = pd
		}
		out = append(out, asList(get(d, "Statement"))...)
	}
	return out
}

func TestLeastPrivilege(t *testing.T) {
	fs := functionsByName(t)
	byRole := actionsByRole(t)
	role := func(name string) []string { return byRole[get(fs[name].props, "Role.Fn::GetAtt").([]any)[0].(string)] }
	// Role writes add one to the roles' version: UpdateItem, in their
	// transactions.
	data := []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}
	claims := []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	secret := []string{"secretsmanager:GetSecretValue"}
	sorted := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	want(t, "api actions", role("api"), sorted(data, logs, []string{"cognito-idp:AdminGetUser"}))
	want(t, "slack actions", role("slack"), sorted(data, logs, secret, []string{"cognito-idp:AdminGetUser", "lambda:InvokeFunction"}))
	want(t, "postauth actions", role("postauth"), sorted(logs, []string{"dynamodb:GetItem", "dynamodb:PutItem"}))
	want(t, "release actions", role("release"), sorted(claims, logs, secret, ReleaseCognitoActions,
		[]string{"ses:SendEmail", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage",
			"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}))

	// Moving a login between groups lists its groups: the release worker
	// may, on the user pool only, and nobody else may.
	pool := one(t, "AWS::Cognito::UserPool").id
	granted := 0
	for _, p := range resources(t, "AWS::IAM::Policy") {
		for _, st := range statements(p.props["PolicyDocument"]) {
			if !slices.Contains(toStrings(get(st, "Action")), "cognito-idp:AdminListGroupsForUser") {
				continue
			}
			granted++
			if roles := js(p.props["Roles"]); roles != js([]any{map[string]any{"Ref": get(fs["release"].props, "Role.Fn::GetAtt").([]any)[0]}}) {
				t.Errorf("cognito-idp:AdminListGroupsForUser granted to %s, want the release role only", roles)
			}
			want(t, "cognito-idp:AdminListGroupsForUser resource", get(st, "Resource"), map[string]any{"Fn::GetAtt": []string{pool, "Arn"}})
		}
	}
	if granted != 1 {
		t.Errorf("cognito-idp:AdminListGroupsForUser is in %d statements, want 1 (the release worker's, on the pool)", granted)
	}

	// SES: only the configured identity.
	for _, p := range resources(t, "AWS::IAM::Policy") {
		for _, st := range statements(p.props["PolicyDocument"]) {
			if slices.Contains(toStrings(get(st, "Action")), "ses:SendEmail") {
				if r := js(get(st, "Resource")); !strings.Contains(r, ":identity/ops.example.com") || strings.Contains(r, "identity/*") {
					t.Errorf("ses:SendEmail on %s, want the identity ops.example.com only", r)
				}
			}
		}
	}
}

func TestAlarmsAndOutputs(t *testing.T) {
	alarms := resources(t, "AWS::CloudWatch::Alarm")
	var metrics []string
	for _, a := range alarms {
		metrics = append(metrics, a.props["MetricName"].(string))
		if len(asList(a.props["AlarmActions"])) != 1 {
			t.Errorf("alarm %s notifies nobody", a.id)
		}
	}
	sort.Strings(metrics)
	want(t, "alarm metrics", metrics, []string{"ApproximateNumberOfMessagesVisible", "Errors", "Errors", "Errors", "Errors", "IteratorAge"})
	sub := one(t, "AWS::SNS::Subscription")
	want(t, "alarm email", sub.props["Endpoint"], "oncall@ops.example.com")

	tpl, _ := synthesized()
	outputs := tpl["Outputs"].(map[string]any)
	for _, o := range []string{"ApiUrl", "SlackCommandsUrl", "SlackInteractionsUrl", "LoginUrl", "TableName", "SlackSecretArn"} {
		if outputs[o] == nil {
			t.Errorf("no output %s", o)
		}
	}
	if !strings.Contains(js(outputs["SlackCommandsUrl"]), "/slack/commands") {
		t.Errorf("SlackCommandsUrl = %s", js(outputs["SlackCommandsUrl"]))
	}
}

func TestNagFindsNothingUnsuppressed(t *testing.T) {
	_, findings := synthesized()
	for _, f := range findings {
		t.Error(f)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	cases := map[string]struct {
		ctx  map[string]string
		says string
	}{
		"no sender":         {map[string]string{}, "opsos:mailFrom"},
		"bad sender":        {map[string]string{"opsos:mailFrom": "not an address"}, "not an email address"},
		"plain http":        {map[string]string{"opsos:mailFrom": "a@b.example", "opsos:callbackUrls": "http://app.example.com/cb"}, "https://"},
		"bad prefix":        {map[string]string{"opsos:mailFrom": "a@b.example", "opsos:domainPrefix": "My_Pool"}, "opsos:domainPrefix"},
		"bad days":          {map[string]string{"opsos:mailFrom": "a@b.example", "opsos:tempPasswordDays": "400"}, "opsos:tempPasswordDays"},
		"bad retain":        {map[string]string{"opsos:mailFrom": "a@b.example", "opsos:retain": "sometimes"}, "opsos:retain"},
		"bad rate":          {map[string]string{"opsos:mailFrom": "a@b.example", "opsos:apiRateLimit": "0"}, "opsos:apiRateLimit"},
		"no workspace":      {map[string]string{"opsos:mailFrom": "a@b.example"}, "opsos:slackTeamId"},
		"bad workspace":     {map[string]string{"opsos:mailFrom": "a@b.example", "opsos:slackTeamId": "workspace"}, "opsos:slackTeamId"},
		"bad enterprise":    {map[string]string{"opsos:mailFrom": "a@b.example", "opsos:slackTeamId": "T01", "opsos:slackEnterpriseId": "T01"}, "opsos:slackEnterpriseId"},
		"env is a fallback": {nil, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			lookup := func(key, env string) string { return c.ctx[key] }
			if c.ctx == nil {
				lookup = func(key, env string) string {
					return map[string]string{"OPSOS_MAIL_FROM": "invites@ops.example.com", "OPSOS_RETAIN": "false", "OPSOS_SLACK_TEAM_ID": "T0123TEAM"}[env]
				}
			}
			cfg, err := ConfigFrom(lookup)
			if c.says == "" {
				if err != nil || cfg.SESIdentity != "ops.example.com" || cfg.Retain {
					t.Fatalf("%+v %v", cfg, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Errorf("%v, want an error naming %q", err, c.says)
			}
		})
	}
}

func TestMissingBuildIsExplained(t *testing.T) {
	cfg := Config{BuildDir: t.TempDir()}
	err := cfg.CheckBuild()
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), filepath.Join("release", "bootstrap")) {
		t.Errorf("%v, want the missing bootstraps and `make build`", err)
	}
}
