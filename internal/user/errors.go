package user

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an application error. Each code maps to exactly one HTTP
// status and one Slack answer; anything without a code is an internal error
// whose detail only goes to the log.
type Code string

// The application error codes.
const (
	CodeInvalid       Code = "invalid"       // the input breaks a rule; Fields says which
	CodeConflict      Code = "conflict"      // the request clashes with the current state
	CodeNotFound      Code = "not_found"     // no such user
	CodeUnauthorized  Code = "unauthorized"  // no (valid) identity
	CodeForbidden     Code = "forbidden"     // identity known, not allowed
	CodeStale         Code = "stale"         // the caller's version is not the current one
	CodeUnprocessable Code = "unprocessable" // well-formed but cannot be honoured (idempotency key reuse)
	CodeInternal      Code = "internal"
)

// FieldError is one broken rule on one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error a user may be shown.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// Rule names the authority rule that refused a forbidden request
	// (containment, self, no-lockout), for clients to tell them apart.
	Rule string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for the conditions adapters report. Compare with errors.Is.
var (
	ErrNotFound   = &Error{Code: CodeNotFound, Message: "user not found"}
	ErrEmailTaken = &Error{Code: CodeConflict, Message: "a user with this email already exists",
		Fields: []FieldError{{Field: "email", Message: "is already used by another user (emails are compared ignoring letter case, Unicode composition and whether the domain is written in Unicode or punycode)"}}}
	ErrVersionConflict = &Error{Code: CodeStale, Message: "the user was changed by someone else; reload it and try again"}
)

// ErrorCode returns the code of err, Internal when it carries none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the message a user may see for err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorRule returns the authority rule that refused err, "" for none.
func ErrorRule(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Rule
	}
	return ""
}

// ErrorFields returns the field errors carried by err, if any.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// fieldErrors collects field errors in input order.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// text adds the invalid-text error for field unless v is valid text, and
// reports whether it was.
func (fe *fieldErrors) text(field, v string) bool {
	if ValidText(v) {
		return true
	}
	fe.add(field, "%s", InvalidTextMessage)
	return false
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return InvalidFields(fe...)
}

// InvalidFields is the answer to input that breaks the rules of the
// fields named: a 400 in the API, the fields listed in Slack.
func InvalidFields(fe ...FieldError) *Error {
	return &Error{Code: CodeInvalid, Message: "the request has invalid fields", Fields: fe}
}

// InvalidField is InvalidFields for one field.
func InvalidField(field, format string, args ...any) *Error {
	return InvalidFields(FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// IgnoreNotFound returns err, or nil when err is ErrNotFound: for writes
// about a user who may be gone, where gone means nothing is left to do.
func IgnoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
