// Package invite writes the invitation email that gives a released user
// their temporary password: a subject, an HTML part and a plain-text part
// with the same facts. The wording lives in templates/ beside this file,
// embedded into the binary, so that it can be read and reviewed as the
// email it is. In the HTML part every value is HTML-escaped, so that
// nothing that came from a person (names, the password) becomes markup.
package invite

import (
	"embed"
	"fmt"
	"html"
	"net/mail"
	"net/url"
	"strings"
	"unicode"

	"github.com/opsos/onboarding/internal/release"
)

// Product is the name the email gives the product and the organisation.
const Product = "OpsOS"

// ExpiryLayout shows when the temporary password stops working, in UTC,
// as in "Friday 4 December 2026 at 09:00 UTC": a weekday and a month name
// leave no doubt about day-month order, whatever the reader's country.
const ExpiryLayout = "Monday 2 January 2006 at 15:04 MST"

//go:embed templates/*
var templateFiles embed.FS

// Composer renders invitations. Make it with New; it is safe for
// concurrent use.
type Composer struct {
	subject, text, html *tmpl
}

// New parses the embedded templates and checks that they use only the
// fields an invitation has.
func New() (*Composer, error) {
	var c Composer
	for _, t := range []struct {
		dst  **tmpl
		file string
	}{{&c.subject, "subject.txt"}, {&c.text, "invitation.txt"}, {&c.html, "invitation.html"}} {
		src, err := templateFiles.ReadFile("templates/" + t.file)
		if err != nil {
			return nil, fmt.Errorf("invite: read template %s: %w", t.file, err)
		}
		if *t.dst, err = parseTemplate(t.file, string(src)); err != nil {
			return nil, fmt.Errorf("invite: parse template: %w", err)
		}
		if err := (*t.dst).check(view{}.fields()); err != nil {
			return nil, fmt.Errorf("invite: template: %w", err)
		}
	}
	return &c, nil
}

// view is what the templates see: every value already cleaned and
// formatted, so the templates hold wording and layout only.
type view struct {
	Product           string
	FirstName         string
	FullName          string
	Inviter           string
	InviterEmail      string // empty when it adds nothing to Inviter
	LoginURL          string
	Username          string
	TemporaryPassword string
	Expires           string
	Resend            bool
}

// Compose writes the invitation inv as an email. It fills Subject, Text
// and HTML; the caller sets To. It fails when the email would be useless:
// no password, username, expiry, or an http(s) login address.
func (c *Composer) Compose(inv release.Invitation) (release.Message, error) {
	v, err := newView(inv)
	if err != nil {
		return release.Message{}, fmt.Errorf("compose invitation: %w", err)
	}
	f := v.fields()
	plain := func(s string) string { return s }
	return release.Message{
		// A subject is one line; the template's own line breaks and any
		// left in a name must not reach the mail header.
		Subject: strings.Join(strings.Fields(c.subject.render(f, plain)), " "),
		Text:    c.text.render(f, plain),
		HTML:    c.html.render(f, html.EscapeString),
	}, nil
}

// fields are the view as the templates see it; false is "".
func (v view) fields() map[string]string {
	resend := ""
	if v.Resend {
		resend = "yes"
	}
	return map[string]string{
		"Product": v.Product, "FirstName": v.FirstName, "FullName": v.FullName, "Inviter": v.Inviter,
		"InviterEmail": v.InviterEmail, "LoginURL": v.LoginURL, "Username": v.Username,
		"TemporaryPassword": v.TemporaryPassword, "Expires": v.Expires, "Resend": resend,
	}
}

func newView(inv release.Invitation) (view, error) {
	var missing []string
	if inv.TemporaryPassword == "" {
		missing = append(missing, "temporary password")
	}
	if inv.Username == "" {
		missing = append(missing, "username")
	}
	if inv.ExpiresAt.IsZero() {
		missing = append(missing, "expiry time")
	}
	if inv.LoginURL == "" {
		missing = append(missing, "login URL")
	}
	if len(missing) > 0 {
		return view{}, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	// Only an http(s) address may become the sign-in link: refuse anything
	// else (a javascript: URL above all) so the misconfiguration shows.
	u, err := url.Parse(inv.LoginURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return view{}, fmt.Errorf("login URL %q is not an http(s) address", inv.LoginURL)
	}

	name, email := oneLine(inv.InviterName), oneLine(inv.InviterEmail)
	if _, err := mail.ParseAddress(email); err != nil || strings.ContainsAny(email, "<>") {
		// The actor may be a service or a Slack id rather than an address:
		// then it is no use as a contact.
		email = ""
	}
	inviter := name
	switch {
	case inviter == "" && email != "":
		inviter = email
	case inviter == "":
		inviter = "Your " + Product + " administrator"
	}
	if strings.EqualFold(inviter, email) {
		email = ""
	}
	full := oneLine(inv.FullName)
	if full == "" {
		full = oneLine(inv.FirstName)
	}
	return view{
		Product:           Product,
		FirstName:         oneLine(inv.FirstName),
		FullName:          full,
		Inviter:           inviter,
		InviterEmail:      email,
		LoginURL:          inv.LoginURL,
		Username:          inv.Username,
		TemporaryPassword: inv.TemporaryPassword,
		Expires:           inv.ExpiresAt.UTC().Format(ExpiryLayout),
		Resend:            inv.Resend,
	}, nil
}

// oneLine turns control characters (line breaks above all) into spaces
// and trims, so that a name cannot start a line of its own in the text
// part that looks like one of the email's facts.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}
