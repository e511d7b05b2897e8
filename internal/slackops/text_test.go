package slackops_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/slackops"
)

// Text that is not UTF-8, or that hides its direction, is refused with
// the field named, and nothing is written.
func TestCommandRefusesDisguisedText(t *testing.T) {
	f := newFixture(t)
	before := f.count()
	cases := []struct{ text, wants string }{
		{"create first=Ad\xffa last=Lovelace email=ada@example.com role=supervisor", "*first* must be valid UTF-8 text"},
		{"create first=Ada last=\"Love\xc3 lace\" email=ada@example.com role=supervisor", "*last* must be valid UTF-8 text"},
		{"create first=Ada last=Lovelace email=ada@example.com role=supervisor type=intern\xffal", "*type* must be valid UTF-8 text"},
		{"create first=Ada last=Lovelace email=ada@example.com role=supervisor grant=planner.edit,\xff", "*permissions.grant* must be valid UTF-8 text"},
		{"create first=Ada\u202Eecarg last=Lovelace email=ada@example.com role=supervisor", "*first* must not contain text-direction control characters"},
		{"create first=Ada last=Lovelace title=\"\u2067Lead\u2069\" email=ada@example.com role=supervisor", "*title* must not contain text-direction control characters"},
	}
	for _, c := range cases {
		got := f.command(adminSlack, c.text)
		mustContain(t, "the answer to "+strings.ToValidUTF8(c.text, "?"), text(got), c.wants)
	}
	if n := f.count(); n != before {
		t.Errorf("refused commands wrote %d users", n-before)
	}
}

func TestSlackFindsUsersByAnyFormOfTheirEmail(t *testing.T) {
	f := newFixture(t)
	f.command(adminSlack, "create first=Ada last=Lovelace email=ada@bücher.example role=supervisor")
	u, ok := f.userByEmail("ada@xn--bcher-kva.example")
	if !ok {
		t.Fatal("the user was not stored under the punycode domain")
	}
	for _, who := range []string{"ada@bücher.example", "ADA@xn--bcher-kva.example", "<mailto:ada@bu\u0308cher.example|ada@bu\u0308cher.example>"} {
		mustContain(t, "show "+who, text(f.command(adminSlack, "show "+who)), u.Email)
	}
}

// interactRaw posts a signed interaction payload exactly as given: the
// JSON encoder would repair the very text under test.
func (f *fixture) interactRaw(payload string) rawResponse {
	f.t.Helper()
	body := url.Values{"payload": {payload}}.Encode()
	resp, err := f.h.Handle(context.Background(), event(slackops.PathInteractions, sign(secret, f.now, body), body))
	if err != nil {
		f.t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, body: resp.Body}
}

type rawResponse struct {
	status int
	body   string
}

func TestFormRefusesDisguisedText(t *testing.T) {
	f := newFixture(t)
	f.command(adminSlack, "create")
	v := f.lastView()
	values := func() map[string]slack.BlockAction {
		return map[string]slack.BlockAction{
			"firstName": typed("Grace"), "lastName": typed("Hopper"), "email": typed("grace@example.com"),
			"role": picked("supervisor"), "type": picked("internal"), "holdInvite": checked("hold"),
		}
	}
	submit := func(block, placeholder, raw string) rawResponse {
		vals := values()
		vals[block] = typed(placeholder)
		p, err := json.Marshal(submission(adminSlack, v, "V0001", vals))
		if err != nil {
			t.Fatal(err)
		}
		return f.interactRaw(strings.Replace(string(p), placeholder, raw, 1))
	}
	for _, c := range []struct{ block, raw, wants string }{
		{"firstName", `Gr\ud800ace`, "valid UTF-8"},
		{"lastName", "Hop\xffper", "valid UTF-8"},
		{"jobTitle", `\udc00`, "valid UTF-8"},
		{"firstName", `Grace\u202e`, "text-direction control characters"},
		{"jobTitle", `\u2066Lead`, "text-direction control characters"},
	} {
		r := submit(c.block, "PLACEHOLDER", c.raw)
		var errs slack.ViewSubmissionResponse
		if err := json.Unmarshal([]byte(r.body), &errs); err != nil || errs.ResponseAction != slack.RAErrors ||
			len(errs.Errors) != 1 || !strings.Contains(errs.Errors[c.block], c.wants) {
			t.Errorf("%s %q: %d %s, want the error on %s saying %q", c.block, c.raw, r.status, r.body, c.block, c.wants)
		}
	}
	if f.count() != 1 {
		t.Fatal("a refused form wrote a user")
	}
	// Invalid text elsewhere in the payload is refused outright.
	if r := f.interactRaw(`{"type":"block_actions","team":{"id":"` + team + `"},"user":{"id":"` + adminSlack + `"},"actions":[{"action_id":"x","value":"\ud800"}]}`); r.status != http.StatusBadRequest {
		t.Errorf("invalid text in a button value: %d %s, want 400", r.status, r.body)
	}
}
