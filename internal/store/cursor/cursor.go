// Package cursor turns a list position into the opaque cursor callers pass
// back for the next page, with a MAC so that a hand-edited, truncated or
// foreign cursor is refused rather than silently read from a wrong place.
// The key only has to be the same wherever the store is read; cursors
// carry no secret.
package cursor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/opsos/onboarding/internal/onboarding"
)

const macLen = 12

// Codec encodes and checks cursors under one key.
type Codec struct{ key []byte }

// New returns a codec keyed by key (for example the table's name).
func New(key string) Codec { return Codec{key: []byte("opsos-cursor:" + key)} }

// Encode returns the cursor for the position after.
func (c Codec) Encode(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after)) + "." + base64.RawURLEncoding.EncodeToString(c.mac(after))
}

// Decode returns the position a cursor holds, or onboarding.ErrBadCursor.
// The empty cursor is the start.
func (c Codec) Decode(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	pos, tag, ok := strings.Cut(s, ".")
	after, err1 := base64.RawURLEncoding.DecodeString(pos)
	mac, err2 := base64.RawURLEncoding.DecodeString(tag)
	if !ok || err1 != nil || err2 != nil || len(after) == 0 || !hmac.Equal(mac, c.mac(string(after))) {
		return "", onboarding.ErrBadCursor
	}
	return string(after), nil
}

func (c Codec) mac(after string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(after))
	return m.Sum(nil)[:macLen]
}
