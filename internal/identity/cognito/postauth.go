package cognito

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// Activator records a first sign-in: the onboarding service.
type Activator interface {
	// Activate records that the login with the OpsOS user id userID
	// (empty when the login has none) and email signed in.
	Activate(ctx context.Context, userID, email string) error
}

// PostAuthentication is the user pool's post-authentication trigger: it
// reads who signed in from the event and hands that to the Activator,
// which makes a user active at their first sign-in with their own
// password. A failure to record it is logged, not returned: the user has
// signed in, and refusing them for a bookkeeping write would be worse;
// the status diagnosis still sees the login confirmed.
type PostAuthentication struct {
	Activator Activator
	Log       *slog.Logger
}

// Handle is the Lambda entry point; it hands the event back unchanged.
func (p PostAuthentication) Handle(ctx context.Context, ev events.CognitoEventUserPoolsPostAuthentication) (events.CognitoEventUserPoolsPostAuthentication, error) {
	attrs := ev.Request.UserAttributes
	if err := p.Activator.Activate(ctx, attrs[AttrUserID], attrs[AttrEmail]); err != nil {
		p.Log.ErrorContext(ctx, "could not record the first sign-in", "userId", attrs[AttrUserID], "error", err.Error())
	}
	return ev, nil
}
