package local_test

// What the security battery (security_test.go) needs around a running
// local server: a client that keeps every answer, signed and unsigned
// Slack requests, a stand-in Slack Web API that keeps every request, the
// routes the API's router serves, and the scan for temporary passwords.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/opsos/onboarding/internal/local"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/store/embedded"
)

// evidence is everything the product said or wrote during a run, each
// piece named by where it came from.
type evidence struct {
	mu     sync.Mutex
	pieces []piece
}

type piece struct {
	where string
	data  []byte
}

// add keeps a copy of data; a nil evidence keeps nothing.
func (e *evidence) add(where string, data []byte) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pieces = append(e.pieces, piece{where: where, data: bytes.Clone(data)})
}

func (e *evidence) all() []piece {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.pieces)
}

// client calls the local server as a browser or curl would and keeps
// every answer's body in seen.
type client struct {
	t    *testing.T
	base string
	seen *evidence
}

// do sends a request with the Authorization header auth (none when empty).
func (c client) do(method, path, auth, body string, headers ...string) reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	c.seen.add(fmt.Sprintf("HTTP answer to %s %s (%d)", method, path, resp.StatusCode), raw)
	r := reply{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return r
}

// as calls the API with a bearer token.
func (c client) as(tok, method, path, body string, headers ...string) reply {
	c.t.Helper()
	return c.do(method, path, "Bearer "+tok, body, headers...)
}

