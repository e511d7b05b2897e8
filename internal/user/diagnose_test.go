package user_test

import (
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/user"
)

// TestDiagnoseReleasing: a user left releasing is told apart by how long
// it has been and by what the identity provider says.
func TestDiagnoseReleasing(t *testing.T) {
	u, _ := rules.New(valid(), "u1", "a", t0)
	u.HoldInvite, u.Status, u.UpdatedAt = false, user.StatusReleasing, t0
	week := 7 * 24 * time.Hour
	for _, tt := range []struct {
		name      string
		after     time.Duration
		login     *user.LoginFacts
		can       bool
		say, next string
	}{
		{"just released", time.Minute, nil, false, "is being created", "Check again in a minute"},
		{"stuck", 10 * time.Minute, nil, false, "the release is stuck", "Resend Invite"},
		{"no login yet", time.Minute, &user.LoginFacts{}, false, "is being created", "Check again in a minute"},
		{"stuck without a login", 10 * time.Minute, &user.LoginFacts{}, false, "the release is stuck", "Resend Invite"},
		{"login made, email out", time.Minute, &user.LoginFacts{Exists: true, Enabled: true}, true,
			"first sign-in will activate them", "look for the email"},
		{"login made, not recorded for long", 10 * time.Minute, &user.LoginFacts{Exists: true, Enabled: true}, true,
			"has not been recorded as finished for 10 minutes", "Resend Invite starts the release again"},
		{"signed in, not yet recorded", 10 * time.Minute, &user.LoginFacts{Exists: true, Enabled: true, Confirmed: true}, true,
			"already set their own password", "Nothing to do"},
		{"being re-enabled", time.Minute, &user.LoginFacts{Exists: true, Confirmed: true}, false, "is being created", "Check again in a minute"},
	} {
		d := user.Diagnose(u, t0.Add(tt.after), week, tt.login)
		if d.CanLogIn != tt.can || !strings.Contains(d.Summary, tt.say) || !strings.Contains(d.NextStep, tt.next) {
			t.Errorf("%s: %+v", tt.name, d)
		}
	}
}
