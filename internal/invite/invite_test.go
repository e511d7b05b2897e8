package invite_test

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/invite"
	"github.com/opsos/onboarding/internal/release"
)

func composer(t *testing.T) *invite.Composer {
	t.Helper()
	c, err := invite.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sample is an invitation whose every fact is distinct and free of
// characters HTML escapes, so it can be searched for in both parts.
func sample() release.Invitation {
	return release.Invitation{
		To:                "priya.shah@example.com",
		FirstName:         "Priya",
		FullName:          "Priya Shah",
		InviterName:       "Morgan Lee",
		InviterEmail:      "morgan.lee@example.com",
		LoginURL:          "https://opsos.auth.eu-west-2.amazoncognito.com/login?client_id=abc123&response_type=code",
		Username:          "priya.shah@example.com",
		TemporaryPassword: "Kq7mZp3xWt9vRb2n",
		ExpiresAt:         time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC),
	}
}

// visible is the HTML part as a reader sees it: tags dropped, entities
// decoded, white space collapsed.
func visible(h string) string {
	h = regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(h, " ")
	return strings.Join(strings.Fields(html.UnescapeString(h)), " ")
}

func oneSpaced(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestEveryFactInBothParts(t *testing.T) {
	inv := sample()
	m, err := composer(t).Compose(inv)
	if err != nil {
		t.Fatal(err)
	}
	facts := map[string]string{
		"first name":          "Hello Priya,",
		"full name":           "Priya Shah",
		"inviter name":        "Morgan Lee",
		"inviter email":       "morgan.lee@example.com",
		"product":             "OpsOS",
		"login URL":           inv.LoginURL,
		"username":            "priya.shah@example.com",
		"temporary password":  "Kq7mZp3xWt9vRb2n",
		"expiry":              "Friday 4 December 2026 at 09:00 UTC",
		"set own password":    "you must set your own password before you can do anything else",
		"first sign-in only":  "works for that first sign-in only",
		"what if it expired":  "If the temporary password has expired, ask Morgan Lee",
		"resend instructions": "to resend your invitation",
	}
	text, page := oneSpaced(m.Text), visible(m.HTML)
	for what, fact := range facts {
		if !strings.Contains(text, fact) {
			t.Errorf("text part lacks the %s %q:\n%s", what, fact, m.Text)
		}
		if !strings.Contains(page, fact) {
			t.Errorf("HTML part lacks the %s %q:\n%s", what, fact, page)
		}
	}
	if m.To != "" {
		t.Errorf("To = %q, want it left to the caller", m.To)
	}
	// The button and the fallback link both lead to the login page.
	if n := strings.Count(m.HTML, `href="`+html.EscapeString(inv.LoginURL)+`"`); n != 2 {
		t.Errorf("login URL is the target of %d links, want 2 (button and fallback):\n%s", n, m.HTML)
	}
	if strings.Contains(m.Text, "no longer works") || strings.Contains(m.HTML, "no longer works") {
		t.Error("a first invitation speaks of an earlier password")
	}
}

func TestSubjectNamesInviter(t *testing.T) {
	c := composer(t)
	cases := []struct {
		name         string
		inviterName  string
		inviterEmail string
		resend       bool
		want         string
	}{
		{"name", "Morgan Lee", "morgan.lee@example.com", false, "Morgan Lee invited you to OpsOS"},
		{"resend", "Morgan Lee", "morgan.lee@example.com", true, "Morgan Lee sent you a new OpsOS invitation"},
		{"email only", "", "morgan.lee@example.com", false, "morgan.lee@example.com invited you to OpsOS"},
		{"name is the email", "morgan.lee@example.com", "morgan.lee@example.com", false, "morgan.lee@example.com invited you to OpsOS"},
		{"unknown", "", "release-worker", false, "Your OpsOS administrator invited you to OpsOS"},
		{"line break in name", "Morgan\r\nBcc: x@evil.test", "", false, "Morgan Bcc: x@evil.test invited you to OpsOS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := sample()
			inv.InviterName, inv.InviterEmail, inv.Resend = tc.inviterName, tc.inviterEmail, tc.resend
			m, err := c.Compose(inv)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tc.want {
				t.Errorf("subject %q, want %q", m.Subject, tc.want)
			}
		})
	}
}

