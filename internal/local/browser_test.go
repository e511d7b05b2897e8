package local_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's Chromium, which `make test` installs. Without
// it the browser test is skipped, except in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed: `make test` installs it (apt-get install chromium)")
	}
	t.Skip("Chromium is not installed: `make test` installs it")
	return ""
}

// browser starts headless Chromium (exe, from chromium) for t and returns
// a tab's context, bounded by limit; both close when t ends. extra adds
// options, such as a window size.
func browser(t *testing.T, exe string, limit time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], //nolint:gocritic // a copy of the defaults
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancel(); cancelTab(); cancelAlloc() })
	return ctx
}

var loginLink = regexp.MustCompile(`https?://\S+/_local/login\S*`)

// renderedPassword finds the temporary password in the rendered text of
// the invitation's HTML body: the label (upper-cased by its style) on one
// line, the password on the next.
var renderedPassword = regexp.MustCompile(`(?i)temporary password\s*\n\s*(\S+)`)

// renderedMailBody opens the mailbox page and returns what its first
// email's HTML body frame shows, as text, with the sign-in link's address
// added. A frame the browser refuses to show holds no such text.
func renderedMailBody(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	// ctx is the tab's own context, as its first Run starts the browser
	// for as long as ctx lasts: no shorter context is derived from it here.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/_local/mail"), chromedp.WaitVisible(chromedp.CSS("article iframe"))); err != nil {
		t.Fatalf("mailbox: %v", err)
	}
	src, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("article iframe").src`))
	if err != nil {
		t.Fatalf("mailbox frame: %v", err)
	}
	// What the frame shows: its body's rendered text, and its links.
	const read = `document.body.innerText + "\n" + [...document.links].map((a) => a.href).join("\n")`
	// A sandboxed frame has an origin of its own: Chromium may run it
	// in a process of its own, as a target of its own; otherwise it is in
	// the page's DOM.
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Type == "iframe" && src != "" && info.URL == src {
			// Detach when done: closing the frame's target would close the page.
			fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
			defer cancel()
			text, err := chromedp.Run(fctx, chromedp.Action[string](func(ctx context.Context, tg *chromedp.Target) (string, error) {
				if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("body"))); err != nil {
					return "", err
				}
				return chromedp.Evaluate[string](read)(ctx, tg)
			}))
			if err != nil {
				t.Fatalf("the email body frame (%s): %v", src, err)
			}
			t.Logf("read the email body in its frame's own target (%s)", src)
			return text
		}
	}
	frames, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("article iframe")))
	if err != nil || len(frames) == 0 {
		t.Fatalf("mailbox frame: %v", err)
	}
	// The tab has run already: a shorter context may bound the wait for a
	// frame the browser refuses to show.
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	text, err := chromedp.Run(fctx, chromedp.Action[string](func(ctx context.Context, tg *chromedp.Target) (string, error) {
		body, err := chromedp.Text(chromedp.CSS("body"), chromedp.FromNode(frames[0]))(ctx, tg)
		if err != nil {
			return "", err
		}
		links, err := chromedp.AttributesAll(chromedp.CSS("a"), chromedp.FromNode(frames[0]), chromedp.AtLeast(0))(ctx, tg)
		for _, a := range links {
			body += "\n" + a["href"]
		}
		return body, err
	}))
	if err != nil {
		t.Fatalf("the email body frame (%q) shows nothing; did the browser refuse to show it? %v", src, err)
	}
	t.Logf("read the email body in the page's frame (%q)", src)
	return text
}

// TestFirstLoginInABrowser follows the invitation as a person would, in
// real headless Chromium: read the email in the mailbox, open the sign-in
// link, use the temporary password, be made to choose a new one, land
// signed in — and the user becomes active.
func TestFirstLoginInABrowser(t *testing.T) {
	exe := chromium(t)
	s, _ := start(t, config(t, t.TempDir()))
	defer stop(t, s)
	base := "http://" + s.Addr()

	id := call(t, s, "POST", "/users", token, `{"firstName":"Ana","lastName":"Silva","email":"ana@example.com","role":"planner","holdInvite":false}`).body["id"].(string)
	waitFor(t, "the invitation", func() bool { return len(readMail(t, base).Messages) == 1 })

	ctx := browser(t, exe, 60*time.Second)

	// Read the invitation as the recipient sees it: the email's HTML body
	// as the mailbox page renders it in its frame, not the JSON nor the
	// plain-text part.
	mailText := renderedMailBody(t, ctx, base)
	pw := renderedPassword.FindStringSubmatch(mailText)
	link := loginLink.FindString(mailText)
	if pw == nil || link == "" {
		t.Fatalf("the email's rendered HTML body shows no password or link:\n%s", mailText)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), "ana@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), pw[1]),
		chromedp.Click(chromedp.ID("signin-button")),
		chromedp.WaitVisible(chromedp.ID("newpassword")),
	); err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	if welcome := text("#newpassword p"); !strings.Contains(welcome, "choose your own password") {
		t.Errorf("challenge page says %q", welcome)
	}
	// A password that breaks the policy is refused, with the rule.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("new-password"), "tooshort"),
		chromedp.SendKeys(chromedp.ID("confirm-password"), "tooshort"),
		chromedp.Click(chromedp.ID("newpassword-button")),
		chromedp.WaitVisible(chromedp.ID("error")),
	); err != nil {
		t.Fatalf("weak password: %v", err)
	}
	if refusal := text("#error"); !strings.Contains(refusal, "at least 12") {
		t.Errorf("policy refusal says %q", refusal)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("new-password"), "Ana-Chooses-This-9"),
		chromedp.SendKeys(chromedp.ID("confirm-password"), "Ana-Chooses-This-9"),
		chromedp.Click(chromedp.ID("newpassword-button")),
		chromedp.WaitVisible(chromedp.ID("signedin")),
	); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if signedIn := text("#signedin-as"); !strings.Contains(signedIn, "ana@example.com") {
		t.Errorf("signed-in page says %q", signedIn)
	}
	waitFor(t, "status active", func() bool {
		return call(t, s, "GET", "/users/"+id, token, "").body["status"] == "active"
	})
}
