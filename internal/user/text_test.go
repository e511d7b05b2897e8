package user_test

import (
	"testing"

	"github.com/opsos/onboarding/internal/user"
)

func TestNamesKeepBidiMarks(t *testing.T) {
	// The implicit marks only settle the direction of punctuation and
	// digits; RTL keyboards put them into real names.
	for _, name := range []string{"\u200Fנועה", "Ali\u200E", "\u061Cعلي", "Zoë", "O’Neil", "李"} {
		d := valid()
		d.FirstName, d.JobTitle = name, name
		if _, err := rules.New(d, "u1", "a", t0); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{" Priya.Shah@Example.COM ", "priya.shah@example.com"},
		// NFC: e + combining acute and the precomposed é are one address;
		// lookups normalise even what the rules would refuse to store.
		{"Jose\u0301@example.com", "jos\u00e9@example.com"},
		{"jos\u00e9@example.com", "jos\u00e9@example.com"},
		// The domain in its IDNA ASCII form, however it was written.
		{"user@bücher.example", "user@xn--bcher-kva.example"},
		{"user@bu\u0308cher.example", "user@xn--bcher-kva.example"},
		{"USER@BÜCHER.EXAMPLE", "user@xn--bcher-kva.example"},
		{"user@xn--bcher-kva.example", "user@xn--bcher-kva.example"},
		{"jose@exa\u0308mple.com", "jose@xn--exmple-cua.com"},
		{"admin@localhost", "admin@localhost"},
		{"no-at-sign", "no-at-sign"},
	}
	for _, tt := range tests {
		if got := user.NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInternationalDomainStoredAsPunycode(t *testing.T) {
	for _, in := range []string{"user@bücher.example", "User@Bu\u0308cher.Example", "user@xn--bcher-kva.example"} {
		d := valid()
		d.Email = in
		u, err := rules.New(d, "u1", "a", t0)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if u.Email != "user@xn--bcher-kva.example" {
			t.Errorf("%q stored as %q, want user@xn--bcher-kva.example", in, u.Email)
		}
	}
}

func TestValidText(t *testing.T) {
	for s, want := range map[string]bool{"": true, "Zoë": true, "\U0001F600": true, "\ufffd": true,
		"\xff": false, "a\xc3": false, "\xed\xa0\x80": false /* an encoded surrogate */} {
		if got := user.ValidText(s); got != want {
			t.Errorf("ValidText(%q) = %v, want %v", s, got, want)
		}
	}
}
