package local_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/opsos/onboarding/internal/store/dynamo"
)

type mailbox struct {
	Messages []struct {
		ID      string   `json:"id"`
		To      []string `json:"to"`
		Subject string   `json:"subject"`
		Text    string   `json:"text"`
		HTML    string   `json:"html"`
	} `json:"messages"`
}

func readMail(t *testing.T, base string) mailbox {
	t.Helper()
	resp, err := http.Get(base + "/_local/mail.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m mailbox
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds, within a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var tempPassword = regexp.MustCompile(`(?m)^\s*Temporary password:\s*(\S+)\s*$`)

// TestReleaseEndToEnd is the help page's promise in local mode: release,
// one email with a temporary password that works once and forces a new
// password; then hold and release again.
func TestReleaseEndToEnd(t *testing.T) {
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, _, logs := startLogged(t, config(t, dir, env...))
			defer stop(t, s)
			base := "http://" + s.Addr()

			c := call(t, s, "POST", "/users", token, `{"firstName":"Priya","lastName":"Shah","email":"priya@example.com","role":"staff"}`)
			id := c.body["id"].(string)
			st := call(t, s, "GET", "/users/"+id+"/status", token, "")
			if !strings.Contains(st.body["summary"].(string), "Introduction Mode") {
				t.Errorf("status before release: %v", st.body)
			}
			if r := call(t, s, "POST", "/users/"+id+"/release", token, ""); r.status != 202 {
				t.Fatalf("release: %d", r.status)
			}
			waitFor(t, "status invited", func() bool {
				return call(t, s, "GET", "/users/"+id, token, "").body["status"] == "invited"
			})
			m := readMail(t, base)
			if len(m.Messages) != 1 || m.Messages[0].To[0] != "priya@example.com" {
				t.Fatalf("mailbox: %+v", m)
			}
			pw := tempPassword.FindStringSubmatch(m.Messages[0].Text)
			if pw == nil {
				t.Fatalf("no temporary password in %q", m.Messages[0].Text)
			}
			if !strings.Contains(m.Messages[0].Text, base+"/_local/login") {
				t.Errorf("no login link in the email")
			}

			auth := func(path, body string) (int, map[string]any) {
				resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out map[string]any
				json.NewDecoder(resp.Body).Decode(&out)
				return resp.StatusCode, out
			}
			code, ch := auth("/_local/auth/initiate", `{"email":"priya@example.com","password":"`+pw[1]+`"}`)
			if code != 200 || ch["challengeName"] != "NEW_PASSWORD_REQUIRED" {
				t.Fatalf("initiate: %d %v", code, ch)
			}
			session := ch["session"].(string)
			if code, out := auth("/_local/auth/respond", `{"email":"priya@example.com","session":"`+session+`","newPassword":"short"}`); code != 400 || !strings.Contains(out["message"].(string), "12") {
				t.Errorf("weak password: %d %v", code, out)
			}
			code, out := auth("/_local/auth/respond", `{"email":"priya@example.com","session":"`+session+`","newPassword":"Priya-Own-Pass-1"}`)
			if code != 200 {
				t.Fatalf("respond: %d %v", code, out)
			}
			idToken := out["tokens"].(map[string]any)["idToken"].(string)
			waitFor(t, "status active", func() bool {
				return call(t, s, "GET", "/users/"+id, token, "").body["status"] == "active"
			})
			// The token is accepted by the API; a staff member may not manage users.
			if r := call(t, s, "GET", "/users", idToken, ""); r.status != 403 {
				t.Errorf("the local login's token: %d, want 403", r.status)
			}
			if code, _ := auth("/_local/auth/initiate", `{"email":"priya@example.com","password":"`+pw[1]+`"}`); code != 401 {
				t.Errorf("the temporary password worked twice: %d", code)
			}

			call(t, s, "POST", "/users/"+id+"/hold", token, "")
			waitFor(t, "sign-in refused", func() bool {
				code, _ := auth("/_local/auth/initiate", `{"email":"priya@example.com","password":"Priya-Own-Pass-1"}`)
				return code == 403
			})
			if r := call(t, s, "GET", "/users/"+id+"/status", token, ""); r.body["status"] != "suspended" {
				t.Errorf("after hold: %v", r.body)
			}
			call(t, s, "POST", "/users/"+id+"/release", token, "")
			waitFor(t, "active again", func() bool {
				return call(t, s, "GET", "/users/"+id, token, "").body["status"] == "active"
			})
			if code, out := auth("/_local/auth/initiate", `{"email":"priya@example.com","password":"Priya-Own-Pass-1"}`); code != 200 || out["tokens"] == nil {
				t.Errorf("own password after re-enable: %d %v", code, out)
			}
			if n := len(readMail(t, base).Messages); n != 1 {
				t.Errorf("%d emails, want 1", n)
			}

			// The temporary password rests only in the mailbox.
			filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
				if err != nil || info.IsDir() || strings.HasPrefix(path, filepath.Join(dir, "mail")) {
					return nil
				}
				b, _ := os.ReadFile(path)
				if strings.Contains(string(b), pw[1]) {
					t.Errorf("temporary password found in %s", path)
				}
				return nil
			})
			if strings.Contains(logs.String(), pw[1]) {
				t.Error("temporary password in the logs")
			}
			if len(env) == 4 { // and nowhere in the DynamoDB table
				db := dynamo.NewLocalClient(env[1])
				in := &dynamodb.ScanInput{TableName: &env[3]}
				items := 0
				for {
					out, err := db.Scan(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					items += len(out.Items)
					js, _ := json.Marshal(out.Items)
					if strings.Contains(string(js), pw[1]) || !strings.Contains(string(js), "priya@example.com") && items == len(out.Items) {
						t.Errorf("table scan: password found, or the table is not the one written")
					}
					if in.ExclusiveStartKey = out.LastEvaluatedKey; in.ExclusiveStartKey == nil {
						break
					}
				}
			}
			page, err := http.Get(base + "/_local/login")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(page.Body)
			page.Body.Close()
			if page.StatusCode != 200 || !strings.Contains(string(body), "Sign in to OpsOS") {
				t.Errorf("login page: %d", page.StatusCode)
			}
		})
	}
}
