package cursor_test

import (
	"errors"
	"testing"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/cursor"
)

func TestRoundTripAndTamper(t *testing.T) {
	c := cursor.New("opsos")
	enc := c.Encode("0193a1b2-c3d4-7e5f")
	if got, err := c.Decode(enc); err != nil || got != "0193a1b2-c3d4-7e5f" {
		t.Fatalf("round trip: %q %v", got, err)
	}
	if got, err := c.Decode(""); err != nil || got != "" {
		t.Errorf("empty cursor: %q %v", got, err)
	}
	other := cursor.New("another-table").Encode("0193a1b2-c3d4-7e5f")
	forged := cursor.New("opsos").Encode("0193a1b2-c3d4-7e5g")
	for _, bad := range []string{other, enc[:len(enc)-2], forged[:len(forged)-17] + enc[len(enc)-16:], "garbage", "." + enc} {
		if _, err := c.Decode(bad); !errors.Is(err, onboarding.ErrBadCursor) {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}
