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

var loginLink = regexp.MustCompile(`https?://\S+/_local/login\S*`)

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

	opts := append(chromedp.DefaultExecAllocatorOptions[:], //nolint:gocritic // a copy of the defaults
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	mailText, err := chromedp.Run(ctx, chromedp.Action[string](func(ctx context.Context, t *chromedp.Target) (string, error) {
		// Open the email's plain-text part, as a reader would.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/_local/mail"), chromedp.Click(chromedp.CSS("summary")),
			chromedp.WaitVisible(chromedp.CSS("pre"))); err != nil {
			return "", err
		}
		return chromedp.Text(chromedp.CSS("pre"))(ctx, t)
	}))
	if err != nil {
		t.Fatalf("mailbox: %v", err)
	}
	pw := tempPassword.FindStringSubmatch(mailText)
	link := loginLink.FindString(mailText)
	if pw == nil || link == "" {
		t.Fatalf("the email shows no password or link:\n%s", mailText)
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