// mustAs is as, failing the test unless the answer has status want.
func (c client) mustAs(want int, tok, method, path, body string, headers ...string) reply {
	c.t.Helper()
	r := c.as(tok, method, path, body, headers...)
	if r.status != want {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// create makes a user through the API as the administrator.
func (c client) create(first, last, email, role string) string {
	c.t.Helper()
	b, _ := json.Marshal(map[string]string{"firstName": first, "lastName": last, "email": email, "role": role})
	return c.mustAs(201, token, "POST", "/users", string(b)).body["id"].(string)
}

func (c client) userStatus(id string) any {
	c.t.Helper()
	return c.as(token, "GET", "/users/"+id, "").body["status"]
}

func (c client) waitStatus(id, want string) {
	c.t.Helper()
	waitFor(c.t, "user "+id+" "+want, func() bool { return c.userStatus(id) == want })
}

// passwords returns the temporary passwords emailed to, in order.
func passwords(m mailbox, to string) []string {
	var pws []string
	for _, msg := range m.Messages {
		if len(msg.To) == 1 && msg.To[0] == to {
			if pw := tempPassword.FindStringSubmatch(msg.Text); pw != nil {
				pws = append(pws, pw[1])
			}
		}
	}
	return pws
}

// waitMail waits for the n-th email to to and returns every temporary
// password emailed to them.
func (c client) waitMail(to string, n int) []string {
	c.t.Helper()
	var pws []string
	waitFor(c.t, fmt.Sprintf("email %d to %s", n, to), func() bool {
		pws = passwords(readMail(c.t, c.base), to)
		return len(pws) >= n
	})
	if len(pws) != n {
		c.t.Fatalf("%d temporary passwords emailed to %s, want %d", len(pws), to, n)
	}
	return pws
}

// auth posts to the local login.
func (c client) auth(path string, in map[string]string) (int, map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(in) // the password may hold " or \
	r := c.do("POST", path, "", string(b))
	return r.status, r.body
}

// signIn signs in for the first time with the temporary password, sets
// own, and returns the ID and access tokens.
func (c client) signIn(email, temporary, own string) (idToken, accessToken string) {
	c.t.Helper()
	code, ch := c.auth("/_local/auth/initiate", map[string]string{"email": email, "password": temporary})
	if code != 200 || ch["challengeName"] != "NEW_PASSWORD_REQUIRED" {
		c.t.Fatalf("sign in %s: %d %v", email, code, ch)
	}
	code, out := c.auth("/_local/auth/respond", map[string]string{"email": email, "session": ch["session"].(string), "newPassword": own})
	if code != 200 {
		c.t.Fatalf("new password for %s: %d %v", email, code, out)
	}
	tokens := out["tokens"].(map[string]any)
	return tokens["idToken"].(string), tokens["accessToken"].(string)
}

// catcher stands in for the response_urls Slack hands out and keeps what
// is posted to them.
type catcher struct {
	srv  *httptest.Server
	seen *evidence
	mu   sync.Mutex
	msgs []string
}

func newCatcher(t *testing.T, seen *evidence) *catcher {
	c := &catcher{seen: seen}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.seen.add("Slack response_url post "+r.URL.Path, b)
		c.mu.Lock()
		c.msgs = append(c.msgs, string(b))
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *catcher) url(name string) string { return c.srv.URL + "/" + name }

func (c *catcher) posts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// slackDoor sends what Slack sends to /slack/*.
type slackDoor struct {
	t       *testing.T
	base    string
	secret  string
	seen    *evidence
	replies *catcher
}

// Ways to sign a Slack request.
const (
	signed = iota
	unsigned
	wrongSecret
	stale
)

// post sends form to path, signed as how says, and returns the answer.
func (d slackDoor) post(path string, form url.Values, how int) (int, string) {
	d.t.Helper()
	body := form.Encode()
	req, err := http.NewRequest("POST", d.base+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if how != unsigned {
		secret, at := d.secret, time.Now()
		if how == wrongSecret {
			secret = "not-the-" + secret
		}
		if how == stale {
			at = at.Add(-10 * time.Minute)
		}
		ts, sig := slackops.Sign(secret, at, []byte(body))
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	d.seen.add(fmt.Sprintf("Slack answer to %s %q (%d)", path, form.Get("text"), resp.StatusCode), raw)
	return resp.StatusCode, string(raw)
}

// command sends /opsos-user text from the Slack user as.
func (d slackDoor) command(as, text string, how int) (int, string) {
	d.t.Helper()
	return d.post(slackops.PathCommands, url.Values{
		"command": {"/opsos-user"}, "text": {text}, "user_id": {as}, "user_name": {"someone"},
		"team_id": {local.SlackTeamID}, "channel_id": {"C0CHAN0001"}, "channel_name": {"ops"},
		"response_url": {d.replies.url("commands")}, "trigger_id": {"1.2.trigger"},
	}, how)
}

// interaction sends an interactivity payload.
func (d slackDoor) interaction(cb slack.InteractionCallback, how int) (int, string) {
	d.t.Helper()
	if cb.Team.ID == "" {
		cb.Team.ID = local.SlackTeamID // as Slack says where a click comes from
	}
	b, err := json.Marshal(cb)
	if err != nil {
		d.t.Fatal(err)
	}
	return d.post(slackops.PathInteractions, url.Values{"payload": {string(b)}}, how)
}

// slackAPI is the Slack Web API the server is given: slack-go's
// slacktest server, behind a proxy that keeps every request.
type slackAPI struct {
	srv  *httptest.Server
	seen *evidence
	mu   sync.Mutex
	reqs []slackCall
}

type slackCall struct {
	method string // chat.postMessage, users.info, …
	form   url.Values
}

func newSlackAPI(t *testing.T, seen *evidence) *slackAPI {
	fake := slacktest.NewTestServer()
	fake.Start()
	t.Cleanup(fake.Stop)
	target, err := url.Parse(fake.GetAPIURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	a := &slackAPI{seen: seen}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		method := strings.TrimPrefix(r.URL.Path, "/")
		a.seen.add("Slack API request "+method, b)
		form, err := url.ParseQuery(string(b))
		if err == nil {
			// Also the values as Slack reads them, undone of the form's escaping.
			for k, vs := range form {
				for _, v := range vs {
					a.seen.add("Slack API request "+method+" "+k, []byte(v))
				}
			}
		}
		a.mu.Lock()
		a.reqs = append(a.reqs, slackCall{method: method, form: form})
		a.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *slackAPI) requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reqs)
}

// posts returns the text of each chat.postMessage.
func (a *slackAPI) posts() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var texts []string
	for _, c := range a.reqs {
		if c.method == "chat.postMessage" {
			texts = append(texts, c.form.Get("text"))
		}
	}
	return texts
}

// routerRoutes returns the routes the API serves, "METHOD /users/{id}/…",
// read off the router: every path word its match function mentions is
// tried on the running server, in every place of a path, with a method
// no route has; a path the router knows answers 405 with the methods it
// takes. A literal where an id may stand ("/users/release") is a route of
// its own only for the methods the id's path does not take.
func routerRoutes(c client) map[string]bool {
	c.t.Helper()
	fset := gotoken.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "httpapi", "*.go"))
	if err != nil {
		c.t.Fatal(err)
	}
	word := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	var words []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "match" {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == gotoken.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && word.MatchString(s) && !slices.Contains(words, s) {
						words = append(words, s)
					}
				}
				return true
			})
		}
	}
	if len(words) < 2 {
		c.t.Fatalf("found no path words in httpapi's match function: %v", words)
	}
	allowed := func(path string) []string {
		r := c.as(token, "PROPFIND", path, "")
		if r.status != http.StatusMethodNotAllowed {
			return nil
		}
		var ms []string
		for m := range strings.SplitSeq(r.header.Get("Allow"), ",") {
			if m = strings.TrimSpace(m); m != "" {
				ms = append(ms, m)
			}
		}
		return ms
	}
	routes := map[string]bool{}
	add := func(template string, ms, except []string) {
		for _, m := range ms {
			if !slices.Contains(except, m) {
				routes[m+" "+template] = true
			}
		}
	}
	const probeID = "probe-0000"
	for _, a := range words {
		add("/"+a, allowed("/"+a), nil)
		byID := allowed("/" + a + "/" + probeID)
		add("/"+a+"/{id}", byID, nil)
		for _, b := range words {
			add("/"+a+"/"+b, allowed("/"+a+"/"+b), byID)
			add("/"+a+"/{id}/"+b, allowed("/"+a+"/"+probeID+"/"+b), nil)
		}
	}
	return routes
}

