package release

import (
	"context"
	"errors"
	"time"

	"github.com/opsos/onboarding/internal/user"
)

// Login is what the identity provider is told about a user.
type Login struct {
	// Email is the login name.
	Email string
	// UserID is the OpsOS user id, kept on the login (custom:opsos_user_id).
	UserID    string
	FirstName string
	LastName  string
	// Group is the user's role id; each role is a group of the same name.
	Group string
}

// LoginStatus is the state of a login at the identity provider.
type LoginStatus string

// The login statuses (Cognito's UserStatus names).
const (
	// LoginNone: there is no login.
	LoginNone LoginStatus = ""
	// LoginForceChangePassword: the temporary password has not been used.
	LoginForceChangePassword LoginStatus = "FORCE_CHANGE_PASSWORD"
	// LoginConfirmed: the user has set their own password.
	LoginConfirmed LoginStatus = "CONFIRMED"
)

// LoginState is what the identity provider says of a login, for diagnosis
// and for deciding whether a re-enabled user needs a new password.
type LoginState struct {
	Status  LoginStatus
	Enabled bool
	Created time.Time
}

// Identity is the login provider: Cognito in AWS, the embedded login of
// local mode. Every method is idempotent, so a retried record is safe.
type Identity interface {
	// Provision makes sure a login exists for l with temporaryPassword as
	// its one-time password, in group l.Group and enabled: it creates the
	// login, or, when it exists already, resets its temporary password so
	// that only the newest one works. No message is sent by the provider.
	Provision(ctx context.Context, l Login, temporaryPassword string) error
	// SetGroup puts the login in group and out of every other role group,
	// creating the group if needed.
	SetGroup(ctx context.Context, email, group string) error
	// Suspend disables the login and signs it out everywhere.
	Suspend(ctx context.Context, email string) error
	// Enable enables a suspended login.
	Enable(ctx context.Context, email string) error
	// State returns the login's state; Status is LoginNone when there is
	// no login.
	State(ctx context.Context, email string) (LoginState, error)
}

// Message is one email.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends email: SES in AWS, the local mailbox in local mode.
type Mailer interface {
	// Send sends m and returns the provider's message id.
	Send(ctx context.Context, m Message) (id string, err error)
}

// PermanentError is a failure that retrying cannot fix, such as an address
// the mail service rejects. The user's release ends in release_failed with
// Reason, instead of being retried.
type PermanentError struct {
	Reason string
	Err    error
}

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a permanent failure with a reason for people.
func Permanent(reason string, err error) error { return &PermanentError{Reason: reason, Err: err} }

// IsPermanent reports whether err is a permanent failure, and its reason.
func IsPermanent(err error) (string, bool) {
	var p *PermanentError
	if errors.As(err, &p) {
		return p.Reason, true
	}
	return "", false
}

// ErrNoLogin is returned by Identity methods other than Provision and
// State when the login does not exist.
var ErrNoLogin = errors.New("no such login")

// ClaimState is the answer to a claim on a piece of work.
type ClaimState int

// The claim states.
const (
	// Claimed: the caller now owns the work until the claim expires.
	Claimed ClaimState = iota
	// ClaimBusy: another worker owns it and its claim has not expired.
	ClaimBusy
	// ClaimDone: the work was completed before.
	ClaimDone
)

func (c ClaimState) String() string {
	return [...]string{"claimed", "busy", "done"}[c]
}

// Claims records who does which piece of work, so that duplicated,
// retried and concurrent copies of a stream record do it once:
// claim → act → complete, as Powertools' idempotency utility does.
type Claims interface {
	// Claim takes key for the caller until now+hold, unless another
	// unexpired claim holds it or it was completed.
	Claim(ctx context.Context, key string, now time.Time, hold time.Duration) (ClaimState, error)
	// Complete marks key done; later claims answer ClaimDone.
	Complete(ctx context.Context, key string, now time.Time) error
	// Abandon gives an in-progress claim up after a failure that a retry
	// may fix, so the retry need not wait for the claim to run out.
	Abandon(ctx context.Context, key string) error
}

// Logins is an Identity seen as the onboarding service's Logins: what the
// status diagnosis asks of a login, answered from the provider.
type Logins struct{ Identity Identity }

// LoginFacts implements onboarding.Logins.
func (f Logins) LoginFacts(ctx context.Context, email string) (user.LoginFacts, error) {
	st, err := f.Identity.State(ctx, email)
	if err != nil {
		return user.LoginFacts{}, err
	}
	return user.LoginFacts{Exists: st.Status != LoginNone, Enabled: st.Enabled, Confirmed: st.Status == LoginConfirmed}, nil
}

// NoticeKind is the outcome a notice reports.
type NoticeKind string

// The outcomes the worker tells people about.
const (
	// NoticeInvited: the login exists and the temporary password was emailed.
	NoticeInvited NoticeKind = "invited"
	// NoticeReleaseFailed: provisioning gave up; Notice.Reason says why.
	NoticeReleaseFailed NoticeKind = "release_failed"
	// NoticeSuspended: Hold Invite was turned back on after release.
	NoticeSuspended NoticeKind = "suspended"
	// NoticeReactivated: a suspended user who had set their own password
	// was released again and can sign in with it.
	NoticeReactivated NoticeKind = "reactivated"
)

// Notice is one outcome for the managers' channel. It names the user and
// the manager; it never carries a password or any other secret.
type Notice struct {
	Kind     NoticeKind
	UserID   string
	FullName string
	Email    string
	// Role is the user's role id.
	Role string
	// By is the email of the manager whose change led to the outcome; empty
	// when unknown.
	By string
	// Reason says why a release failed.
	Reason string
	// Resend is true for an invitation that replaces an earlier one.
	Resend bool
	// At is when the outcome was recorded.
	At time.Time
}

// Notifier tells people the outcome of a release or hold: a Slack channel
// in AWS. Notices are best effort; a failure is logged, never retried.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}
