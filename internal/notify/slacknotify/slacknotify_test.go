package slacknotify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/opsos/onboarding/internal/notify/slacknotify"
	"github.com/opsos/onboarding/internal/release"
)

// recorder is the Slack client's HTTP client: it keeps each API call's
// form, then hands the request on to the slacktest server, whose
// chat.postMessage handler checks that the blocks decode.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	method string // e.g. chat.postMessage
	form   url.Values
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.calls = append(r.calls, call{method: strings.TrimPrefix(req.URL.Path, "/"), form: form})
	r.mu.Unlock()
	return http.DefaultClient.Do(req)
}

func (r *recorder) last(t *testing.T) call {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("nothing was posted")
	}
	return r.calls[len(r.calls)-1]
}

// newNotifier starts a slacktest server and returns a notifier posting to
// channel C0RELEASES on it.
func newNotifier(t *testing.T, binders ...slacktest.Binder) (*slacknotify.Notifier, *recorder) {
	t.Helper()
	srv := slacktest.NewTestServer(binders...)
	srv.Start()
	t.Cleanup(srv.Stop)
	rec := &recorder{}
	client := slack.New("xoxb-test-token", slack.OptionAPIURL(srv.GetAPIURL()), slack.OptionHTTPClient(rec))
	roles := map[string]string{"supervisor": "Supervisor"}
	return slacknotify.New(client, "C0RELEASES", slacknotify.WithRoleNames(func(id string) string { return roles[id] })), rec
}

// blockTexts returns the texts of the posted blocks, in order.
func blockTexts(t *testing.T, raw string) []string {
	t.Helper()
	var blocks slack.Blocks
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		t.Fatalf("blocks %s: %v", raw, err)
	}
	var texts []string
	for _, b := range blocks.BlockSet {
		switch b := b.(type) {
		case *slack.SectionBlock:
			texts = append(texts, b.Text.Text)
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if o, ok := e.(*slack.TextBlockObject); ok {
					texts = append(texts, o.Text)
				}
			}
		default:
			t.Errorf("unexpected block %T", b)
		}
	}
	return texts
}

var ada = release.Notice{UserID: "u-0042", FullName: "Ada Lovelace", Email: "ada@example.com", Role: "supervisor",
	By: "manager@example.com", At: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}

func notice(kind release.NoticeKind, edit func(*release.Notice)) release.Notice {
	n := ada
	n.Kind = kind
	if edit != nil {
		edit(&n)
	}
	return n
}

func TestNoticesArePostedToTheChannel(t *testing.T) {
	tests := []struct {
		name      string
		notice    release.Notice
		text      string // the whole fallback
		blockLine string // the section block
	}{
		{"invited", notice(release.NoticeInvited, nil),
			"✅ Invitation sent to Ada Lovelace (ada@example.com), Supervisor — released by manager@example.com.",
			"✅ Invitation sent to *Ada Lovelace* (ada@example.com), Supervisor — released by manager@example.com."},
		{"resent", notice(release.NoticeInvited, func(n *release.Notice) { n.Resend = true }),
			"✅ New invitation sent to Ada Lovelace (ada@example.com), Supervisor — resent by manager@example.com.",
			"✅ New invitation sent to *Ada Lovelace* (ada@example.com), Supervisor — resent by manager@example.com."},
		{"release failed", notice(release.NoticeReleaseFailed, func(n *release.Notice) { n.Reason = "the email address was rejected by the mail service." }),
			"⚠️ Release of Ada Lovelace (ada@example.com), Supervisor by manager@example.com failed: the email address was rejected by the mail service. Fix it, then resend the invite.",
			"⚠️ Release of *Ada Lovelace* (ada@example.com), Supervisor by manager@example.com failed: the email address was rejected by the mail service. Fix it, then resend the invite."},
		{"suspended", notice(release.NoticeSuspended, nil),
			"⏸️ Ada Lovelace (ada@example.com), Supervisor: access suspended by manager@example.com.",
			"⏸️ *Ada Lovelace* (ada@example.com), Supervisor: access suspended by manager@example.com."},
		{"reactivated, manager unknown, role without a name", notice(release.NoticeReactivated, func(n *release.Notice) { n.By, n.Role = "", "staff" }),
			"▶️ Ada Lovelace (ada@example.com), staff: access restored; they sign in with their own password.",
			"▶️ *Ada Lovelace* (ada@example.com), staff: access restored; they sign in with their own password."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, rec := newNotifier(t)
			if err := n.Notify(context.Background(), tt.notice); err != nil {
				t.Fatal(err)
			}
			c := rec.last(t)
			if c.method != "chat.postMessage" || c.form.Get("channel") != "C0RELEASES" {
				t.Errorf("posted %s to %q", c.method, c.form.Get("channel"))
			}
			if got := c.form.Get("text"); got != tt.text {
				t.Errorf("text\n got %s\nwant %s", got, tt.text)
			}
			texts := blockTexts(t, c.form.Get("blocks"))
			if len(texts) != 2 || texts[0] != tt.blockLine {
				t.Fatalf("blocks %q", texts)
			}
			if !strings.Contains(texts[1], "OpsOS user u-0042") || !strings.Contains(texts[1], fmt.Sprintf("<!date^%d^", ada.At.Unix())) {
				t.Errorf("context %q", texts[1])
			}
		})
	}
}

// Names and reasons are text, never mentions or links.
func TestValuesAreEscaped(t *testing.T) {
	n, rec := newNotifier(t)
	err := n.Notify(context.Background(), notice(release.NoticeReleaseFailed, func(n *release.Notice) {
		n.FullName, n.Reason = "Ada <!channel>", "rejected <https://evil.example|click> & more"
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := rec.last(t)
	for _, s := range append(blockTexts(t, c.form.Get("blocks"))[:1], c.form.Get("text")) {
		if strings.Contains(s, "<!channel>") || strings.Contains(s, "<https") || !strings.Contains(s, "&lt;!channel&gt;") || !strings.Contains(s, "&amp; more") {
			t.Errorf("not escaped: %s", s)
		}
	}
}

func TestSlackErrorIsReturned(t *testing.T) {
	n, _ := newNotifier(t, func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
		})
	})
	err := n.Notify(context.Background(), notice(release.NoticeInvited, nil))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "channel_not_found" || !strings.Contains(err.Error(), "C0RELEASES") {
		t.Errorf("error %v", err)
	}
}

func TestUnknownKindIsRefused(t *testing.T) {
	n, rec := newNotifier(t)
	if err := n.Notify(context.Background(), notice("renamed", nil)); err == nil {
		t.Error("an unknown kind was posted")
	}
	if len(rec.calls) != 0 {
		t.Error("something was posted")
	}
}
