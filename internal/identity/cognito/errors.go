package cognito

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/opsos/onboarding/internal/release"
)

// Reasons kept on a user whose release failed, for the manager who reads
// them: each says what is wrong and who can put it right.
const (
	ReasonEmail = "the login service refused the email address as a login name; " +
		"correct the user's email address, then resend the invitation"
	ReasonEmailTaken = "the email address already belongs to another login of the user pool; " +
		"an administrator must remove or rename that login, then resend the invitation"
	ReasonPassword = "the login service refused the generated temporary password under its password policy; " +
		"an administrator must make the user pool's password policy match OpsOS's, then resend the invitation"
	ReasonSettings = "the login service refused the login's settings; " +
		"an administrator must check the user pool (for example that the custom attribute opsos_user_id exists and is mutable), " +
		"then resend the invitation"
	ReasonPool = "the configured user pool does not exist; " +
		"an administrator must correct the user pool id of the release function, then resend the invitation"
)

// classify turns a Cognito failure of operation op into the error the
// release worker acts on: release.ErrNoLogin for a login that does not
// exist, a permanent error for what no retry can fix (the address, the
// password policy, the pool's configuration), and an ordinary error for
// the rest, which the worker retries — throttling (TooManyRequests,
// LimitExceeded), Cognito's internal errors, 5xx answers and the network.
// The SDK's own retryer has already backed off on those.
func classify(op string, err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("%s: %w", op, err)
	}
	msg := strings.ToLower(api.ErrorMessage())
	switch api.ErrorCode() {
	case "UserNotFoundException":
		return fmt.Errorf("%s: %w (%w)", op, release.ErrNoLogin, err)
	case "InvalidPasswordException":
		return release.Permanent(ReasonPassword, fmt.Errorf("%s: %w", op, err))
	case "AliasExistsException":
		return release.Permanent(ReasonEmailTaken, fmt.Errorf("%s: %w", op, err))
	case "InvalidParameterException":
		// Cognito names the faulty field in the message ("Invalid email
		// address format.", "Username should be an email.", "Attributes
		// did not conform to the schema: …"). The email is the one input
		// that differs from user to user; anything else is configuration.
		if strings.Contains(msg, "email") || strings.Contains(msg, "username") {
			return release.Permanent(ReasonEmail, fmt.Errorf("%s: %w", op, err))
		}
		if strings.Contains(msg, "password") {
			return release.Permanent(ReasonPassword, fmt.Errorf("%s: %w", op, err))
		}
		return release.Permanent(ReasonSettings, fmt.Errorf("%s: %w", op, err))
	case "ResourceNotFoundException":
		// Groups are created on demand before this is reached, so what is
		// missing here is the pool itself.
		if strings.Contains(msg, "pool") {
			return release.Permanent(ReasonPool, fmt.Errorf("%s: %w", op, err))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func classifyOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return classify(op, err)
}
