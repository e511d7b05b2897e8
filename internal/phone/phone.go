// Package phone checks phone numbers and writes them in E.164 (+442079460000),
// following libphonenumber's parsing and validity rules for every region,
// from metadata generated out of github.com/nyaruka/phonenumbers (see
// gen). It keeps the library, its metadata and its start-up work out of
// the Lambda binaries; the tests hold it to the library's answers.
package phone

//go:generate go run ./gen

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// region is one region's numbering plan, as far as validation needs it.
type region struct {
	cc int
	// idd is the international dialling prefix (00, 011, …), a pattern.
	idd string
	// nationalPrefix is the trunk prefix (0, 1, …) as a pattern, possibly
	// with groups that nationalRule rewrites ($1…).
	nationalPrefix, nationalRule string
	// types are the kinds of valid numbers (fixed line, mobile, toll free…).
	types []*numberType

	once              sync.Once
	iddRe, nationalRe *regexp.Regexp
}

// numberType is one kind of number: a whole national number matching
// pattern, of one of the lengths.
type numberType struct {
	pattern string
	lengths []int
	re      *regexp.Regexp
}

func (r *region) compile() {
	r.once.Do(func() {
		if r.idd != "" {
			r.iddRe = regexp.MustCompile("^(?:" + r.idd + ")")
		}
		if r.nationalPrefix != "" {
			r.nationalRe = regexp.MustCompile("^(?:" + r.nationalPrefix + ")")
		}
		for _, t := range r.types {
			t.re = regexp.MustCompile("^(?:" + t.pattern + ")$")
		}
	})
}

// isValid reports whether the national number nsn is a valid number of r:
// of some type, as libphonenumber's IsValidNumber decides.
func (r *region) isValid(nsn string) bool {
	r.compile()
	for _, t := range r.types {
		if slices.Contains(t.lengths, len(nsn)) && t.re.MatchString(nsn) {
			return true
		}
	}
	return false
}

// The tables, built at first use.
var (
	regionsOnce = sync.OnceValue(regionTable)
	codesOnce   = sync.OnceValue(codeTable)
)

// Supported reports whether numbers of the region (ISO 3166 code, such as
// GB) can be checked.
func Supported(regionCode string) bool {
	code := strings.ToUpper(regionCode)
	return len(code) == 2 && strings.Contains(regionCodes, " "+code+" ")
}

// maxDigits is E.164's limit, plus room for prefixes typed with it.
const maxDigits = 20

// Normalize returns v in E.164 when it is a valid number: in international
// form (+44 20 7946 0000, or with the region's international prefix), or in
// the national form of regionCode (020 7946 0000 for GB). Spaces, dots,
// hyphens, slashes and brackets are allowed between the digits.
func Normalize(v, regionCode string) (string, bool) {
	def := regionsOnce()[strings.ToUpper(regionCode)]
	digits, plus, ok := clean(v)
	if !ok || def == nil && !plus {
		return "", false
	}
	if plus {
		return international(digits)
	}
	def.compile()
	if def.iddRe != nil {
		// Dialled with the international prefix, it is international,
		// valid or not, as libphonenumber reads it.
		if loc := def.iddRe.FindStringIndex(digits); loc != nil && loc[1] < len(digits) && digits[loc[1]] != '0' {
			return international(digits[loc[1]:])
		}
	}
	if nsn, ok := national(def, digits); ok {
		return format(def.cc, nsn), true
	}
	// The country code typed without a plus (44 20 7946 0000).
	if cc := strconv.Itoa(def.cc); strings.HasPrefix(digits, cc) {
		if nsn, ok := national(def, digits[len(cc):]); ok {
			return format(def.cc, nsn), true
		}
	}
	return "", false
}

// clean keeps the digits of v and says whether it started with a plus; it
// refuses letters and anything else that is not formatting.
func clean(v string) (digits string, plus, ok bool) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "+") || strings.HasPrefix(v, "＋") {
		plus = true
		v = strings.TrimPrefix(strings.TrimPrefix(v, "+"), "＋")
	}
	var b strings.Builder
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0' || r == '\u2010' || r == '\u2011' || r == '\u2013':
		default:
			return "", false, false
		}
	}
	digits = b.String()
	return digits, plus, len(digits) >= 2 && len(digits) <= maxDigits
}

// international reads digits that follow a plus: a calling code of one to
// three digits, then a national number valid in one of its regions.
func international(digits string) (string, bool) {
	for l := 1; l <= 3 && l < len(digits); l++ {
		cc, _ := strconv.Atoi(digits[:l])
		ids, ok := codesOnce()[cc]
		if !ok {
			continue
		}
		// A national prefix typed after the code (+44 (0)20 …) goes, as
		// the code's main region reads it.
		rest := digits[l:]
		if nsn, ok := stripNational(regionsOnce()[ids[0]], rest); ok && validIn(ids, nsn) {
			return format(cc, nsn), true
		}
		if validIn(ids, rest) {
			return format(cc, rest), true
		}
		return "", false
	}
	return "", false
}

// validIn reports whether nsn is valid in one of the regions.
func validIn(ids []string, nsn string) bool {
	for _, id := range ids {
		if regionsOnce()[id].isValid(nsn) {
			return true
		}
	}
	return false
}

// national reads a number in r's national form. Like libphonenumber, it
// accepts a number valid in any region sharing r's calling code (a
// Guernsey mobile typed in GB form).
func national(r *region, digits string) (string, bool) {
	ids := codesOnce()[r.cc]
	if nsn, ok := stripNational(r, digits); ok && validIn(ids, nsn) {
		return nsn, true
	}
	if validIn(ids, digits) {
		return digits, true
	}
	return "", false
}

// stripNational removes r's national prefix from digits as libphonenumber
// does, applying the region's rewrite rule when it has one.
func stripNational(r *region, digits string) (string, bool) {
	r.compile()
	if r.nationalRe == nil {
		return "", false
	}
	m := r.nationalRe.FindStringSubmatchIndex(digits)
	if m == nil {
		return "", false
	}
	groups := len(m)/2 - 1
	if r.nationalRule == "" || m[groups*2] < 0 {
		return digits[m[1]:], m[1] < len(digits)
	}
	return string(r.nationalRe.ExpandString(nil, strings.ReplaceAll(r.nationalRule, "$", "$"), digits, m)) + digits[m[1]:], true
}

func format(cc int, nsn string) string { return "+" + strconv.Itoa(cc) + nsn }
