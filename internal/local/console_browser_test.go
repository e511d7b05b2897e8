package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeSource is axe-core from the npm lock file (scripts/emulators.sh
// install puts it in node_modules).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is not installed (scripts/emulators.sh install installs it from package-lock.json): %v", err)
	}
	return string(b)
}

// browserPage drives one tab of headless Chromium through the console.
type browserPage struct {
	t   *testing.T
	ctx context.Context
	axe string
	// shots is where each page's screenshot goes (OPSOS_CONSOLE_SCREENSHOTS), or empty.
	shots string
}

func (p browserPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that answers something.
func get[T any](p browserPage, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, a)
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (p browserPage) eval(expr string) {
	p.t.Helper()
	get(p, expr, chromedp.Evaluate[chromedp.Void](expr))
}

func (p browserPage) text(sel string) string {
	p.t.Helper()
	return get(p, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (p browserPage) value(sel string) string {
	p.t.Helper()
	return get(p, "read the value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

func (p browserPage) truth(expr string) bool {
	p.t.Helper()
	return get(p, expr, chromedp.Evaluate[bool](expr))
}

// choose picks an option of a select as a person does, so that the page
// hears the change.
func (p browserPage) choose(sel, value string) {
	p.t.Helper()
	p.do("choose "+value+" in "+sel, chromedp.Focus(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
	p.eval(fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event('change', {bubbles: true}))`, sel))
}

// typeInto replaces what a field holds with text, typed.
func (p browserPage) typeInto(sel, text string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`document.querySelector(%q).value = ''`, sel))
	p.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// check runs axe-core on the page shown, fails on a serious or critical
// violation, logs the rest, and takes the page's screenshot.
func (p browserPage) check(name string) {
	p.t.Helper()
	if !p.truth(`typeof window.axe !== 'undefined'`) {
		p.eval(p.axe + "\n;true")
	}
	type result struct {
		Violations []axeViolation `json:"violations"`
	}
	res := get(p, "run axe on "+name, chromedp.Evaluate[result](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}, resultTypes: ['violations']})`,
		chromedp.EvalAwaitPromise))
	var bad, other []string
	for _, v := range res.Violations {
		line := fmt.Sprintf("%s (%s): %s, at %v", v.ID, v.Impact, v.Help, v.Nodes)
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, line)
		} else {
			other = append(other, line)
		}
	}
	p.t.Logf("axe, %s: %d serious or critical, %d minor or moderate %v", name, len(bad), len(other), other)
	if len(bad) > 0 {
		p.t.Errorf("axe finds serious or critical violations on %s:\n%s", name, strings.Join(bad, "\n"))
	}
	if p.shots != "" {
		png := get(p, "screenshot "+name, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(p.shots, name+".png"), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

// signedOut checks the sign-in page as a signed-out visitor sees it: no
// navigation, no "Sign out", and no stray "null" where no message is.
func (p browserPage) signedOut(when string) {
	p.t.Helper()
	for _, sel := range []string{"#nav", "#signout", "#who"} {
		if p.truth(fmt.Sprintf(`document.querySelector(%q).checkVisibility()`, sel)) {
			p.t.Errorf("%s, signed out, %s is shown", when, sel)
		}
	}
	if m := p.text("main"); strings.Contains(m, "null") || strings.Contains(m, "undefined") {
		p.t.Errorf("%s, the sign-in page says %q", when, m)
	}
}

// TestConsoleInABrowser is the help page "Inviting Your Team" done word
// for word in the console, in headless Chromium: sign in as a manager;
// Step 1, create an internal user in Introduction Mode; Step 2, set the
// role and a permission adjustment; Step 3, open the user, Edit, set Hold
// Invite to No, Save. Then the new user reads the temporary password in
// their mailbox (the HTML body, as the mailbox renders it), signs in
// to the console and sets a password, and the manager's console lists
// them as Active. On the way: a field error shows next to its field with what
// was typed kept, a stale edit offers the fresh copy, roles are created,
// and every page passes axe-core's serious and critical checks.
func TestConsoleInABrowser(t *testing.T) {
	exe := chromium(t)
	axe := axeSource(t)
	s, _, logs := startLogged(t, config(t, t.TempDir()))
	defer stop(t, s)
	base := "http://" + s.Addr()

	ctx := browser(t, exe, 60*time.Second, chromedp.WindowSize(1100, 900))
	p := browserPage{t: t, ctx: ctx, axe: axe, shots: os.Getenv("OPSOS_CONSOLE_SCREENSHOTS")}

	// Sign in as the administrator, with the token make run prints.
	p.do("open the console", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS(`#token-signin input[name=token]`)))
	p.signedOut("on opening the console")
	p.check("sign-in")
	// The token signs in only when the API accepts it: a failing API or
	// none at all is said on the page, and no session starts.
	for _, c := range []struct{ fails, says string }{
		{`return new Response('{}', {status: 503, headers: {'Content-Type': 'application/json'}})`, "answered 503"},
		{`return new Response('{}', {status: 403, headers: {'Content-Type': 'application/json'}})`, "may not manage users"},
		{`throw new TypeError('Failed to fetch')`, "could not be reached"},
	} {
		p.eval(`(() => { const real = window.fetch; window.fetch = async (u, o) => { window.fetch = real; ` + c.fails + `; }; })()`)
		p.typeInto(`#token-signin input[name=token]`, token)
		p.do("sign in with the token while the API "+c.says, chromedp.Click(chromedp.CSS(`#token-button`)),
			chromedp.WaitVisible(chromedp.Search(`//form[@id="token-signin"]//div[contains(@class,"alert")]/p[contains(., "`+c.says+`")]`)))
		if p.truth(`sessionStorage.getItem('opsos.console.session') !== null`) {
			t.Errorf("the API %s, and a session started", c.says)
		}
	}
	p.eval(`document.querySelector('#token-signin input[name=token]').value = ''`)
	p.eval(`(() => { const real = window.fetch; window.fetch = async () => { window.fetch = real; throw new TypeError('Failed to fetch'); }; })()`)
	p.typeInto(`#signin input[name=email]`, "someone@example.com")
	p.typeInto(`#signin input[name=password]`, "a password")
	p.do("sign in with a password while the API cannot be reached", chromedp.Click(chromedp.CSS(`#signin-button`)),
		chromedp.WaitVisible(chromedp.Search(`//form[@id="signin"]//div[contains(@class,"alert")]/p[contains(., "could not be reached")]`)))
	p.eval(`document.querySelector('#signin').reset()`)
	p.do("sign in", chromedp.SendKeys(chromedp.CSS(`#token-signin input[name=token]`), token),
		chromedp.Click(chromedp.CSS(`#token-button`)), chromedp.WaitVisible(chromedp.CSS(`#create-user`)))
	if who := p.text("#who-name"); !strings.Contains(who, "administrator") {
		t.Errorf("the header says %q", who)
	}
	p.check("users")

	// Step 1 — Settings → Users → Create User.
	p.do("Create User", chromedp.Click(chromedp.CSS(`#create-user`)), chromedp.WaitVisible(chromedp.CSS(`#create-user-form`)))
	held := p.truth(`document.querySelector('#create-user-form input[name=holdInvite]').checked`)
	internal := p.truth(`document.querySelector('#type-internal').checked`)
	externalHidden := p.truth(`document.querySelector('#external-access').hidden`)
	if !held || !internal || !externalHidden {
		t.Errorf("Create User starts with Hold Invite ticked %v, Internal chosen %v, external access hidden %v; want all true", held, internal, externalHidden)
	}
	p.do("choose External User", chromedp.Click(chromedp.CSS(`#type-external`)), chromedp.WaitVisible(chromedp.CSS(`#external-access`)))
	p.check("create-user")
	p.do("choose Internal User", chromedp.Click(chromedp.CSS(`#type-internal`)), chromedp.WaitNotVisible(chromedp.CSS(`#external-access`)))
	form := `#create-user-form `
	p.typeInto(form+`input[name=firstName]`, "Priya")
	p.typeInto(form+`input[name=lastName]`, "Shah")
	p.typeInto(form+`input[name=email]`, "priya.shah@")
	p.typeInto(form+`input[name=phone]`, "07911 123456")
	p.typeInto(form+`input[name=jobTitle]`, "Shift Lead")
	p.choose(form+`select[name=role]`, "planner-worker")
	typed := map[string]string{"firstName": "Priya", "lastName": "Shah", "email": "priya.shah@", "phone": "07911 123456", "jobTitle": "Shift Lead"}
	kept := func(when string) {
		t.Helper()
		for sel, want := range typed {
			if got := p.value(form + `input[name=` + sel + `]`); got != want {
				t.Errorf("%s %s holds %q, want %q as typed", when, sel, got, want)
			}
		}
		if got := p.value(form + `select[name=role]`); got != "planner-worker" {
			t.Errorf("%s the role holds %q, want planner-worker as chosen", when, got)
		}
	}

	// The session ends while the form is being filled (an ID token lasts
	// an hour): Create User says so beside its button, keeps the form, and
	// after signing in again the form holds what was typed.
	p.eval(`(() => { const s = JSON.parse(sessionStorage.getItem('opsos.console.session')); s.token = 'an-expired-token'; sessionStorage.setItem('opsos.console.session', JSON.stringify(s)); })()`)
	p.do("Create User after the session ended", chromedp.Click(chromedp.CSS(`#create-button`)), chromedp.WaitVisible(chromedp.CSS(form+`#session-ended`)))
	if a := p.text(form + `#session-ended`); !strings.Contains(a, "session has ended") {
		t.Errorf("the session's end says %q", a)
	}
	if !p.truth(`document.querySelector('#session-ended').nextElementSibling.contains(document.querySelector('#create-button'))`) {
		t.Errorf("the session's end is not shown next to Create User")
	}
	kept("after the session ended,")
	p.do("Sign in again", chromedp.Click(chromedp.CSS(`#sign-in-again`)), chromedp.WaitVisible(chromedp.CSS(`#token-signin input[name=token]`)),
		chromedp.SendKeys(chromedp.CSS(`#token-signin input[name=token]`), token),
		chromedp.Click(chromedp.CSS(`#token-button`)), chromedp.WaitVisible(chromedp.CSS(`#draft-restored`)))
	kept("signed in again,")
	if get(p, "read the drafts", chromedp.Evaluate[string](`Object.keys(sessionStorage).join(' ')`)) != "opsos.console.session" {
		t.Errorf("the draft is still stored once restored")
	}

	// A mistake: the errors show next to their fields, and nothing typed is lost.
	p.do("Create User with mistakes", chromedp.Click(chromedp.CSS(`#create-button`)),
		chromedp.WaitVisible(chromedp.CSS(form+`[data-field=email] .error`)))
	if e := p.text(form + `[data-field=email] .error`); !strings.Contains(strings.ToLower(e), "email") || e == "" {
		t.Errorf("the email's error says %q", e)
	}
	if e := p.text(form + `[data-field=role] .error`); !strings.Contains(e, "Planner's worker onboarding flow") {
		t.Errorf("choosing Planner Worker says %q next to Role; want the pointer to the Planner's worker onboarding flow", e)
	}
	if !p.truth(`document.querySelector('#create-user-form input[name=email]').getAttribute('aria-invalid') === 'true'`) {
		t.Errorf("the email field is not marked invalid")
	}
	kept("after the error")
	if p.truth(`document.querySelector('#draft-restored') !== null`) {
		t.Errorf("once the form is sent again, it still says what was typed came back")
	}
	p.check("create-user-errors")

	p.typeInto(form+`input[name=email]`, "priya.shah@example.com")
	p.choose(form+`select[name=role]`, "supervisor")
	// The create's answer is lost on the way back; Create User again is the
	// same create, answered with the user it made, not "email taken".
	p.eval(`(() => { const real = window.fetch; let lost = false; window.fetch = async (u, o) => {
		const r = await real(u, o);
		if (!lost && o?.method === 'POST' && String(u).endsWith('/users')) { lost = true; throw new TypeError('the answer was lost'); }
		return r; }; })()`)
	p.do("Create User, the answer lost", chromedp.Click(chromedp.CSS(`#create-button`)),
		chromedp.WaitVisible(chromedp.Search(`//form[@id="create-user-form"]//div[contains(@class,"alert")]//p[contains(., "could not be reached")]`)))
	p.do("Create User again", chromedp.Click(chromedp.CSS(`#create-button`)), chromedp.WaitVisible(chromedp.CSS(`#edit-button`)))
	if b := p.text("h1 .badge"); b != "Introduction Mode" {
		t.Errorf("the new user's badge says %q, want Introduction Mode", b)
	}
	if hold := p.text("#hold-invite"); hold != "Yes" {
		t.Errorf("Hold Invite shows %q", hold)
	}
	p.do("why can't they log in", chromedp.Click(chromedp.CSS(`#why-button`)), chromedp.WaitVisible(chromedp.CSS(`#diagnosis .notice`)))
	if d := p.text("#diagnosis"); !strings.Contains(d, "cannot log in") {
		t.Errorf("the diagnosis says %q", d)
	}
	p.check("user")
	userURL := get(p, "read the address", chromedp.Location())
	id := userURL[strings.LastIndex(userURL, "/")+1:]

	// Step 2 — the role and a permission adjustment; meanwhile another
	// manager changes the user, so the first save is stale.
	p.do("Edit", chromedp.Click(chromedp.CSS(`#edit-button`)), chromedp.WaitVisible(chromedp.CSS(`#edit-user-form`)))
	edit := `#edit-user-form `
	p.choose(edit+`select[name=role]`, "operations-manager")
	p.choose(edit+`select[data-permission="purchasing.approve"]`, "revoke")
	if eff := p.text(edit + `[data-effective="purchasing.approve"]`); eff != "No" {
		t.Errorf("revoking purchasing.approve shows it effective %q", eff)
	}
	if eff := p.text(edit + `[data-effective="users.manage"]`); eff != "Yes" {
		t.Errorf("an Operations Manager shows users.manage effective %q", eff)
	}
	p.check("edit-user")
	// The session ends during the edit too: Save keeps the form, and signing
	// in again brings back the role and the adjustment chosen.
	p.eval(`(() => { const s = JSON.parse(sessionStorage.getItem('opsos.console.session')); s.token = 'an-expired-token'; sessionStorage.setItem('opsos.console.session', JSON.stringify(s)); })()`)
	p.do("Save after the session ended", chromedp.Click(chromedp.CSS(`#save-button`)), chromedp.WaitVisible(chromedp.CSS(edit+`#session-ended`)))
	editKept := func(when string) {
		t.Helper()
		if role, adj := p.value(edit+`select[name=role]`), p.value(edit+`select[data-permission="purchasing.approve"]`); role != "operations-manager" || adj != "revoke" {
			t.Errorf("%s the edit holds role %q and purchasing.approve %q; want operations-manager and revoke as chosen", when, role, adj)
		}
	}
	editKept("after the session ended,")
	// Meanwhile another manager saves the user: signing in again shows
	// their change under this manager's.
	if r := call(t, s, "PATCH", "/users/"+id, token, `{"jobTitle":"Senior Shift Lead"}`); r.status != 200 {
		t.Fatalf("another manager's edit: %d %v", r.status, r.body)
	}
	p.do("Sign in again", chromedp.Click(chromedp.CSS(`#sign-in-again`)), chromedp.WaitVisible(chromedp.CSS(`#token-signin input[name=token]`)),
		chromedp.SendKeys(chromedp.CSS(`#token-signin input[name=token]`), token),
		chromedp.Click(chromedp.CSS(`#token-button`)), chromedp.WaitVisible(chromedp.CSS(`#draft-restored`)))
	editKept("signed in again,")
	if job := p.value(edit + `input[name=jobTitle]`); job != "Senior Shift Lead" {
		t.Errorf("signed in again, the job title holds %q; want the other manager's Senior Shift Lead, which this one did not change", job)
	}
	if n := p.text("#draft-restored"); !strings.Contains(n, "Someone else saved this") {
		t.Errorf("signed in again after another manager saved the user, the form says %q", n)
	}
	if eff := p.text(edit + `[data-effective="purchasing.approve"]`); eff != "No" {
		t.Errorf("signed in again, the restored revoke shows purchasing.approve effective %q", eff)
	}
	if r := call(t, s, "PATCH", "/users/"+id, token, `{"phone":"07911 123457"}`); r.status != 200 {
		t.Fatalf("another manager's edit: %d %v", r.status, r.body)
	}
	p.do("Save a stale edit", chromedp.Click(chromedp.CSS(`#save-button`)), chromedp.WaitVisible(chromedp.CSS(`#stale-alert`)))
	if a := p.text("#stale-alert"); !strings.Contains(a, "Someone else changed this user") || !strings.Contains(a, "+447911123457") {
		t.Errorf("the stale edit says %q; want who changed it and the saved phone", a)
	}
	if role := p.value(edit + `select[name=role]`); role != "operations-manager" {
		t.Errorf("after the stale save the role holds %q, want operations-manager as chosen", role)
	}
	p.check("edit-user-stale")
	p.do("Load the fresh copy", chromedp.Click(chromedp.CSS(`#use-fresh`)), chromedp.WaitVisible(chromedp.CSS(`#stale .notice`)))
	if phone := p.value(edit + `input[name=phone]`); phone != "+447911123457" {
		t.Errorf("the fresh copy shows phone %q", phone)
	}
	if role := p.value(edit + `select[name=role]`); role != "supervisor" {
		t.Errorf("the fresh copy shows role %q", role)
	}
	p.choose(edit+`select[name=role]`, "operations-manager")
	p.choose(edit+`select[data-permission="purchasing.approve"]`, "revoke")
	p.do("Save", chromedp.Click(chromedp.CSS(`#save-button`)), chromedp.WaitVisible(chromedp.CSS(`#edit-button`)))
	u := call(t, s, "GET", "/users/"+id, token, "").body
	if u["role"] != "operations-manager" || fmt.Sprint(u["permissions"].(map[string]any)["revoke"]) != "[purchasing.approve]" || u["phone"] != "+447911123457" {
		t.Errorf("after Step 2 the user is %v", u)
	}

	// Step 3 — Open the user. Click Edit. Under Onboarding, set Hold
	// Invite (Introduction Mode) to No. Save.
	p.do("open Users", chromedp.Navigate(base+"/console/#/users"), chromedp.WaitVisible(chromedp.CSS(`table.users`)))
	if b := p.text(`table.users .badge.introduction`); b != "Introduction Mode" {
		t.Errorf("the list shows Priya's status as %q", b)
	}
	p.check("users-introduction")
	p.do("open the user", chromedp.Click(chromedp.Search(`//a[text()="Priya Shah"]`)), chromedp.WaitVisible(chromedp.CSS(`#edit-button`)))
	p.do("Edit", chromedp.Click(chromedp.CSS(`#edit-button`)), chromedp.WaitVisible(chromedp.CSS(`#edit-user-form`)))
	p.choose(edit+`select[name=holdInvite]`, "no")
	p.do("Save", chromedp.Click(chromedp.CSS(`#save-button`)), chromedp.WaitVisible(chromedp.CSS(`#edit-button`)))
	if f := p.text("#flash"); !strings.Contains(f, "temporary password") {
		t.Errorf("releasing says %q", f)
	}
	waitFor(t, "the invitation", func() bool { return len(readMail(t, base).Messages) == 1 })
	waitFor(t, "Priya invited", func() bool { return call(t, s, "GET", "/users/"+id, token, "").body["status"] == "invited" })

	// The help page's worry, "they didn't get the email": Resend invite on
	// the user's page sends a new temporary password, and only the newest
	// email's works.
	p.do("open Priya, invited", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#resend-button`)),
		chromedp.Click(chromedp.CSS(`#resend-button`)))
	waitFor(t, "the resend's note", func() bool { return strings.Contains(p.text("#flash"), "new temporary password") })
	if f := p.text("#flash"); !strings.Contains(f, "priya.shah@example.com") {
		t.Errorf("resending says %q", f)
	}
	waitFor(t, "the second invitation", func() bool { return len(readMail(t, base).Messages) == 2 })

	// The new user: the mailbox, the temporary password, a password of their own.
	// The email as she reads it: its HTML body as the mailbox renders it,
	// not the JSON nor the plain-text part.
	mail := renderedMailBody(t, p.ctx, base)
	pw := renderedPassword.FindStringSubmatch(mail)
	link := loginLink.FindString(mail)
	if pw == nil || link == "" {
		t.Fatalf("the email's rendered HTML body shows no temporary password or link:\n%s", mail)
	}
	// Priya, a manager now, signs in to the console in a tab of her own:
	// the temporary password, then a password of her own before anything else.
	tab, closeTab := chromedp.NewContext(ctx)
	priya := browserPage{t: t, ctx: tab}
	priya.do("Priya's first sign-in", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`#signin input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`#signin input[name=email]`), "priya.shah@example.com"), chromedp.SendKeys(chromedp.CSS(`#signin input[name=password]`), pw[1]),
		chromedp.Click(chromedp.CSS("#signin-button")), chromedp.WaitVisible(chromedp.CSS(`#newpassword input[name=newPassword]`)),
		chromedp.SendKeys(chromedp.CSS(`#newpassword input[name=newPassword]`), "Priya-Chooses-This-7"),
		chromedp.SendKeys(chromedp.CSS(`#newpassword input[name=confirm]`), "Priya-Chooses-This-7"),
		chromedp.Click(chromedp.CSS(`#newpassword button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#create-user`)))
	if who := priya.text("#who-name"); !strings.Contains(who, "priya.shah@example.com") {
		t.Errorf("Priya's console says %q", who)
	}
	priyaToken := get(priya, "read Priya's session", chromedp.Evaluate[string](`JSON.parse(sessionStorage.getItem('opsos.console.session')).token`))
	if len(priyaToken) < 16 {
		t.Errorf("Priya's session holds the token %q", priyaToken)
	}
	priya.do("Priya signs out", chromedp.Click(chromedp.CSS(`#signout`)), chromedp.WaitVisible(chromedp.CSS(`#signin`)))
	closeTab()
	waitFor(t, "Priya active", func() bool { return call(t, s, "GET", "/users/"+id, token, "").body["status"] == "active" })

	// Back in the manager's console, still signed in: Priya is Active in the list.
	p.do("Users", chromedp.Navigate(base+"/console/#/users"), chromedp.WaitVisible(chromedp.CSS(`table.users`)))
	p.choose(`form[role=search] select[name=status]`, "active")
	p.typeInto(`form[role=search] input[name=q]`, "priya")
	p.do("Show the active users", chromedp.Click(chromedp.Search(`//form[@role="search"]//button[text()="Show"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table[contains(@class,"users")]//span[text()="Active"]`)))
	if where := get(p, "read the address", chromedp.Location()); !strings.HasSuffix(where, "#/users?q=priya&status=active") {
		t.Errorf("the filters are not in the address: %s", where)
	}
	row := p.text(`table.users tbody`)
	if !regexp.MustCompile(`Priya Shah[\s\S]*Active`).MatchString(row) {
		t.Errorf("the list of active users shows %q", row)
	}
	// Paging: one user a page, the next page shows the other.
	p.do("the first page", chromedp.Navigate(base+"/console/#/users?limit=1"), chromedp.WaitVisible(chromedp.CSS(`#next-page`)))
	first := p.text(`table.users tbody`)
	p.do("the next page", chromedp.Click(chromedp.CSS(`#next-page`)), chromedp.WaitVisible(chromedp.Search(`//a[text()="First page"]`)))
	if second := p.text(`table.users tbody`); second == first || !strings.Contains(first+second, "Priya Shah") {
		t.Errorf("the pages show %q, then %q", first, second)
	}

	if p.shots != "" {
		// As on a phone.
		p.do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.WaitVisible(chromedp.CSS(`table.users`)))
		p.check("users-phone")
		p.do("a desktop's screen", chromedp.EmulateViewport(1100, 900))
	}

	// A slow page does not cover a newer one: the user's page waits for
	// its answer while the manager has already gone on to Roles.
	p.eval(`(() => { const real = window.fetch; let slowed = false; window.fetch = async (u, o) => {
		if (!slowed && /\/users\/[^/?]+$/.test(String(u))) { slowed = true; await new Promise((r) => setTimeout(r, 1500)); }
		return real(u, o); }; })()`)
	p.eval(fmt.Sprintf(`location.hash = '#/users/%s'`, id))
	p.do("go on to Roles before the user's page is shown", chromedp.Click(chromedp.CSS(`[data-nav=roles]`)), chromedp.WaitVisible(chromedp.CSS(`#create-role`)),
		chromedp.Sleep(2*time.Second))
	if h1, title := p.text("main h1"), get(p, "read the title", chromedp.Title()); h1 != "Roles and Permissions" || !strings.HasPrefix(title, "Roles and Permissions") {
		t.Errorf("after the slow user's page answered, the page shows %q titled %q; want Roles and Permissions", h1, title)
	}

	// Roles and Permissions: review, create.
	p.do("Roles and Permissions", chromedp.Click(chromedp.CSS(`[data-nav=roles]`)), chromedp.WaitVisible(chromedp.CSS(`#create-role`)))
	p.check("roles")
	p.do("Create role", chromedp.Click(chromedp.CSS(`#create-role`)), chromedp.WaitVisible(chromedp.CSS(`#role-form`)))
	p.typeInto(`#role-form input[name=name]`, "Night Supervisor")
	p.typeInto(`#role-form input[name=description]`, "Runs the night shift")
	p.do("tick permissions", chromedp.Click(chromedp.CSS(`#perm-planner-view`)), chromedp.Click(chromedp.CSS(`#perm-users-view`)))
	p.check("create-role")
	p.do("Create role", chromedp.Click(chromedp.CSS(`#save-role`)), chromedp.WaitVisible(chromedp.CSS(`#create-role`)))
	if roles := p.text("main table"); !strings.Contains(roles, "Night Supervisor") || !strings.Contains(roles, "users.view, planner.view") {
		t.Errorf("the roles after creating one: %q", roles)
	}
	p.do("Edit the role", chromedp.Click(chromedp.CSS(`a[aria-label="Edit Night Supervisor"]`)), chromedp.WaitVisible(chromedp.CSS(`#role-form`)))
	p.typeInto(`#role-form input[name=description]`, "Runs the night shift and its handover")
	p.do("untick planner.view", chromedp.Click(chromedp.CSS(`#perm-planner-view`)))
	p.do("Save the role", chromedp.Click(chromedp.CSS(`#save-role`)), chromedp.WaitVisible(chromedp.CSS(`#create-role`)))
	if roles := p.text("main table"); !strings.Contains(roles, "Runs the night shift and its handover\tusers.view\t") {
		t.Errorf("the roles after editing one: %q", roles)
	}
	// Deleting a role asks first; Keep it keeps it.
	p.do("Edit the role", chromedp.Click(chromedp.CSS(`a[aria-label="Edit Night Supervisor"]`)), chromedp.WaitVisible(chromedp.CSS(`#role-form`)))
	p.do("Delete role", chromedp.Click(chromedp.CSS(`#delete-role`)), chromedp.WaitVisible(chromedp.CSS(`#confirm-delete`)))
	if q := p.text("#confirm-delete"); !strings.Contains(q, "Delete the role Night Supervisor?") {
		t.Errorf("deleting a role asks %q", q)
	}
	p.check("delete-role")
	if r := call(t, s, "GET", "/roles", token, ""); !strings.Contains(fmt.Sprint(r.body), "Night Supervisor") {
		t.Errorf("asking whether to delete the role deleted it: %v", r.body)
	}
	p.do("Keep it", chromedp.Click(chromedp.CSS(`#keep-role`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm-delete`)))
	p.do("Delete role, and confirm", chromedp.Click(chromedp.CSS(`#delete-role`)), chromedp.WaitVisible(chromedp.CSS(`#confirm-delete-role`)),
		chromedp.Click(chromedp.CSS(`#confirm-delete-role`)), chromedp.WaitVisible(chromedp.CSS(`#create-role`)))
	if roles := p.text("main table"); strings.Contains(roles, "Night Supervisor") {
		t.Errorf("the roles after deleting one: %q", roles)
	}

	// Create User with the keyboard alone: Tab, the arrow keys, Space and
	// Enter, each landing where a person expects.
	active := func() string {
		return get(p, "read the focus", chromedp.Evaluate[string](`(() => { const a = document.activeElement; return a.name || a.id || a.tagName; })()`))
	}
	focusedH1 := func(want string) {
		t.Helper()
		for i := 0; i < 50 && !p.truth(`document.activeElement.tagName === 'H1' && document.activeElement.textContent === `+fmt.Sprintf("%q", want)); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if got := p.text("main h1"); got != want || active() != "H1" {
			t.Fatalf("the page shows %q with the focus on %s; want %q with the focus on its heading", got, active(), want)
		}
	}
	press := func(what, keys, want string) {
		t.Helper()
		p.do(what, chromedp.KeyEvent(keys))
		if got := active(); got != want {
			t.Fatalf("%s: the focus is on %q, want %q", what, got, want)
		}
	}
	p.do("Users", chromedp.Navigate(base+"/console/#/users"), chromedp.WaitVisible(chromedp.CSS(`#create-user`)))
	focusedH1("Users")
	press("Tab to Create User", kb.Tab, "create-user")
	p.do("Enter on Create User", chromedp.KeyEvent(kb.Enter))
	focusedH1("Create User")
	press("Tab to the user type", kb.Tab, "type")
	press("the arrow to External User", kb.ArrowDown, "type")
	if !p.truth(`document.querySelector('#type-external').checked && document.querySelector('#external-access').checkVisibility()`) {
		t.Errorf("the down arrow did not choose External User and show its access")
	}
	press("the arrow back to Internal User", kb.ArrowUp, "type")
	for _, f := range []struct{ name, text string }{
		{"firstName", "Kim"}, {"lastName", "Lee"}, {"email", "kim.lee@example.com"}, {"phone", "07911 000111"}, {"jobTitle", "Night Lead"},
	} {
		press("Tab to "+f.name, kb.Tab, f.name)
		p.do("type "+f.name, chromedp.KeyEvent(f.text))
	}
	press("Tab to Role", kb.Tab, "role")
	for i := 0; i < 12 && p.value(form+`select[name=role]`) != "supervisor"; i++ {
		p.do("the arrow down the roles", chromedp.KeyEvent(kb.ArrowDown))
	}
	press("Tab to Hold Invite", kb.Tab, "holdInvite")
	holdTicked := func() bool {
		return p.truth(`document.querySelector('#create-user-form input[name=holdInvite]').checked`)
	}
	press("Space on Hold Invite", " ", "holdInvite")
	if holdTicked() {
		t.Errorf("Space did not untick Hold Invite")
	}
	press("Space on Hold Invite again", " ", "holdInvite")
	press("Tab to Create User", kb.Tab, "create-button")
	p.do("Enter on Create User", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#edit-button`)))
	kimURL := get(p, "read the address", chromedp.Location())
	kim := call(t, s, "GET", "/users/"+kimURL[strings.LastIndex(kimURL, "/")+1:], token, "").body
	if kim["email"] != "kim.lee@example.com" || kim["firstName"] != "Kim" || kim["lastName"] != "Lee" || kim["jobTitle"] != "Night Lead" ||
		kim["role"] != "supervisor" || kim["type"] != "internal" || kim["holdInvite"] != true {
		t.Errorf("created with the keyboard: %v", kim)
	}

	// In AWS the console signs in with Cognito managed login: the
	// authorization code flow with PKCE, the code gone from the address
	// once used; signing out goes through the managed login's logout.
	login := newFakeManagedLogin(t, "console-client", token)
	inAWS := consoleAsInAWS(t, base, login)
	awsTab, closeAWSTab := chromedp.NewContext(ctx)
	m := browserPage{t: t, ctx: awsTab}
	m.do("open the console as in AWS", chromedp.Navigate(inAWS+"/console"), chromedp.WaitVisible(chromedp.CSS(`#signin-button`)))
	m.signedOut("on opening the console in AWS")
	m.do("Sign in with managed login", chromedp.Click(chromedp.CSS(`#signin-button`)), chromedp.WaitVisible(chromedp.CSS(`table.users`)))
	if where := get(m, "read the address", chromedp.Location()); where != inAWS+"/console#/users" {
		t.Errorf("after managed login the address is %s", where)
	}
	if rows := m.text(`table.users tbody`); !strings.Contains(rows, "Priya Shah") {
		t.Errorf("signed in through managed login, the list shows %q", rows)
	}
	m.do("Sign out of managed login", chromedp.Click(chromedp.CSS(`#signout`)), chromedp.WaitVisible(chromedp.CSS(`#signin-button`)))
	login.mu.Lock()
	if !login.exchanged || !login.loggedOut {
		t.Errorf("managed login: code exchanged %v, signed out %v", login.exchanged, login.loggedOut)
	}
	login.mu.Unlock()
	closeAWSTab()

	// Sign out ends the session: the console asks to sign in again.
	p.do("sign out", chromedp.Click(chromedp.CSS(`#signout`)), chromedp.WaitVisible(chromedp.CSS(`#token-signin`)))
	p.signedOut("after signing out")
	stored := get(p, "read the session", chromedp.Evaluate[string](`JSON.stringify(sessionStorage)`))
	if strings.Contains(stored, token) {
		t.Errorf("the token is still stored after sign-out: %s", stored)
	}
	// Tokens stay out of the logs (and the addresses the server saw).
	for who, secret := range map[string]string{"the administrator's": token, "Priya's": priyaToken} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("%s token is in the server's log", who)
		}
	}
}
