package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/opsos/onboarding/internal/jsoncheck"
	"github.com/opsos/onboarding/internal/user"
)

// readOnly are the user fields a client sees but cannot set.
var readOnly = []string{"id", "status", "statusReason", "version", "createdAt", "createdBy", "updatedAt", "updatedBy", "invitedAt", "activatedAt"}

// userFields are the members of a user body a client may set.
var userFields = []string{"type", "firstName", "lastName", "email", "phone", "jobTitle", "slackUserId", "role",
	"externalPlannerAccess", "externalPurchasingAccess", "holdInvite", "permissions"}

// decodeUser reads a JSON object of user fields into the patch it asks
// for (a create uses it as the new user's draft), and reports every field
// that is unknown, read-only, of the wrong JSON type or not valid text,
// all at once.
func decodeUser(body []byte) (user.Patch, error) {
	fields, err := jsonObject(body)
	if err != nil {
		return user.Patch{}, err
	}
	var fe []user.FieldError
	r := fieldReader{fields: fields, errs: &fe}
	var p user.Patch
	if t := r.str("type"); t != nil {
		typ := user.Type(*t)
		p.Type = &typ
	}
	p.FirstName, p.LastName, p.Email = r.str("firstName"), r.str("lastName"), r.str("email")
	p.Phone, p.JobTitle, p.SlackUserID, p.Role = r.str("phone"), r.str("jobTitle"), r.str("slackUserId"), r.str("role")
	p.ExternalPlannerAccess, p.ExternalPurchasingAccess = r.boolean("externalPlannerAccess"), r.boolean("externalPurchasingAccess")
	p.HoldInvite = r.boolean("holdInvite")
	p.Grants, p.Revokes = r.permissions()
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		switch {
		case slices.Contains(userFields, k):
		case slices.Contains(readOnly, k):
			r.bad(k, "is read-only")
		default:
			r.bad(unknownName(k), "is not a field of a user")
		}
	}
	if len(fe) > 0 {
		return user.Patch{}, user.InvalidFields(fe...)
	}
	// What encoding/json repaired outside the fields read above (a key, or
	// a value a duplicate key overrode) is refused too: nothing accepted
	// was ever altered on the way in.
	if err := invalidText(body); err != nil {
		return user.Patch{}, err
	}
	return p, nil
}

// jsonObject reads body as one JSON object, member by member.
func jsonObject(body []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &user.Error{Code: user.CodeInvalid, Message: "the request body is empty: send a JSON object of user fields"}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, &user.Error{Code: user.CodeInvalid, Message: "the request body is not a JSON object: " + jsonProblem(err)}
	}
	return fields, nil
}

// fieldReader reads members of one JSON object, collecting what is wrong
// with them under their field names (prefix.name).
type fieldReader struct {
	fields map[string]json.RawMessage
	prefix string
	errs   *[]user.FieldError
}

func (r fieldReader) bad(name, format string, args ...any) {
	*r.errs = append(*r.errs, user.FieldError{Field: r.prefix + name, Message: fmt.Sprintf(format, args...)})
}

// raw returns the member name, nil when absent or not valid text.
func (r fieldReader) raw(name string) json.RawMessage {
	raw, ok := r.fields[name]
	if !ok {
		return nil
	}
	if _, invalid := jsoncheck.InvalidText(raw); invalid {
		r.bad(name, "%s", user.InvalidTextMessage)
		return nil
	}
	return raw
}

// str reads a string member; null clears an optional field (required
// ones then fail validation).
func (r fieldReader) str(name string) *string {
	raw := r.raw(name)
	if raw == nil {
		return nil
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		r.bad(name, "must be a string")
		return nil
	}
	if s == nil {
		s = new(string)
	}
	return s
}

func (r fieldReader) boolean(name string) *bool {
	raw, ok := r.fields[name]
	if !ok {
		return nil
	}
	var b *bool
	if err := json.Unmarshal(raw, &b); err != nil || b == nil {
		r.bad(name, "must be true or false")
		return nil
	}
	return b
}

// list reads a list of strings; null is the empty list.
func (r fieldReader) list(name, rule string) *[]string {
	raw := r.raw(name)
	if raw == nil {
		return nil
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		r.bad(name, "%s", rule)
		return nil
	}
	if l == nil {
		l = []string{}
	}
	return &l
}

// permissions reads {"grant": […], "revoke": […]}, each list replacing
// the user's.
func (r fieldReader) permissions() (grants, revokes *[]string) {
	raw, ok := r.fields["permissions"]
	if !ok {
		return nil, nil
	}
	var perms map[string]json.RawMessage
	if err := json.Unmarshal(raw, &perms); err != nil || perms == nil {
		r.bad("permissions", `must be an object such as {"grant": ["planner.edit"], "revoke": []}`)
	}
	in := fieldReader{fields: perms, prefix: "permissions.", errs: r.errs}
	grants = in.list("grant", "must be a list of permission names")
	revokes = in.list("revoke", "must be a list of permission names")
	for _, k := range slices.Sorted(maps.Keys(perms)) {
		switch k {
		case "grant", "revoke":
		case "effective":
			in.bad("effective", "is read-only: it follows from the role, grants and revokes")
		default:
			in.bad(unknownName(k), "is not a field: use grant and revoke")
		}
	}
	return grants, revokes
}

// invalidText refuses a JSON body holding a string that is not valid
// UTF-8 text (see jsoncheck.InvalidText), naming the field it is in: the
// member names on the way to it, list indexes left out.
func invalidText(body []byte) error {
	path, invalid := jsoncheck.InvalidText(body)
	if !invalid {
		return nil
	}
	var names []string
	for _, p := range path {
		if _, err := strconv.Atoi(p); err != nil {
			names = append(names, unknownName(p))
		}
	}
	if len(names) == 0 {
		return &user.Error{Code: user.CodeInvalid, Message: "the request body " + user.InvalidTextMessage}
	}
	return user.InvalidTextError(strings.Join(names, "."))
}

// unknownName names an unknown key in a field error. The empty key is
// shown quoted: an error with an empty field would name nothing.
func unknownName(k string) string {
	if k == "" {
		return `""`
	}
	return k
}

func jsonProblem(err error) string {
	if err == nil {
		return "got null"
	}
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return err.Error()
}
