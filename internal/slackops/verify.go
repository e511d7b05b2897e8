// Package slackops serves /opsos-user in Slack: it verifies each request,
// parses the command, and answers with Block Kit. It translates; the
// onboarding service decides.
package slackops

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors of request verification. Each means: answer 401, touch nothing.
var (
	ErrMissingSignature = errors.New("the request has no Slack signature or timestamp")
	ErrStaleRequest     = errors.New("the request's timestamp is more than five minutes from now")
	ErrBadSignature     = errors.New("the request's signature does not match its body")
)

// window is how far a request's timestamp may be from now (Slack's
// documented five minutes), which bounds replays.
const window = 5 * time.Minute

// Verifier checks Slack's v0 request signatures: HMAC-SHA256 of
// "v0:<timestamp>:<raw body>" under the signing secret.
type Verifier struct {
	secret []byte
	now    func() time.Time
}

// NewVerifier returns a verifier for the signing secret.
func NewVerifier(secret string, now func() time.Time) Verifier {
	return Verifier{secret: []byte(secret), now: now}
}

// Verify checks the signature of body, the raw request body exactly as
// Slack sent it, against the X-Slack-Request-Timestamp and
// X-Slack-Signature headers found by header (case-insensitive lookup).
func (v Verifier) Verify(header func(string) string, body []byte) error {
	ts, sig := strings.TrimSpace(header("X-Slack-Request-Timestamp")), strings.TrimSpace(header("X-Slack-Signature"))
	if ts == "" || sig == "" || len(v.secret) == 0 {
		return ErrMissingSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrMissingSignature
	}
	if d := v.now().Sub(time.Unix(secs, 0)); d > window || d < -window {
		return ErrStaleRequest
	}
	want := sign(v.secret, ts, body)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the headers Slack sends with body at t, signed with
// secret: for tools that stand in for Slack, such as `opsos slack`.
func Sign(secret string, t time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	return timestamp, sign([]byte(secret), timestamp, body)
}

// sign returns the signature Slack sends for body at timestamp ts.
func sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}
