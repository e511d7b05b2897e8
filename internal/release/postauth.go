package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// Login attributes the post-authentication trigger reads.
const (
	AttrUserID = "custom:opsos_user_id"
	AttrEmail  = "email"
)

// ActivationStore is what recording a first sign-in needs of the store.
type ActivationStore interface {
	GetUser(ctx context.Context, id string) (user.User, error)
	UpdateUser(ctx context.Context, u user.User, expectedVersion int64, a onboarding.AuditEntry) error
	ListUsers(ctx context.Context, q onboarding.ListQuery) (onboarding.Page, error)
}

// Activations records first sign-ins. It is apart from the Worker so that
// the post-authentication function needs only the store.
type Activations struct {
	store ActivationStore
	now   func() time.Time
	log   *slog.Logger
}

// NewActivations returns the recorder of first sign-ins.
func NewActivations(store ActivationStore, now func() time.Time, log *slog.Logger) *Activations {
	return &Activations{store: store, now: func() time.Time { return now().UTC() }, log: log}
}

// PostAuthentication is the Cognito post-authentication trigger: after a
// user's first sign-in with their own password, their status becomes
// active. A failure to record it is logged, not returned: the user has
// signed in, and refusing them for a bookkeeping write would be worse;
// the status diagnosis still sees the login confirmed.
func (a *Activations) PostAuthentication(ctx context.Context, ev events.CognitoEventUserPoolsPostAuthentication) (events.CognitoEventUserPoolsPostAuthentication, error) {
	attrs := ev.Request.UserAttributes
	if err := a.Activated(ctx, attrs[AttrUserID], attrs[AttrEmail]); err != nil {
		a.log.ErrorContext(ctx, "could not record the first sign-in", "userId", attrs[AttrUserID], "error", err.Error())
	}
	return ev, nil
}

// PostAuthentication is the trigger on the worker's store; see Activations.
func (w *Worker) PostAuthentication(ctx context.Context, ev events.CognitoEventUserPoolsPostAuthentication) (events.CognitoEventUserPoolsPostAuthentication, error) {
	return NewActivations(w.store, w.now, w.log).PostAuthentication(ctx, ev)
}

// Activated records a user's first sign-in with their own password: the
// Cognito post-authentication trigger, and the local login, call it. An
// invited user becomes active; so does one still releasing when the
// login names the user by OpsOS id and email both: the worker created
// that login and emailed its password, then died before recording
// invited, and the sign-in proves the email arrived (DESIGN.md §10).
// Anything else is left alone.
func (a *Activations) Activated(ctx context.Context, userID, email string) error {
	for range 5 {
		u, err := a.find(ctx, userID, email)
		if err != nil || !activates(u, userID, email) {
			return ignoreNotFound(err)
		}
		n := u.Clone()
		now := a.now()
		n.Status, n.ActivatedAt, n.Version, n.UpdatedAt, n.UpdatedBy = user.StatusActive, now, u.Version+1, now, Actor
		e := onboarding.AuditEntry{UserID: n.ID, Version: n.Version, At: n.UpdatedAt, ActorID: Actor, ActorEmail: Actor,
			Source: onboarding.SourceRelease, Action: "activated", Changes: user.Diff(u, n)}
		err = a.store.UpdateUser(ctx, n, u.Version, e)
		if !errors.Is(err, user.ErrVersionConflict) {
			return err
		}
	}
	return fmt.Errorf("record activation of %s: the user keeps changing", userID)
}

// activates reports whether a sign-in of the login with userID and email
// makes u active. A login whose email is not the record's is another
// login (one left from before the email was fixed, say) and activates
// nobody.
func activates(u user.User, userID, email string) bool {
	if email != "" && user.NormalizeEmail(email) != user.NormalizeEmail(u.Email) {
		return false
	}
	switch u.Status {
	case user.StatusInvited:
		return true
	case user.StatusReleasing:
		return userID == u.ID && email != ""
	}
	return false
}

func (a *Activations) find(ctx context.Context, userID, email string) (user.User, error) {
	switch {
	case userID != "":
		return a.store.GetUser(ctx, userID)
	case strings.TrimSpace(email) == "":
		// A login with neither: an email filter of "" would match anyone.
		return user.User{}, user.ErrNotFound
	}
	p, err := a.store.ListUsers(ctx, onboarding.ListQuery{Email: email, Limit: 1})
	if err != nil {
		return user.User{}, err
	}
	if len(p.Users) == 0 {
		return user.User{}, user.ErrNotFound
	}
	return p.Users[0], nil
}