// documentedRoutes returns the routes of the README's API table.
func documentedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(GET|POST|PUT|PATCH|DELETE) (/[^` ]*)` \\|")
	routes := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		routes[m[1]+" "+m[2]] = true
	}
	if len(routes) == 0 {
		t.Fatal("the README has no API table")
	}
	return routes
}

func sortedSet(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// secretForms are the ways a secret can be written down: as it is,
// escaped for JSON, HTML, Slack text or a URL, hex, and base64 (every
// alphabet, every alignment of the secret in a longer encoded text).
func secretForms(pw string) map[string]string {
	forms := map[string]string{"as is": pw}
	js, _ := json.Marshal(pw)
	forms["JSON"] = string(js[1 : len(js)-1])
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(pw)
	forms["JSON unescaped HTML"] = strings.TrimSpace(b.String())[1 : len(strings.TrimSpace(b.String()))-1]
	forms["HTML"] = html.EscapeString(pw)
	forms["Slack text"] = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(pw)
	forms["URL query"] = url.QueryEscape(pw)
	forms["URL path"] = url.PathEscape(pw)
	forms["hex"] = hex.EncodeToString([]byte(pw))
	for k := range 3 {
		// k bytes before the secret shift its encoding; the groups that
		// hold only secret bytes are the same wherever it stands.
		shifted := append(make([]byte, k), pw...)
		whole := len(shifted) / 3 * 4
		from := 0
		if k > 0 {
			from = 4
		}
		for name, e := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding} {
			forms[fmt.Sprintf("%s+%d", name, k)] = e.EncodeToString(shifted)[from:whole]
		}
	}
	return forms
}

// occurrences returns where each secret shows in the pieces, in any of its
// forms, without writing the secret itself.
func occurrences(secrets map[string]string, pieces []piece) []string {
	var found []string
	for label, pw := range secrets {
		for form, s := range secretForms(pw) {
			for _, p := range pieces {
				if i := bytes.Index(p.data, []byte(s)); i >= 0 {
					lo, hi := max(0, i-40), min(len(p.data), i+len(s)+40)
					ctx := strings.ReplaceAll(string(p.data[lo:hi]), s, "«"+label+"»")
					found = append(found, fmt.Sprintf("%s (%s) in %s at byte %d: …%q…", label, form, p.where, i, ctx))
				}
			}
		}
	}
	sort.Strings(found)
	return found
}

