// Package cursor turns a list position into the opaque cursor callers pass
// back for the next page, with a MAC so that a hand-edited, truncated or
// foreign cursor is refused rather than silently read from a wrong place.
//
// The MAC is keyed by a random secret of the deployment (each store keeps
// its own, see NewKey): a key anyone could derive, such as the table's
// name, would let a caller forge a cursor for any position. The key must
// be the same wherever the store is read, and must never be shown.
package cursor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/opsos/onboarding/internal/onboarding"
)

const macLen = 12

// KeySize is the length of a cursor key: that of the HMAC-SHA256 output,
// more would add nothing.
const KeySize = 32

// Codec encodes and checks cursors under one key.
type Codec struct{ key []byte }

// New returns a codec keyed by key, a secret of KeySize random bytes.
func New(key []byte) (Codec, error) {
	if len(key) != KeySize {
		return Codec{}, fmt.Errorf("cursor key: %d bytes, want %d", len(key), KeySize)
	}
	return Codec{key: append([]byte(nil), key...)}, nil
}

// NewKey returns a fresh random key for New.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	return key, nil
}

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
	if !ok || err1 != nil || err2 != nil || len(after) == 0 || len(c.key) == 0 || !hmac.Equal(mac, c.mac(string(after))) {
		return "", onboarding.ErrBadCursor
	}
	return string(after), nil
}

func (c Codec) mac(after string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(after))
	return m.Sum(nil)[:macLen]
}
