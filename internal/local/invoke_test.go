package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/local"
)

var functions = []string{local.FunctionAPI, local.FunctionSlack, local.FunctionRelease, local.FunctionPostAuth}

// sampleID is the user the samples name; the README shows how to put a
// user of one's own in its place.
const sampleID = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

// answer is what a Lambda handler answers: an API Gateway response, a
// stream batch response, or the Cognito event handed back.
type answer struct {
	StatusCode        int             `json:"statusCode"`
	Body              string          `json:"body"`
	BatchItemFailures json.RawMessage `json:"batchItemFailures"`
	TriggerSource     string          `json:"triggerSource"`
}

// sampleAnswers is what each file in events/ answers on fresh local data,
// as the README's "Sample events and `make invoke`" section tells it.
var sampleAnswers = map[string]struct {
	function string
	check    func(t *testing.T, a answer)
}{
	"api/create-user.json": {local.FunctionAPI, status(201, `"status":"introduction"`)},
	"api/list-users.json":  {local.FunctionAPI, status(200, `"items":[]`)},
	// These two name the sample user, who is not in fresh data.
	"api/patch-user.json":   {local.FunctionAPI, status(404, "user not found")},
	"api/release-user.json": {local.FunctionAPI, status(404, "user not found")},
	"api/list-roles.json":   {local.FunctionAPI, status(200, `"id":"administrator"`)},
	"api/create-role.json":  {local.FunctionAPI, status(201, `"id":"night-supervisor"`)},
	// These name the sample role, which create-role.json makes.
	"api/get-role.json":         {local.FunctionAPI, status(404, "role not found")},
	"api/patch-role.json":       {local.FunctionAPI, status(404, "role not found")},
	"api/delete-role.json":      {local.FunctionAPI, status(404, "role not found")},
	"api/role-history.json":     {local.FunctionAPI, status(404, "role not found")},
	"slack/command-create.json": {local.FunctionSlack, status(200, "User created: Ada Lovelace")},
	// A form accepted: Slack closes it on an empty 200.
	"slack/interaction-create.json": {local.FunctionSlack, status(200, "")},
	// The sample user is not there to invite: nothing to retry.
	"stream/release.json": {local.FunctionRelease, func(t *testing.T, a answer) {
		if f := string(a.BatchItemFailures); f != "null" && f != "[]" {
			t.Errorf("batchItemFailures = %s, want none", f)
		}
	}},
	// The trigger hands the event back, or Cognito refuses the sign-in.
	"cognito/post-authentication.json": {local.FunctionPostAuth, func(t *testing.T, a answer) {
		if a.TriggerSource != "PostAuthentication_Authentication" {
			t.Errorf("the trigger did not hand the event back: %+v", a)
		}
	}},
}

func status(code int, body string) func(*testing.T, answer) {
	return func(t *testing.T, a answer) {
		t.Helper()
		if a.StatusCode != code || !strings.Contains(a.Body, body) {
			t.Errorf("answer %d %s, want %d with %q", a.StatusCode, a.Body, code, body)
		}
	}
}

func invokeConfig(t *testing.T, extra []string) local.Config {
	return config(t, t.TempDir(), append([]string{"OPSOS_SLACK_SIGNING_SECRET", "choose-a-long-secret",
		"OPSOS_ADMIN_SLACK_ID", "UADMIN0001"}, extra...)...)
}

func invoke(t *testing.T, cfg local.Config, function, file string) (answer, string, error) {
	t.Helper()
	var out, notes bytes.Buffer
	err := local.Invoke(context.Background(), cfg, function, file, &out, &notes)
	var a answer
	if err == nil {
		if jerr := json.Unmarshal(out.Bytes(), &a); jerr != nil {
			t.Fatalf("the answer is not JSON: %v\n%s", jerr, out.String())
		}
	}
	return a, notes.String(), err
}

// TestInvokeSamples feeds every file in events/ to every function, as
// `make invoke FUNCTION=… EVENT=…` does: its own function answers as the
// README says, and every other refuses it, naming its own.
func TestInvokeSamples(t *testing.T) {
	root := filepath.Join("..", "..", "events")
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, file := range files {
		name := filepath.ToSlash(strings.TrimPrefix(file, root+string(filepath.Separator)))
		want, ok := sampleAnswers[name]
		if !ok {
			t.Errorf("events/%s has no expected answer here: add it, and to the README", name)
			continue
		}
		have[want.function] = true
		for _, fn := range functions {
			if fn == want.function {
				continue
			}
			t.Run(name+"/to-"+fn, func(t *testing.T) {
				_, _, err := invoke(t, invokeConfig(t, nil), fn, file)
				if err == nil {
					t.Fatalf("the %s function took %s", fn, name)
				}
				for _, s := range []string{"which the " + want.function + " function takes, not the " + fn + " function",
					"make invoke FUNCTION=" + want.function + " EVENT=" + file} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("refusal %q does not say %q", err, s)
					}
				}
			})
		}
		for store := range stores(t) {
			for _, fn := range []string{want.function, ""} {
				t.Run(name+"/"+store+"/to-"+or(fn, "inferred"), func(t *testing.T) {
					// Fresh data each time (a new table, too): the same
					// Slack sample signed twice in one second is a replay.
					a, notes, err := invoke(t, invokeConfig(t, stores(t)[store]), fn, file)
					if err != nil {
						t.Fatal(err)
					}
					want.check(t, a)
					if fn == "" && !strings.Contains(notes, "invoking the "+want.function+" function") {
						t.Errorf("notes %q do not say which function ran", notes)
					}
				})
			}
		}
	}
	for _, fn := range functions {
		if !have[fn] {
			t.Errorf("events/ has no sample for the %s function", fn)
		}
	}
}

