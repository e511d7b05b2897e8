package password_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/password"
)

func TestGeneratedPasswordsMeetThePolicyAndDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		pw, err := password.Default().Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := password.Default().Check(pw); err != nil {
			t.Fatalf("%q: %v", pw, err)
		}
		if strings.ContainsAny(pw, "0O1lI") {
			t.Errorf("%q has look-alike characters", pw)
		}
		if seen[pw] {
			t.Fatalf("%q generated twice", pw)
		}
		seen[pw] = true
	}
}

func TestCheckNamesTheRule(t *testing.T) {
	for pw, rule := range map[string]string{
		"Sh0rt!":          "at least 12",
		"alllowercase1!x": "upper-case",
		"ALLUPPERCASE1!X": "lower-case",
		"NoDigitsHere!!x": "digit",
		"NoSymbols123abc": "symbol",
	} {
		err := password.Default().Check(pw)
		if err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("%q: %v, want %q", pw, err, rule)
		}
	}
	if err := password.Default().Check("Correct-Horse-9"); err != nil {
		t.Errorf("a good password refused: %v", err)
	}
}
