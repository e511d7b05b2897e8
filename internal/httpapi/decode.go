package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/opsos/onboarding/internal/jsoncheck"
	"github.com/opsos/onboarding/internal/user"
)

// readOnly are the user fields a client sees but cannot set.
var readOnly = []string{"id", "status", "statusReason", "version", "createdAt", "createdBy", "updatedAt", "updatedBy", "invitedAt", "activatedAt"}

// userInput is a create or patch body, field by field: nil means absent.
type userInput struct {
	Type                     *user.Type
	FirstName                *string
	LastName                 *string
	Email                    *string
	Phone                    *string
	JobTitle                 *string
	Role                     *string
	ExternalPlannerAccess    *bool
	ExternalPurchasingAccess *bool
	HoldInvite               *bool
	Grants                   *[]string
	Revokes                  *[]string
	SlackUserID              *string
}

// decodeUser reads a JSON object of user fields and reports every field
// that is unknown, read-only or of the wrong JSON type, all at once.
func decodeUser(body []byte) (userInput, error) {
	var in userInput
	var fe []user.FieldError
	bad := func(field, format string, args ...any) {
		fe = append(fe, user.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) == 0 {
		return in, &user.Error{Code: user.CodeInvalid, Message: "the request body is empty: send a JSON object of user fields"}
	}
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return in, &user.Error{Code: user.CodeInvalid, Message: "the request body is not a JSON object: " + jsonProblem(err)}
	}
	str := func(name string, dst **string) {
		raw, ok := fields[name]
		if !ok {
			return
		}
		if _, invalid := jsoncheck.InvalidText(raw); invalid {
			bad(name, "%s", user.InvalidTextMessage)
			return
		}
		var s *string
		if err := json.Unmarshal(raw, &s); err != nil {
			bad(name, "must be a string")
			return
		}
		if s == nil {
			s = new(string) // null clears an optional field; required ones then fail validation
		}
		*dst = s
	}
	boolean := func(name string, dst **bool) {
		raw, ok := fields[name]
		if !ok {
			return
		}
		var b *bool
		if err := json.Unmarshal(raw, &b); err != nil || b == nil {
			bad(name, "must be true or false")
			return
		}
		*dst = b
	}
	var typ *string
	str("type", &typ)
	if typ != nil {
		t := user.Type(*typ)
		in.Type = &t
	}
	str("firstName", &in.FirstName)
	str("lastName", &in.LastName)
	str("email", &in.Email)
	str("phone", &in.Phone)
	str("jobTitle", &in.JobTitle)
	str("slackUserId", &in.SlackUserID)
	str("role", &in.Role)
	boolean("externalPlannerAccess", &in.ExternalPlannerAccess)
	boolean("externalPurchasingAccess", &in.ExternalPurchasingAccess)
	boolean("holdInvite", &in.HoldInvite)
	if raw, ok := fields["permissions"]; ok {
		var perms map[string]json.RawMessage
		if err := json.Unmarshal(raw, &perms); err != nil || perms == nil {
			bad("permissions", `must be an object such as {"grant": ["planner.edit"], "revoke": []}`)
		}
		list := func(name string, dst **[]string) {
			raw, ok := perms[name]
			if !ok {
				return
			}
			if _, invalid := jsoncheck.InvalidText(raw); invalid {
				bad("permissions."+name, "%s", user.InvalidTextMessage)
				return
			}
			var l []string
			if err := json.Unmarshal(raw, &l); err != nil {
				bad("permissions."+name, "must be a list of permission names")
				return
			}
			if l == nil {
				l = []string{}
			}
			*dst = &l
		}
		list("grant", &in.Grants)
		list("revoke", &in.Revokes)
		for _, k := range sortedKeys(perms) {
			switch k {
			case "grant", "revoke":
			case "effective":
				bad("permissions.effective", "is read-only: it follows from the role, grants and revokes")
			default:
				bad("permissions."+unknownName(k), "is not a field: use grant and revoke")
			}
		}
	}
	known := []string{"type", "firstName", "lastName", "email", "phone", "jobTitle", "slackUserId", "role",
		"externalPlannerAccess", "externalPurchasingAccess", "holdInvite", "permissions"}
	for _, k := range sortedKeys(fields) {
		switch {
		case slices.Contains(known, k):
		case slices.Contains(readOnly, k):
			bad(k, "is read-only")
		default:
			bad(unknownName(k), "is not a field of a user")
		}
	}
	if len(fe) > 0 {
		return in, &user.Error{Code: user.CodeInvalid, Message: "the request has invalid fields", Fields: fe}
	}
	// What encoding/json repaired outside the fields read above (a key, or
	// a value a duplicate key overrode) is refused too: nothing accepted
	// was ever altered on the way in.
	if err := invalidText(body); err != nil {
		return in, err
	}
	return in, nil
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

func (in userInput) draft() user.Draft {
	d := user.Draft{HoldInvite: in.HoldInvite}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	if in.Type != nil {
		d.Type = *in.Type
	}
	set(&d.FirstName, in.FirstName)
	set(&d.LastName, in.LastName)
	set(&d.Email, in.Email)
	set(&d.Phone, in.Phone)
	set(&d.JobTitle, in.JobTitle)
	set(&d.SlackUserID, in.SlackUserID)
	set(&d.Role, in.Role)
	if in.ExternalPlannerAccess != nil {
		d.ExternalPlannerAccess = *in.ExternalPlannerAccess
	}
	if in.ExternalPurchasingAccess != nil {
		d.ExternalPurchasingAccess = *in.ExternalPurchasingAccess
	}
	if in.Grants != nil {
		d.Grants = *in.Grants
	}
	if in.Revokes != nil {
		d.Revokes = *in.Revokes
	}
	return d
}

func (in userInput) patch() user.Patch {
	return user.Patch{
		Type: in.Type, FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone,
		JobTitle: in.JobTitle, Role: in.Role, ExternalPlannerAccess: in.ExternalPlannerAccess,
		ExternalPurchasingAccess: in.ExternalPurchasingAccess, HoldInvite: in.HoldInvite,
		Grants: in.Grants, Revokes: in.Revokes, SlackUserID: in.SlackUserID,
	}
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
