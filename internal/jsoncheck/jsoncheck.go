// Package jsoncheck finds JSON strings that are not Unicode text.
//
// encoding/json quietly turns invalid UTF-8 bytes, and \u escapes of lone
// UTF-16 surrogates such as "\ud800", into U+FFFD, so a name would be
// stored altered. The strict decoder of github.com/go-json-experiment/json
// (the origin of encoding/json/v2, kept by the Go JSON maintainers) refuses
// both, as RFC 8259 §8.1 and RFC 7493 §2.1 ask, and says where; this
// package turns that into the place a decoder can name to its user.
package jsoncheck

import (
	"bytes"
	"errors"

	"github.com/go-json-experiment/json/jsontext"
)

// InvalidText reports whether data, read as JSON, holds a string (a value
// or a member name) that is not valid Unicode text: invalid UTF-8, or an
// escape of a lone surrogate. A lone surrogate escape is refused like an
// invalid byte: it is not a character, and every decoder would have to
// replace it with something. path is where: the member names and array
// indexes leading to the string, outermost first. Data that is not JSON
// for another reason is not reported; the caller's decoder says what is
// wrong with it.
func InvalidText(data []byte) (path []string, bad bool) {
	dup := jsontext.AllowDuplicateNames(true)
	if jsontext.Value(data).IsValid(dup) || !jsontext.Value(data).IsValid(dup, jsontext.AllowInvalidUTF8(true)) {
		return nil, false
	}
	_, err := jsontext.NewDecoder(bytes.NewReader(data), dup).ReadValue()
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return nil, true
	}
	for tok := range se.JSONPointer.Tokens() {
		path = append(path, tok)
	}
	return path, true
}
