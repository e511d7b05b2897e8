// Package password holds the password policy of the user pool, shared by
// the temporary passwords OpsOS generates and by the embedded login of
// local mode, which enforces it on the passwords users choose.
package password

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode"
)

// Policy is a user pool's password policy.
type Policy struct {
	MinLength     int
	RequireUpper  bool
	RequireLower  bool
	RequireDigit  bool
	RequireSymbol bool
}

// Default is the policy of the OpsOS user pool (the CDK stack sets the
// same values on Cognito).
func Default() Policy {
	return Policy{MinLength: 12, RequireUpper: true, RequireLower: true, RequireDigit: true, RequireSymbol: true}
}

// symbols are the special characters Cognito accepts in passwords.
const symbols = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-"

// Check returns an error naming the first rule pw breaks, nil if none.
func (p Policy) Check(pw string) error {
	var upper, lower, digit, symbol bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case strings.ContainsRune(symbols, r):
			symbol = true
		}
	}
	switch {
	case len([]rune(pw)) < p.MinLength:
		return fmt.Errorf("the password must be at least %d characters long", p.MinLength)
	case p.RequireUpper && !upper:
		return fmt.Errorf("the password must contain an upper-case letter")
	case p.RequireLower && !lower:
		return fmt.Errorf("the password must contain a lower-case letter")
	case p.RequireDigit && !digit:
		return fmt.Errorf("the password must contain a digit")
	case p.RequireSymbol && !symbol:
		return fmt.Errorf("the password must contain a symbol such as ! @ # %% & *")
	}
	return nil
}

// Alphabets of generated passwords: no look-alike characters (0/O, 1/l/I),
// because people type these from an email.
const (
	genUpper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	genLower  = "abcdefghijkmnopqrstuvwxyz"
	genDigit  = "23456789"
	genSymbol = "!@#%&*?+=-"
)

// Generate returns a random password from rnd (crypto/rand.Reader in
// production) that satisfies the policy: at least MinLength and 16
// characters, every required class present.
func (p Policy) Generate(rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	n := max(p.MinLength, 16)
	classes := []string{genUpper, genLower, genDigit, genSymbol}
	all := strings.Join(classes, "")
	out := make([]byte, 0, n)
	pick := func(set string) error {
		i, err := rand.Int(rnd, big.NewInt(int64(len(set))))
		if err != nil {
			return fmt.Errorf("generate password: %w", err)
		}
		out = append(out, set[i.Int64()])
		return nil
	}
	for _, c := range classes {
		if err := pick(c); err != nil {
			return "", err
		}
	}
	for len(out) < n {
		if err := pick(all); err != nil {
			return "", err
		}
	}
	// Shuffle so the classes are not always in the first four places.
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rnd, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}