func TestInviterEmailShownOnceWhenItIsTheName(t *testing.T) {
	inv := sample()
	inv.InviterName = inv.InviterEmail
	m, err := composer(t).Compose(inv)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "morgan.lee@example.com (morgan.lee@example.com)") {
		t.Errorf("inviter shown twice:\n%s", m.Text)
	}
}

func TestHTMLEscapesPeoplesInput(t *testing.T) {
	inv := sample()
	inv.FirstName = `<script>alert(1)</script>`
	inv.FullName = `<script>alert(1)</script> <b>Shah</b>`
	inv.InviterName = `Morgan "<img src=x onerror=alert(2)>" Lee`
	inv.TemporaryPassword = `Ab3<&>"'+=!x`
	m, err := composer(t).Compose(inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<b>Shah", "<img"} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("HTML part contains %q unescaped", bad)
		}
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("HTML part does not show the first name, escaped")
	}
	// The password survives escaping: what the reader sees is what to type.
	if !strings.Contains(visible(m.HTML), `Ab3<&>"'+=!x`) {
		t.Errorf("HTML part does not show the password as it is")
	}
	// The text part is not HTML: it shows names and password verbatim.
	if !strings.Contains(m.Text, "Hello <script>alert(1)</script>,") || !strings.Contains(m.Text, `Ab3<&>"'+=!x`) {
		t.Errorf("text part altered the input:\n%s", m.Text)
	}
}

func TestResendSaysEarlierPasswordNoLongerWorks(t *testing.T) {
	inv := sample()
	inv.Resend = true
	m, err := composer(t).Compose(inv)
	if err != nil {
		t.Fatal(err)
	}
	const want = "The temporary password in any earlier OpsOS invitation no longer works"
	if !strings.Contains(oneSpaced(m.Text), want) {
		t.Errorf("text part lacks %q:\n%s", want, m.Text)
	}
	if !strings.Contains(visible(m.HTML), want) {
		t.Errorf("HTML part lacks %q", want)
	}
}

func TestExpiryShownInUTC(t *testing.T) {
	inv := sample()
	inv.ExpiresAt = time.Date(2026, 12, 4, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	m, err := composer(t).Compose(inv)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Friday 4 December 2026 at 09:30 UTC"; !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
		t.Errorf("expiry not shown as %q:\n%s", want, m.Text)
	}
}

func TestUnusableInvitationIsRefused(t *testing.T) {
	c := composer(t)
	cases := map[string]func(*release.Invitation){
		"no password":        func(i *release.Invitation) { i.TemporaryPassword = "" },
		"no username":        func(i *release.Invitation) { i.Username = "" },
		"no expiry":          func(i *release.Invitation) { i.ExpiresAt = time.Time{} },
		"no login URL":       func(i *release.Invitation) { i.LoginURL = "" },
		"script login URL":   func(i *release.Invitation) { i.LoginURL = "javascript:alert(1)" },
		"relative login URL": func(i *release.Invitation) { i.LoginURL = "/_local/login" },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			inv := sample()
			spoil(&inv)
			if _, err := c.Compose(inv); err == nil {
				t.Error("composed an invitation nobody can use")
			}
		})
	}
}

func TestLocalLoginURL(t *testing.T) {
	inv := sample()
	inv.LoginURL = "http://127.0.0.1:8080/_local/login"
	m, err := composer(t).Compose(inv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.HTML, `href="http://127.0.0.1:8080/_local/login"`) {
		t.Errorf("local login link missing:\n%s", m.HTML)
	}
}

func TestComposerIsAReleaseComposer(t *testing.T) {
	var _ release.Composer = composer(t).Compose
}

func TestNoNameStillReadsWell(t *testing.T) {
	inv := sample()
	inv.FirstName, inv.FullName = "", ""
	m, err := composer(t).Compose(inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Hello,", "was sent to priya.shah@example.com."} {
		if !strings.Contains(oneSpaced(m.Text), want) || !strings.Contains(visible(m.HTML), want) {
			t.Errorf("lacks %q:\n%s", want, m.Text)
		}
	}
}
