package slackops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"testing"

	"github.com/opsos/onboarding/internal/user"
)

// Each error reads the same wherever it is answered, except where the
// manager can act on it: a stale card or form, a bulk count that changed,
// a form's fields.
func TestErrorAnswer(t *testing.T) {
	h := &Handler{log: slog.New(slog.DiscardHandler)}
	refused := user.Errorf(user.CodeForbidden, "you cannot hold your own account: ask another manager (rule: self)")
	recount := user.Errorf(user.CodeConflict, "4 users match now, not the 3 you confirmed")
	const (
		sorry      = "Sorry, you can't do that: you cannot hold your own account: ask another manager (rule: self). Nothing was changed. Ask an OpsOS administrator if you need to manage users."
		staleText  = "The user was changed by someone else; reload it and try again."
		staleForm  = "Someone changed this user after you opened the form, so nothing was saved. Close the form and run `/opsos-user edit` again to see their changes."
		staleTitle = "This card was out of date, so nothing was released. Here is the user now"
		emailTaken = "Nothing was changed; please fix:\n• *email* is already used by another user (emails are compared ignoring letter case, Unicode composition and whether the domain is written in Unicode or punycode)"
		internal   = "Something went wrong on our side and nothing was changed. Please try again in a minute."
	)
	tests := []struct {
		err      error
		at       errorSite
		text     string
		outcome  string
		fresh    string
		onInputs map[string]string
	}{
		{refused, atCommand, sorry, "forbidden", "", nil},
		{refused, atForm, sorry, "forbidden", "", nil},
		{user.ErrVersionConflict, atCommand, staleText, "stale", "", nil},
		{fmt.Errorf("release: %w", user.ErrVersionConflict), atCardRelease, staleText, "stale", staleTitle, nil},
		{user.ErrVersionConflict, atForm, staleForm, "stale", "", nil},
		{recount, atCommand, "4 users match now, not the 3 you confirmed.", "conflict", "", nil},
		{recount, atBulkRelease, "4 users match now, not the 3 you confirmed. Run the command again to see who matches now.", "conflict", "", nil},
		{user.ErrEmailTaken, atCommand, emailTaken, "conflict", "", nil},
		{user.ErrEmailTaken, atForm, emailTaken, "invalid", "", map[string]string{"email": "Is already used by another user (emails are compared ignoring letter case, Unicode composition and whether the domain is written in Unicode or punycode)."}},
		{user.InvalidField("grants", "is <unknown>"), atForm, "Nothing was changed; please fix:\n• *grant* is &lt;unknown&gt;", "invalid", "", nil},
		{errors.New("dynamodb: throttled"), atCardRelease, internal, "internal", "", nil},
		{&UsageError{Message: "Say who."}, atCommand, "Say who.", "usage", "", nil},
	}
	for _, tt := range tests {
		a := h.errorAnswer(context.Background(), tt.err, tt.at)
		if a.text != tt.text || a.outcome != tt.outcome || a.fresh != tt.fresh || !reflect.DeepEqual(a.onInputs, tt.onInputs) {
			t.Errorf("%v at %d:\n got %q %s fresh=%q inputs=%v\nwant %q %s fresh=%q inputs=%v",
				tt.err, tt.at, a.text, a.outcome, a.fresh, a.onInputs, tt.text, tt.outcome, tt.fresh, tt.onInputs)
		}
		if len(a.blocks) != 1 {
			t.Errorf("%v at %d: %d blocks, want the text in one", tt.err, tt.at, len(a.blocks))
		}
	}
}