// dataFiles returns every file under dir but those under skip.
func dataFiles(t *testing.T, dir, skip string) []piece {
	t.Helper()
	var files []piece
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == skip {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, piece{where: "file " + path, data: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// embeddedFeed returns the records still in the embedded store's change
// feed; the pump trims those the release worker has finished.
func embeddedFeed(t *testing.T, path string) []piece {
	t.Helper()
	st, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var recs []piece
	for after := uint64(0); ; {
		ev, last, err := st.ReadFeed(context.Background(), after, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Records) == 0 {
			return recs
		}
		for _, r := range ev.Records {
			b, _ := json.Marshal(r)
			recs = append(recs, piece{where: "change feed record " + r.EventID, data: b})
		}
		after = last
	}
}

// dynamoItems returns every item of the table, as JSON.
func dynamoItems(t *testing.T, endpoint, table string) []piece {
	t.Helper()
	db := dynamo.NewLocalClient(endpoint)
	in := &dynamodb.ScanInput{TableName: &table}
	var items []piece
	for {
		out, err := db.Scan(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			b, _ := json.Marshal(it)
			items = append(items, piece{where: "DynamoDB item of " + table, data: b})
		}
		if in.ExclusiveStartKey = out.LastEvaluatedKey; in.ExclusiveStartKey == nil {
			return items
		}
	}
}

// dynamoStream returns every record of the table's stream, from the
// start of each shard: what the release worker was given.
func dynamoStream(t *testing.T, endpoint, table string) []piece {
	t.Helper()
	ctx := context.Background()
	d, err := dynamo.NewLocalClient(endpoint).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.LatestStreamArn == nil {
		t.Fatalf("table %s has no stream", table)
	}
	streams := dynamostream.NewLocalClient(endpoint)
	var recs []piece
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: d.Table.LatestStreamArn}
	for {
		ds, err := streams.DescribeStream(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range ds.StreamDescription.Shards {
			it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn: in.StreamArn, ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			for iter := it.ShardIterator; iter != nil; {
				out, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range out.Records {
					b, _ := json.Marshal(r)
					recs = append(recs, piece{where: "DynamoDB stream record " + *r.EventID, data: b})
				}
				if len(out.Records) == 0 {
					break // the open end of the shard
				}
				iter = out.NextShardIterator
			}
		}
		if in.ExclusiveStartShardId = ds.StreamDescription.LastEvaluatedShardId; in.ExclusiveStartShardId == nil {
			return recs
		}
	}
}

// TestScanFindsEveryForm keeps the scan honest: a password written into
// a longer text, in any of the ways the product could write it, is found.
func TestScanFindsEveryForm(t *testing.T) {
	pw := `Ab1"\<&>'x+/=?~%é`
	for k := range 3 {
		text := strings.Repeat("q", k) + pw + " tail"
		js, _ := json.Marshal(text)
		written := map[string]string{
			"as is": text, "JSON": string(js), "HTML": html.EscapeString(text), "URL query": url.QueryEscape(text),
			"URL path": url.PathEscape(text), "hex": hex.EncodeToString([]byte(text)),
			"base64": base64.StdEncoding.EncodeToString([]byte(text)), "base64url": base64.RawURLEncoding.EncodeToString([]byte(text)),
		}
		for how, s := range written {
			if len(occurrences(map[string]string{"pw": pw}, []piece{{where: how, data: []byte(s)}})) == 0 {
				t.Errorf("the scan misses the password written %s after %d bytes: %s", how, k, s)
			}
		}
	}
	if got := occurrences(map[string]string{"pw": pw}, []piece{{where: "clean", data: []byte("Ab1 nothing here")}}); len(got) != 0 {
		t.Errorf("found in a clean text: %v", got)
	}
}
