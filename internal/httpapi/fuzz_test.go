package httpapi

import (
	"encoding/json"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/jsoncheck"
	"github.com/opsos/onboarding/internal/user"
)

// e164 is what a stored phone number looks like: a plus, a country code
// that does not start with 0, at most 15 digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// FuzzDecodeUser feeds any bytes to the API's user decoding and to the
// domain's validation, as a create body and as a PATCH body (on a user in
// Introduction Mode and on one already invited). What a client relies on:
//   - nothing panics;
//   - text that is not UTF-8 (invalid bytes, lone surrogate escapes) is
//     refused, never stored repaired with U+FFFD;
//   - a refusal is a 400 (user.CodeInvalid) that says what is wrong: a
//     message, and, for a rule broken, the fields by name;
//   - what is accepted is stored normalised (lower-case trimmed email,
//     E.164 phone, a role id of the catalogue, sorted known permissions,
//     Introduction Mode unless holdInvite is false);
//   - normalising is idempotent: the user the API returns, sent back as a
//     body, describes the same user; a PATCH applied twice changes nothing
//     the second time.
func FuzzDecodeUser(f *testing.F) {
	for _, name := range []string{"create-user.json", "patch-user.json"} {
		f.Add([]byte(sampleBody(f, name)))
	}
	for _, s := range []string{
		`{"firstName":"Ann","lastName":"Lee","email":"ann.lee@example.com","role":"staff"}`,
		`{"type":"external","firstName":" Zoë ","lastName":"O’Neil","email":" ANN@Example.COM ","phone":"+1 (415) 555-2671","role":"operations manager","externalPlannerAccess":true,"holdInvite":false}`,
		`{"firstName":"A","lastName":"B","email":"a@b.co","role":"planner-worker"}`,
		`{"phone":null,"jobTitle":null,"slackUserId":" u012ab3cd "}`,
		`{"permissions":{"grant":["PLANNER.EDIT"," reports.view","planner.edit"],"revoke":null}}`,
		`{"permissions":{"grant":["x"],"effective":[]},"id":"1","status":"active","nickname":"al"}`,
		`{"holdInvite":null,"externalPlannerAccess":"yes","email":7,"permissions":[]}`,
		`{"email":"ann.lee@example.com"}`,
		`{"holdInvite":false}`,
		`{"holdInvite":true}`,
		`{}`, `null`, `[]`, `"x"`, ``, `   `, `{"firstName":"Ann"`,
	} {
		f.Add([]byte(s))
	}
	cat := access.DefaultCatalogue()
	rules := user.Rules{Catalogue: cat, PhoneRegion: "GB"}
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	hold := true
	intro, err := rules.New(user.Draft{FirstName: "Priya", LastName: "Shah", Email: "priya.shah@example.com",
		Role: "supervisor", Grants: []string{"purchasing.approve"}, HoldInvite: &hold}, "u-1", "admin@localhost", now)
	if err != nil {
		f.Fatal(err)
	}
	invited := intro.Clone()
	invited.ID, invited.Email, invited.HoldInvite, invited.Status, invited.InviteGeneration = "u-2", "sam@example.com", false, user.StatusInvited, 1

	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeUser(body)
		if err != nil {
			checkRefusal(t, "decode", body, err, false)
			return
		}
		if _, invalid := jsoncheck.InvalidText(body); invalid {
			t.Fatalf("decode %q: accepted text that is not valid UTF-8", body)
		}
		later := now.Add(time.Minute)

		u, err := rules.New(in.Draft(), "u-9", "admin@localhost", later)
		if err != nil {
			checkRefusal(t, "create", body, err, true)
		} else {
			checkNormalised(t, body, u)
			if u.HoldInvite != (u.Status == user.StatusIntroduction) || !u.HoldInvite && (u.Status != user.StatusReleasing || u.InviteGeneration != 1) {
				t.Fatalf("create %q: holdInvite %v gives status %s, generation %d", body, u.HoldInvite, u.Status, u.InviteGeneration)
			}
			if in.HoldInvite == nil && !u.HoldInvite {
				t.Fatalf("create %q: released without holdInvite false", body)
			}
			// The user as the API returns it, sent back: the same user.
			again := resend(t, cat, u)
			in2, err := decodeUser(again)
			if err != nil {
				t.Fatalf("create %q: the API's own view %s is refused: %v", body, again, err)
			}
			u2, err := rules.New(in2.Draft(), "u-9", "admin@localhost", later)
			if err != nil {
				t.Fatalf("create %q: the API's own view %s fails validation: %v", body, again, err)
			}
			if !reflect.DeepEqual(u2, u) {
				t.Fatalf("create %q: normalising again changes the user:\nonce  %+v\ntwice %+v", body, u, u2)
			}
		}

		for _, base := range []user.User{intro, invited} {
			n, changes, err := rules.Apply(base, in, "admin@localhost", later)
			if err != nil {
				checkRefusal(t, "patch "+string(base.Status), body, err, true)
				if !reflect.DeepEqual(n, base) {
					t.Fatalf("patch %s %q: refused, yet the user changed", base.Status, body)
				}
				continue
			}
			if len(changes) == 0 {
				if !reflect.DeepEqual(n, base) {
					t.Fatalf("patch %s %q: no change reported, yet the user changed", base.Status, body)
				}
				continue
			}
			checkNormalised(t, body, n)
			if n.Version != base.Version+1 {
				t.Fatalf("patch %s %q: version %d after %d", base.Status, body, n.Version, base.Version)
			}
			if !user.EmailEditable(base.Status) && n.Email != base.Email {
				t.Fatalf("patch %s %q: the login email changed to %q", base.Status, body, n.Email)
			}
			if n2, changes2, err := rules.Apply(n, in, "admin@localhost", later.Add(time.Minute)); err != nil || len(changes2) > 0 || !reflect.DeepEqual(n2, n) {
				t.Fatalf("patch %s %q twice: changes %+v, error %v", base.Status, body, changes2, err)
			}
		}
	})
}

