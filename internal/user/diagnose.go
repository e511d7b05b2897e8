package user

import (
	"fmt"
	"time"
)

// Diagnosis answers "why can't X get in?" in plain words.
type Diagnosis struct {
	Status   Status
	CanLogIn bool
	// Summary says what state the login is in.
	Summary string
	// NextStep says what a manager can do about it.
	NextStep string
	// PasswordExpiresAt is when the emailed temporary password stops
	// working, for invited users.
	PasswordExpiresAt time.Time
}

// LoginFacts is what the identity provider says of a user's login.
type LoginFacts struct {
	Exists    bool
	Enabled   bool
	Confirmed bool // the user has set their own password
}

// Diagnose explains u's login state at now, given how long temporary
// passwords stay valid, and, when login is not nil, checks it against what
// the identity provider says.
func Diagnose(u User, now time.Time, tempPasswordValidity time.Duration, login *LoginFacts) Diagnosis {
	d := diagnoseRecord(u, now, tempPasswordValidity)
	if login == nil {
		return d
	}
	switch {
	case (u.Status == StatusInvited || u.Status == StatusActive) && !login.Exists:
		d.CanLogIn = false
		d.Summary = fmt.Sprintf("OpsOS records the user as %s, but the identity provider has no login for %s.", u.Status, u.Email)
		d.NextStep = "Resend the invite: it creates the login and emails a new temporary password."
	case (u.Status == StatusInvited || u.Status == StatusActive) && !login.Enabled:
		d.CanLogIn = false
		d.Summary = fmt.Sprintf("Hold Invite is off, but the login of %s is disabled at the identity provider.", u.Email)
		d.NextStep = "Put the user on hold and release access again to re-enable the login."
	case u.Status == StatusInvited && login.Confirmed:
		d.CanLogIn = true
		d.Summary = fmt.Sprintf("%s has already set their own password and can log in (their first sign-in is still being recorded).", u.Name())
		d.NextStep = "Nothing to do."
	case u.Status == StatusReleasing && login.Exists && login.Enabled && login.Confirmed:
		d.CanLogIn = true
		d.Summary = fmt.Sprintf("%s has already set their own password and can log in (their first sign-in is still being recorded).", u.Name())
		d.NextStep = "Nothing to do."
	case u.Status == StatusReleasing && login.Exists && login.Enabled:
		// The worker creates the login just before it sends the email: a
		// login means the email is out or going out, even if the worker
		// died before recording invited.
		d.CanLogIn = true
		d.Summary = fmt.Sprintf("The login for %s exists and the invitation email with its temporary password has been sent (or is being sent); their first sign-in will activate them.", u.Email)
		d.NextStep = "Ask them to look for the email (and in their spam folder) and sign in."
		if releaseStuck(u, now) {
			d.Summary += fmt.Sprintf(" The release has not been recorded as finished for %s.", since(u, now))
			d.NextStep = "If they did not get the email, Resend Invite starts the release again and emails a new temporary password."
		}
	case u.Status == StatusSuspended && login.Exists && login.Enabled:
		d.Summary = fmt.Sprintf("Hold Invite is on, but the login of %s is still enabled: it is being suspended.", u.Email)
		d.NextStep = "Check again in a minute."
	}
	return d
}

func diagnoseRecord(u User, now time.Time, tempPasswordValidity time.Duration) Diagnosis {
	d := Diagnosis{Status: u.Status}
	name := u.Name()
	const day = "2 January 2006 15:04 MST"
	switch u.Status {
	case StatusIntroduction:
		d.Summary = fmt.Sprintf("Hold Invite (Introduction Mode) is on: %s cannot log in, and no invitation has been sent.", name)
		d.NextStep = "When the role and permissions are set, release access (set Hold Invite to No) to email a temporary password."
	case StatusReleasing:
		if releaseStuck(u, now) {
			d.Summary = fmt.Sprintf("Access was released %s ago, but the release is stuck: the login for %s and the invitation email should have been done within a minute.", since(u, now), name)
			d.NextStep = "Resend the invite (Resend Invite): it starts the release again and emails a new temporary password."
			break
		}
		d.Summary = fmt.Sprintf("Access was released: the login for %s is being created and the invitation email is on its way.", name)
		d.NextStep = "Check again in a minute. If the status does not move on, resend the invite."
	case StatusInvited:
		d.PasswordExpiresAt = u.InvitedAt.Add(tempPasswordValidity)
		if !u.InvitedAt.IsZero() && !now.Before(d.PasswordExpiresAt) {
			d.Summary = fmt.Sprintf("The temporary password emailed to %s expired on %s, before they signed in.", u.Email, d.PasswordExpiresAt.Format(day))
			d.NextStep = "Resend the invite: they will get a new temporary password."
			break
		}
		d.CanLogIn = true
		d.Summary = fmt.Sprintf("A temporary password was emailed to %s on %s; it works until %s. They have not signed in yet.",
			u.Email, u.InvitedAt.Format(day), d.PasswordExpiresAt.Format(day))
		d.NextStep = "Ask them to look for the email (and in their spam folder) and sign in; they will be asked to set their own password first."
	case StatusActive:
		d.CanLogIn = true
		d.Summary = fmt.Sprintf("%s has set their own password and can log in.", name)
		d.NextStep = "If they forgot their password, they can reset it from the sign-in page."
	case StatusSuspended:
		d.Summary = fmt.Sprintf("Hold Invite was turned back on after release: the login of %s is suspended and they cannot log in.", name)
		d.NextStep = "Release access again (set Hold Invite to No) to restore it."
	case StatusReleaseFailed:
		reason := u.StatusReason
		if reason == "" {
			reason = "no reason was recorded"
		}
		d.Summary = fmt.Sprintf("The invitation to %s could not be sent: %s.", u.Email, reason)
		d.NextStep = "Fix what the reason names (for example the email address), then resend the invite."
	default:
		d.Summary = fmt.Sprintf("The status %q is unknown.", u.Status)
	}
	return d
}

// ReleaseStuckAfter is how long a user may stay releasing before the
// diagnosis calls the release stuck: the worker provisions and emails
// within seconds, and its retries of a failed delivery within a few
// minutes (the claim's hold plus Lambda's backoff).
const ReleaseStuckAfter = 5 * time.Minute

// releaseStuck reports whether u has been releasing for longer than a
// release takes. UpdatedAt is when the release (or resend) was written,
// barring an edit since, which only makes the answer later.
func releaseStuck(u User, now time.Time) bool {
	return u.Status == StatusReleasing && !u.UpdatedAt.IsZero() && now.Sub(u.UpdatedAt) >= ReleaseStuckAfter
}

// since says how long ago u was last written, in whole minutes.
func since(u User, now time.Time) string {
	m := int(now.Sub(u.UpdatedAt) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}
