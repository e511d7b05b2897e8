package cognito_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/onboarding"
)

var _ cognito.Activator = (*onboarding.Service)(nil)

// activations records the sign-ins it is told of.
type activations struct {
	got [][2]string
	err error
}

func (a *activations) Activate(ctx context.Context, userID, email string) error {
	a.got = append(a.got, [2]string{userID, email})
	return a.err
}

// The trigger hands the login's OpsOS id and email to the service, and the
// event back unchanged; a failure to record is logged, never returned,
// since the user has signed in.
func TestPostAuthenticationHandsTheSignInOver(t *testing.T) {
	var ev events.CognitoEventUserPoolsPostAuthentication
	ev.TriggerSource = "PostAuthentication_Authentication"
	ev.UserName = "7c4e2a1b"
	ev.Request.UserAttributes = map[string]string{cognito.AttrUserID: "u-0001", cognito.AttrEmail: "ann@example.com", cognito.AttrEmailVerified: "true"}
	for _, fail := range []bool{false, true} {
		act := &activations{}
		if fail {
			act.err = errors.New("table unavailable")
		}
		var logs bytes.Buffer
		trigger := cognito.PostAuthentication{Activator: act, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
		out, err := trigger.Handle(context.Background(), ev)
		if err != nil || !reflect.DeepEqual(out, ev) {
			t.Errorf("failing=%v: %+v %v, want the event back and no error", fail, out, err)
		}
		if want := [][2]string{{"u-0001", "ann@example.com"}}; !reflect.DeepEqual(act.got, want) {
			t.Errorf("failing=%v: activated %v, want %v", fail, act.got, want)
		}
		if logged := strings.Contains(logs.String(), "table unavailable"); logged != fail {
			t.Errorf("failing=%v: log %q", fail, logs.String())
		}
	}
}
