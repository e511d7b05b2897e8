package cursor_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/cursor"
)

func codec(t *testing.T) cursor.Codec {
	t.Helper()
	key, err := cursor.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cursor.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTripAndTamper(t *testing.T) {
	c := codec(t)
	enc := c.Encode("0193a1b2-c3d4-7e5f")
	if got, err := c.Decode(enc); err != nil || got != "0193a1b2-c3d4-7e5f" {
		t.Fatalf("round trip: %q %v", got, err)
	}
	if got, err := c.Decode(""); err != nil || got != "" {
		t.Errorf("empty cursor: %q %v", got, err)
	}
	other := codec(t).Encode("0193a1b2-c3d4-7e5f")
	forged := codec(t).Encode("0193a1b2-c3d4-7e5g")
	for _, bad := range []string{other, enc[:len(enc)-2], forged[:len(forged)-17] + enc[len(enc)-16:], "garbage", "." + enc} {
		if _, err := c.Decode(bad); !errors.Is(err, onboarding.ErrBadCursor) {
			t.Errorf("cursor %q accepted", bad)
		}
	}
	var zero cursor.Codec
	if _, err := zero.Decode(enc); !errors.Is(err, onboarding.ErrBadCursor) {
		t.Error("a codec without a key accepted a cursor")
	}
}

// What the old code keyed cursors with, the table's name, is public: a
// cursor signed with it must not pass.
func TestKeyIsSecretAndRandom(t *testing.T) {
	a, _ := cursor.NewKey()
	b, _ := cursor.NewKey()
	if len(a) != cursor.KeySize || bytes.Equal(a, b) {
		t.Fatalf("keys %x and %x: want two different %d-byte keys", a, b, cursor.KeySize)
	}
	if _, err := cursor.New([]byte("opsos-cursor:opsos")); err == nil {
		t.Error("a short, guessable key was accepted")
	}
}
