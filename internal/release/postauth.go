package release

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// Login attributes the post-authentication trigger reads.
const (
	AttrUserID = "custom:opsos_user_id"
	AttrEmail  = "email"
)

// PostAuthentication is the Cognito post-authentication trigger: after a
// user's first sign-in with their own password, their status becomes
// active. A failure to record it is logged, not returned: the user has
// signed in, and refusing them for a bookkeeping write would be worse;
// the status diagnosis still sees the login confirmed.
func (w *Worker) PostAuthentication(ctx context.Context, ev events.CognitoEventUserPoolsPostAuthentication) (events.CognitoEventUserPoolsPostAuthentication, error) {
	attrs := ev.Request.UserAttributes
	if err := w.Activated(ctx, attrs[AttrUserID], attrs[AttrEmail]); err != nil {
		w.log.ErrorContext(ctx, "could not record the first sign-in", "userId", attrs[AttrUserID], "error", err.Error())
	}
	return ev, nil
}
