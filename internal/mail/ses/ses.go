// Package ses sends the release worker's email through Amazon SES (API
// v2). It decides which SES failures are permanent, so that a rejected
// address ends the user's release as release_failed with a reason a
// manager can act on, while throttling and outages are retried.
package ses

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/opsos/onboarding/internal/release"
)

// Mailer sends email with SES v2 SendEmail.
type Mailer struct {
	client           *sesv2.Client
	from             string
	configurationSet string
}

var _ release.Mailer = (*Mailer)(nil)

// New returns a Mailer that sends from the address from (an SES verified
// identity, optionally with a display name: "OpsOS <no-reply@example.com>")
// using configurationSet when it is not empty.
func New(client *sesv2.Client, from string, configurationSet string) *Mailer {
	return &Mailer{client: client, from: from, configurationSet: configurationSet}
}

// NewLocalClient returns a client of aws-ses-v2-local at endpoint. The
// emulator wants a signed request but checks no credentials.
func NewLocalClient(endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("opsoslocal", "local", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

// Send sends m as one UTF-8 message with an HTML and a text part and
// returns the SES message id.
func (m *Mailer) Send(ctx context.Context, msg release.Message) (string, error) {
	if err := checkRecipient(msg.To); err != nil {
		return "", err
	}
	body := &types.Body{}
	if msg.Text != "" {
		body.Text = &types.Content{Data: aws.String(msg.Text), Charset: aws.String("UTF-8")}
	}
	if msg.HTML != "" {
		body.Html = &types.Content{Data: aws.String(msg.HTML), Charset: aws.String("UTF-8")}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: []string{msg.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(msg.Subject), Charset: aws.String("UTF-8")},
			Body:    body,
		}},
	}
	if m.configurationSet != "" {
		in.ConfigurationSetName = aws.String(m.configurationSet)
	}
	out, err := m.client.SendEmail(ctx, in)
	if err != nil {
		return "", classify(err)
	}
	if out.MessageId == nil || *out.MessageId == "" {
		// SES always names a message it accepted; without a name we cannot
		// tell whether it was sent, and a retry is the safe side.
		return "", errors.New("ses send email: the answer holds no message id")
	}
	return *out.MessageId, nil
}

// checkRecipient refuses what is not one bare address before SES sees
// it: SES would refuse it too, but a name part ("Ann <a@b>") it would
// accept and deliver, and this adapter sends to exactly one address.
func checkRecipient(to string) error {
	a, err := mail.ParseAddress(to)
	if err != nil || a.Name != "" || a.Address != to {
		return release.Permanent(ReasonInvalid, fmt.Errorf("recipient %q is not one bare email address", to))
	}
	return nil
}

// Reasons kept on a user whose release failed, for the manager who reads
// them: each says what happened and who can do something about it.
const (
	ReasonRejected = "the email address was rejected by the mail service"
	ReasonInvalid  = "the email address is not a valid email address"
	ReasonSandbox  = "the email address was rejected by the mail service: " +
		"while SES is in its sandbox it only delivers to verified addresses; " +
		"an administrator must verify the address or move SES out of the sandbox, then resend the invitation"
	ReasonSender = "the mail service cannot send from the configured sender address because its domain is not verified; " +
		"an administrator must verify it in SES, then resend the invitation"
	ReasonAccount = "the mail service account may not send email at present (suspended or paused); " +
		"an administrator must resolve it in SES, then resend the invitation"
	ReasonSettings = "the mail service refused the message because of the mail settings; " +
		"an administrator must check them (sender, configuration set), then resend the invitation"
)

// classify tells failures that another attempt cannot fix — the message
// or an address refused, the account not allowed to send — from those it
// can (throttling, quotas, SES or network trouble). The permanent ones end
// the release with a reason instead of being retried until the stream
// record expires; after the fix the manager resends.
func classify(err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("ses send email: %w", err)
	}
	msg := strings.ToLower(api.ErrorMessage())
	switch api.ErrorCode() {
	case "MessageRejected":
		// In the sandbox SES refuses unverified recipients with this code;
		// the remedy is not the address, so say so.
		if strings.Contains(msg, "not verified") {
			return release.Permanent(ReasonSandbox, err)
		}
		return release.Permanent(ReasonRejected, err)
	case "BadRequestException":
		// SES names the syntax fault of an address ("Illegal address",
		// "Missing final '@domain'", "Domain contains illegal character"):
		// the recipient's is the one that varies from send to send.
		if strings.Contains(msg, "address") || strings.Contains(msg, "domain") {
			return release.Permanent(ReasonRejected, err)
		}
		return release.Permanent(ReasonSettings, err)
	case "MailFromDomainNotVerifiedException":
		return release.Permanent(ReasonSender, err)
	case "AccountSuspendedException", "SendingPausedException":
		return release.Permanent(ReasonAccount, err)
	case "NotFoundException":
		// SendEmail looks up nothing but the configuration set (and
		// identity ARNs, which OpsOS does not use).
		return release.Permanent(ReasonSettings, err)
	}
	// TooManyRequestsException, LimitExceededException (sending rate or
	// daily quota), InternalServiceErrorException, any 5xx and anything
	// unknown: a later attempt may succeed.
	return fmt.Errorf("ses send email: %w", err)
}