func or(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}

// TestInvokeRefusesShapes covers the shapes events/ has no file of.
func TestInvokeRefusesShapes(t *testing.T) {
	for _, c := range []struct {
		name, function, event string
		want                  []string
	}{
		{"slack job to api", local.FunctionAPI, `{"opsosSlackJob":{"text":"status ada@example.com","slackUserId":"UADMIN0001"}}`,
			[]string{"the Slack function's deferred command, which the slack function takes, not the api function"}},
		{"sqs", "", `{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}`,
			[]string{"no function takes an event of its shape", `Records[].eventSource "aws:dynamodb"; release`}},
		{"other trigger", local.FunctionPostAuth, `{"triggerSource":"PreSignUp_SignUp","request":{}}`,
			[]string{"a Cognito PreSignUp_SignUp trigger, which no function takes", `"PostAuthentication_Authentication"; postauth`}},
		{"api v1", "", `{"version":"1.0","httpMethod":"GET","path":"/users","requestContext":{}}`,
			[]string{"no function takes an event of its shape", `"version": "2.0" and requestContext.http`}},
		{"not json", "", `Records`, []string{"not a JSON object"}},
		{"no such function", "worker", `{"version":"2.0","requestContext":{"http":{"method":"GET","path":"/users"}}}`,
			[]string{`there is no function "worker"`, "api, slack, release or postauth"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "event.json")
			if err := os.WriteFile(file, []byte(c.event), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := invoke(t, invokeConfig(t, nil), c.function, file)
			if err == nil {
				t.Fatal("taken")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}
}

// TestInvokeReleaseWalkthrough follows the README: the samples, with the
// sample user's id replaced by that of the user create-user.json made,
// release, invite and activate that user.
func TestInvokeReleaseWalkthrough(t *testing.T) {
	for store, extra := range stores(t) {
		t.Run(store, func(t *testing.T) {
			cfg := invokeConfig(t, extra)
			a, _, err := invoke(t, cfg, "", filepath.Join("..", "..", "events", "api", "create-user.json"))
			if err != nil || a.StatusCode != 201 {
				t.Fatalf("create: %+v %v", a, err)
			}
			var created struct{ ID string }
			if err := json.Unmarshal([]byte(a.Body), &created); err != nil {
				t.Fatal(err)
			}
			mine := func(sample string) string {
				raw, err := os.ReadFile(filepath.Join("..", "..", "events", sample))
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(t.TempDir(), filepath.Base(sample))
				if err := os.WriteFile(file, bytes.ReplaceAll(raw, []byte(sampleID), []byte(created.ID)), 0o600); err != nil {
					t.Fatal(err)
				}
				return file
			}
			if a, _, err := invoke(t, cfg, "", mine("api/release-user.json")); err != nil || a.StatusCode != 202 {
				t.Fatalf("release: %+v %v", a, err)
			}
			if a, _, err := invoke(t, cfg, "", mine("stream/release.json")); err != nil || !slices.Contains([]string{"null", "[]"}, string(a.BatchItemFailures)) {
				t.Fatalf("stream: %+v %v", a, err)
			}
			mail, _ := os.ReadDir(filepath.Join(cfg.App.DataDir, "mail"))
			if len(mail) != 1 {
				t.Errorf("the mailbox holds %d emails, want the invitation", len(mail))
			}
			if _, _, err := invoke(t, cfg, "", mine("cognito/post-authentication.json")); err != nil {
				t.Fatal(err)
			}
			// GET /users/{id}: the release sample, asking instead.
			get := mine("api/release-user.json")
			raw, _ := os.ReadFile(get)
			raw = bytes.ReplaceAll(raw, []byte(`"method": "POST"`), []byte(`"method": "GET"`))
			raw = bytes.ReplaceAll(raw, []byte(created.ID+`/release"`), []byte(created.ID+`"`))
			if err := os.WriteFile(get, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			if a, _, err := invoke(t, cfg, "", get); err != nil || !strings.Contains(a.Body, `"status":"active"`) {
				t.Errorf("after the first sign-in: %+v %v, want active", a, err)
			}
		})
	}
}