// sampleBody is the body of an events/api sample, the files `make invoke`
// sends.
func sampleBody(tb testing.TB, name string) string {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "api", name))
	if err != nil {
		tb.Fatal(err)
	}
	var ev struct{ Body string }
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatal(err)
	}
	return ev.Body
}

// checkRefusal asserts that err is an answer a client can act on: an
// invalid-request error with a message and, when ruled, named fields.
func checkRefusal(t *testing.T, what string, body []byte, err error, ruled bool) {
	t.Helper()
	var ue *user.Error
	if !errors.As(err, &ue) {
		t.Fatalf("%s %q: %T is not a *user.Error: %v", what, body, err, err)
	}
	if ue.Code != user.CodeInvalid || user.ErrorCode(err) == user.CodeInternal {
		t.Fatalf("%s %q: code %s, want %s: %v", what, body, ue.Code, user.CodeInvalid, err)
	}
	if ue.Message == "" {
		t.Fatalf("%s %q: no message", what, body)
	}
	if ruled && len(ue.Fields) == 0 {
		t.Fatalf("%s %q: a broken rule names no field: %v", what, body, err)
	}
	for _, fe := range ue.Fields {
		if fe.Field == "" || fe.Message == "" {
			t.Fatalf("%s %q: field error %+v does not say which field or what is wrong", what, body, fe)
		}
	}
}

// checkNormalised asserts the stored form of every field of u.
func checkNormalised(t *testing.T, body []byte, u user.User) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%q accepted as %+v: "+format, append([]any{body, u}, args...)...)
	}
	if !u.Type.Valid() {
		fail("type %q", u.Type)
	}
	for field, v := range map[string]string{"firstName": u.FirstName, "lastName": u.LastName, "jobTitle": u.JobTitle} {
		switch {
		case v != strings.TrimSpace(v):
			fail("%s %q is not trimmed", field, v)
		case v == "" && field != "jobTitle":
			fail("%s is empty", field)
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) || utf8.RuneCountInString(v) > 100:
			fail("%s %q is not plain text of at most 100 characters", field, v)
		case strings.ContainsFunc(v, func(r rune) bool { return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 }):
			fail("%s %q holds a text-direction control", field, v)
		}
	}
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || u.Email != strings.ToLower(strings.TrimSpace(u.Email)) {
		fail("email %q is not a lower-case plain address", u.Email)
	}
	if strings.ContainsFunc(u.Email, func(r rune) bool { return r >= utf8.RuneSelf }) || user.NormalizeEmail(u.Email) != u.Email {
		fail("email %q is not ASCII (punycode domain) in its normal form", u.Email)
	}
	if u.Phone != "" && !e164.MatchString(u.Phone) {
		fail("phone %q is not E.164", u.Phone)
	}
	if u.SlackUserID != "" && !user.ValidSlackUserID(u.SlackUserID) {
		fail("slackUserId %q", u.SlackUserID)
	}
	cat := access.DefaultCatalogue()
	if !slices.ContainsFunc(cat.Roles(), func(r access.Role) bool { return r.ID == u.Role }) {
		fail("role %q is not the id of a system user's role", u.Role)
	}
	for _, list := range [][]string{u.Grants, u.Revokes} {
		if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
			fail("permissions %q are not sorted and unique", list)
		}
		for _, p := range list {
			if !cat.PermissionExists(p) {
				fail("permission %q is not in the catalogue", p)
			}
			if slices.Contains(u.Grants, p) && slices.Contains(u.Revokes, p) {
				fail("permission %q is both granted and revoked", p)
			}
		}
	}
	if u.Type == user.Internal && (u.ExternalPlannerAccess || u.ExternalPurchasingAccess) {
		fail("an internal user has external access")
	}
}

// resend is the body a client sends back after reading u from the API: the
// user's JSON without the fields it cannot set.
func resend(t *testing.T, cat *access.Catalogue, u user.User) []byte {
	t.Helper()
	raw, err := json.Marshal(viewUser(u, cat))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range readOnly {
		delete(m, k)
	}
	delete(m["permissions"].(map[string]any), "effective")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
