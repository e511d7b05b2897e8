package user

import (
	"strings"
	"unicode/utf8"
)

// InvalidTextMessage is the rule broken by text that is not valid UTF-8:
// bytes that are no character, or a JSON escape of a lone UTF-16
// surrogate such as "\ud800". Such text is refused rather than repaired
// with U+FFFD, which would store a name other than the one sent.
const InvalidTextMessage = "must be valid UTF-8 text: it holds bytes (or \\u escapes) that are not characters"

// BidiControlMessage is the rule broken by a name or job title holding an
// explicit text-direction control.
const BidiControlMessage = "must not contain text-direction control characters (U+202A–U+202E, U+2066–U+2069), which can disguise a name"

// ValidText reports whether s is text a user field may hold: valid UTF-8,
// which in Go also rules out encoded surrogates. Decoders that would
// repair invalid input themselves (encoding/json, url.Values, CSV readers
// building runes) check their raw input against the same rule and name
// the field with InvalidTextError.
func ValidText(s string) bool { return utf8.ValidString(s) }

// InvalidTextError is the refusal of a field whose input is not valid
// text, for decoders that find it before the rules see the value.
func InvalidTextError(field string) *Error {
	return InvalidFields(FieldError{Field: field, Message: InvalidTextMessage})
}

// isBidiControl reports whether r is an explicit bidirectional embedding,
// override or isolate (and their terminators). These reorder the text
// that follows them, so "Ann\u202Enimda" shows as "Annadmin": a name can
// be made to look like another one in a list or an audit trail.
//
// The implicit marks U+200E LEFT-TO-RIGHT MARK, U+200F RIGHT-TO-LEFT MARK
// and U+061C ARABIC LETTER MARK are allowed: they are zero-width strong
// characters that only settle the direction of neighbouring punctuation
// and digits, cannot reverse letters, and Hebrew and Arabic keyboards
// and documents insert them into ordinary names.
func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// hasBidiControl reports whether s holds a character isBidiControl refuses.
func hasBidiControl(s string) bool { return strings.ContainsFunc(s, isBidiControl) }
