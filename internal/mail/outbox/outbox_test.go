package outbox_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/mail/mailtest"
	"github.com/opsos/onboarding/internal/mail/outbox"
	"github.com/opsos/onboarding/internal/release"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func open(t *testing.T, dir string, c *clock) *outbox.Outbox {
	t.Helper()
	o, err := outbox.Open(dir, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestContract(t *testing.T) {
	mailtest.Run(t, func(t *testing.T) mailtest.Harness {
		o := open(t, filepath.Join(t.TempDir(), "mail"), newClock())
		return mailtest.Harness{Mailer: o, Delivered: func(t *testing.T) []release.Message {
			t.Helper()
			stored, err := o.List()
			if err != nil {
				t.Fatal(err)
			}
			var out []release.Message
			for _, s := range stored {
				for _, to := range s.To {
					out = append(out, release.Message{To: to, Subject: s.Subject, Text: s.Text, HTML: s.HTML})
				}
			}
			return out
		}}
	})
}

func msg(to, subject string) release.Message {
	return release.Message{To: to, Subject: subject, Text: "Temporary password: Kq7m+Zp3&xWt9", HTML: "<p>Temporary password: <code>Kq7m+Zp3&amp;xWt9</code></p>"}
}

func TestFilesAreForTheOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	if err := os.Mkdir(dir, 0o755); err != nil { // as someone may have made it
		t.Fatal(err)
	}
	o := open(t, dir, newClock())
	id, err := o.Send(context.Background(), msg("ann@example.com", "Hello"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mail folder mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	// One file per message, named by its id, and no temporary file left.
	if want := []string{id + ".json"}; !slices.Equal(names, want) {
		t.Errorf("folder holds %q, want %q", names, want)
	}
}

func TestFileShape(t *testing.T) {
	dir := t.TempDir()
	o := open(t, dir, newClock())
	id, err := o.Send(context.Background(), msg("ann@example.com", "Hello"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": id, "from": outbox.From, "to": []any{"ann@example.com"}, "subject": "Hello",
		"text": "Temporary password: Kq7m+Zp3&xWt9", "html": "<p>Temporary password: <code>Kq7m+Zp3&amp;xWt9</code></p>",
		"sentAt": "2026-11-27T09:00:00Z",
	}
	if len(got) != len(want) {
		t.Errorf("fields %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(t, v) {
			t.Errorf("%s = %s, want %s", k, g, mustJSON(t, v))
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestListNewestFirstAcrossRestarts(t *testing.T) {
	dir, c := t.TempDir(), newClock()
	o := open(t, dir, c)
	ctx := context.Background()
	send := func(o *outbox.Outbox, subject string) {
		t.Helper()
		if _, err := o.Send(ctx, msg("ann@example.com", subject)); err != nil {
			t.Fatal(err)
		}
	}
	send(o, "one")
	c.advance(time.Minute)
	send(o, "two")
	send(o, "three") // same instant as two: the order of sending decides
	// A restart with a clock that went back must not put new mail under
	// the old, nor reuse an id.
	c.advance(-time.Hour)
	o2 := open(t, dir, c)
	c.advance(time.Hour)
	send(o2, "four")

	got, err := o2.List()
	if err != nil {
		t.Fatal(err)
	}
	var subjects, ids []string
	for _, s := range got {
		subjects, ids = append(subjects, s.Subject), append(ids, s.ID)
	}
	if want := []string{"four", "three", "two", "one"}; !slices.Equal(subjects, want) {
		t.Errorf("listed %q, want %q", subjects, want)
	}
	if slices.Sort(ids); len(slices.Compact(ids)) != 4 {
		t.Errorf("ids repeat: %q", ids)
	}
	if got[0].SentAt != c.now() {
		t.Errorf("sentAt %v, want the clock's %v", got[0].SentAt, c.now())
	}
}

func TestRejectDomainRefusedAndNothingKept(t *testing.T) {
	dir := t.TempDir()
	o := open(t, dir, newClock())
	for _, to := range []string{"anyone@reject.invalid", "Someone@REJECT.Invalid", "x@mx.reject.invalid"} {
		_, err := o.Send(context.Background(), msg(to, "Hello"))
		reason, ok := release.IsPermanent(err)
		if !ok || reason != "the email address was rejected by the mail service" {
			t.Errorf("send to %s: %v (reason %q), want permanent rejection", to, err, reason)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused mail left files: %v", entries)
	}
	// Only that domain: a look-alike is delivered.
	if _, err := o.Send(context.Background(), msg("anyone@reject.invalid.example.com", "Hello")); err != nil {
		t.Errorf("send to a look-alike domain: %v", err)
	}
}

func TestOpenFailsOnAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "mail")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Open(f, newClock().now); err == nil {
		t.Error("opened a file as the mailbox")
	}
}

func server(t *testing.T, o *outbox.Outbox) *httptest.Server {
	t.Helper()
	h := o.Handler(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	// As local mode mounts it.
	mux.Handle(outbox.PagePath, h)
	mux.Handle(outbox.JSONPath, h)
	mux.Handle("GET "+outbox.BodyPrefix, h)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestJSONHandler(t *testing.T) {
	c := newClock()
	o := open(t, t.TempDir(), c)
	s := server(t, o)

	resp, body := get(t, s.URL+"/_local/mail.json")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != `{"messages":[]}` {
		t.Errorf("empty mailbox: %d %s", resp.StatusCode, body)
	}

	ctx := context.Background()
	first, _ := o.Send(ctx, msg("ann@example.com", "First"))
	c.advance(time.Second)
	second, _ := o.Send(ctx, msg("bob@example.com", "Second"))

	resp, body = get(t, s.URL+"/_local/mail.json")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store: the mail holds passwords", cc)
	}
	var got struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || got.Messages[0]["id"] != second || got.Messages[1]["id"] != first {
		t.Fatalf("messages not newest first: %s", body)
	}
	m := got.Messages[0]
	for _, k := range []string{"id", "from", "to", "subject", "text", "html", "sentAt"} {
		if _, ok := m[k]; !ok {
			t.Errorf("message lacks %q: %v", k, m)
		}
	}
	if m["sentAt"] != "2026-11-27T09:00:01Z" || mustJSON(t, m["to"]) != `["bob@example.com"]` || m["subject"] != "Second" {
		t.Errorf("message %v", m)
	}
}

func TestPageHandler(t *testing.T) {
	c := newClock()
	o := open(t, t.TempDir(), c)
	s := server(t, o)

	resp, body := get(t, s.URL+"/_local/mail")
	if resp.StatusCode != 200 || !strings.Contains(body, "No mail yet") {
		t.Errorf("empty mailbox page: %d\n%s", resp.StatusCode, body)
	}

	ctx := context.Background()
	annID, err := o.Send(ctx, release.Message{
		To: "ann@example.com", Subject: `<script>alert("s")</script> invited you`,
		Text: "Password: <b>Kq7m</b>", HTML: `<p onclick="x()">Hello &amp; welcome</p><script>alert(1)</script>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	if _, err := o.Send(ctx, msg("bob@example.com", "Newer")); err != nil {
		t.Fatal(err)
	}

	resp, body = get(t, s.URL+"/_local/mail")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	h := resp.Header
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("headers %v", h)
	}
	if strings.Contains(body, "<script") {
		t.Errorf("page holds a live script tag:\n%s", body)
	}
	for _, want := range []string{
		`&lt;script&gt;alert(&#34;s&#34;)&lt;/script&gt; invited you`, // the subject, escaped
		"ann@example.com", "Friday 27 November 2026 at 09:00:00 UTC", // to, time
		"Password: &lt;b&gt;Kq7m&lt;/b&gt;", // the text part, escaped
		// the HTML part as an inert, sandboxed document of its own
		`sandbox="allow-popups allow-popups-to-escape-sandbox"`,
		`src="` + outbox.BodyPath(annID) + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Index(body, "Newer") > strings.Index(body, "invited you") {
		t.Error("page is not newest first")
	}
	if strings.Count(body, "<iframe ") != 2 || strings.Count(body, ` sandbox="`) != 2 {
		t.Errorf("want one sandboxed iframe per message:\n%s", body)
	}
}

// TestBodyHandler: each message's HTML body is served on its own, as
// sent, under a policy that lets only the mailbox page frame it and lets
// it run nothing; the page itself stays unframeable.
func TestBodyHandler(t *testing.T) {
	o := open(t, t.TempDir(), newClock())
	s := server(t, o)
	ctx := context.Background()
	const html = `<p onclick="x()">Hello &amp; welcome</p><script>alert(1)</script>`
	id, err := o.Send(ctx, release.Message{To: "ann@example.com", Subject: "Hi", Text: "Hello", HTML: html})
	if err != nil {
		t.Fatal(err)
	}
	textOnly, err := o.Send(ctx, release.Message{To: "bob@example.com", Subject: "Plain", Text: "Hello"})
	if err != nil {
		t.Fatal(err)
	}

	resp, body := get(t, s.URL+outbox.BodyPath(id))
	if resp.StatusCode != 200 || body != html {
		t.Fatalf("body: %d %q", resp.StatusCode, body)
	}
	h := resp.Header
	for k, want := range map[string]string{
		"Content-Type": "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; " +
			"frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox",
		"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "SAMEORIGIN",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
	page, _ := get(t, s.URL+outbox.PagePath)
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "frame-src 'self'") {
		t.Errorf("page policy %q", csp)
	}

	for _, p := range []string{
		outbox.BodyPath(textOnly),                            // no HTML part
		outbox.BodyPath("20261127T090000.000000000Z-999999"), // no such message
		outbox.BodyPrefix + id,                               // not .html
		outbox.BodyPrefix + id + ".json",
		outbox.BodyPrefix + "..%2F" + id + ".html",
	} {
		if resp, body := get(t, s.URL+p); resp.StatusCode != 404 || strings.Contains(body, "Hello") {
			t.Errorf("GET %s: %d %q", p, resp.StatusCode, body)
		}
	}
}

func TestHandlerAnswersGETOnly(t *testing.T) {
	s := server(t, open(t, t.TempDir(), newClock()))
	resp, err := http.Post(s.URL+"/_local/mail.json", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST answered %d, want 405", resp.StatusCode)
	}
}

func TestUnreadableMailboxIs500(t *testing.T) {
	dir := t.TempDir()
	o := open(t, dir, newClock())
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := server(t, o)
	for _, p := range []string{"/_local/mail", "/_local/mail.json"} {
		if resp, _ := get(t, s.URL+p); resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s answered %d, want 500", p, resp.StatusCode)
		}
	}
}
