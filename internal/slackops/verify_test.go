package slackops

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// slackSignature signs as Slack documents it, independently of Verifier.
func slackSignature(secret, ts, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":" + body))
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	v := NewVerifier("8f742231b10e8888abcd99yyyzzz85a5", func() time.Time { return now })
	body := "token=x&team_id=T1&command=%2Fopsos-user&text=status+priya%40example.com"
	ts := strconv.FormatInt(now.Unix(), 10)
	old := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	future := strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10)
	good := slackSignature("8f742231b10e8888abcd99yyyzzz85a5", ts, body)
	tests := []struct {
		name          string
		ts, sig, body string
		want          error
	}{
		{"valid", ts, good, body, nil},
		{"valid a minute ago", strconv.FormatInt(now.Add(-time.Minute).Unix(), 10),
			slackSignature("8f742231b10e8888abcd99yyyzzz85a5", strconv.FormatInt(now.Add(-time.Minute).Unix(), 10), body), body, nil},
		{"wrong secret", ts, slackSignature("another-secret", ts, body), body, ErrBadSignature},
		{"body changed", ts, good, body + "&x=1", ErrBadSignature},
		{"replayed body with another timestamp", strconv.FormatInt(now.Add(-time.Second).Unix(), 10), good, body, ErrBadSignature},
		{"older than five minutes", old, slackSignature("8f742231b10e8888abcd99yyyzzz85a5", old, body), body, ErrStaleRequest},
		{"from the future", future, slackSignature("8f742231b10e8888abcd99yyyzzz85a5", future, body), body, ErrStaleRequest},
		{"no signature", ts, "", body, ErrMissingSignature},
		{"no timestamp", "", good, body, ErrMissingSignature},
		{"timestamp not a number", "soon", good, body, ErrMissingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ts != "" {
				h.Set("X-Slack-Request-Timestamp", tt.ts)
			}
			if tt.sig != "" {
				h.Set("X-Slack-Signature", tt.sig)
			}
			if err := v.Verify(h.Get, []byte(tt.body)); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if err := NewVerifier("", time.Now).Verify(http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {good}}.Get, []byte(body)); err == nil {
		t.Error("an empty signing secret verified a request")
	}
}
