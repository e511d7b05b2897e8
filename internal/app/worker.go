package app

import (
	"time"

	"github.com/opsos/onboarding/internal/password"
	"github.com/opsos/onboarding/internal/release"
)

// WorkerParts are the release worker's adapters, picked by its caller:
// Cognito, SES and the Slack channel in the release function; the local
// logins and mailbox in local mode.
type WorkerParts struct {
	Identity release.Identity
	Mailer   release.Mailer
	// Compose writes the invitation (invite.Composer's Compose).
	Compose release.Composer
	// Notifier is told the outcomes; nil tells nobody.
	Notifier release.Notifier
	// LoginURL is where invited users sign in; Config.LoginURL when empty.
	LoginURL string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Worker builds the release worker on the Root's store with p's
// adapters: the release function and local mode build it alike, so a
// stream record meets the same worker in both.
func Worker(r *Root, p WorkerParts) (*release.Worker, error) {
	cfg := r.Config
	if p.LoginURL == "" {
		p.LoginURL = cfg.LoginURL
	}
	if p.LoginURL == "" {
		return nil, cfg.Require("the release worker", "OPSOS_LOGIN_URL")
	}
	deps := release.Deps{
		Store:     r.Store,
		Outcomes:  r.Service,
		Identity:  p.Identity,
		Mailer:    p.Mailer,
		Compose:   p.Compose,
		Passwords: func() (string, error) { return password.Default().Generate(nil) },
		Now:       p.Now,
		Log:       r.Log,
	}
	return release.New(deps, release.Config{LoginURL: p.LoginURL, TemporaryPasswordValidity: cfg.TempPasswordValidity,
		Notifier: p.Notifier, SendRate: cfg.SendRate}), nil
}
