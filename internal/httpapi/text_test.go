package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// A body whose text is not UTF-8 is refused naming the field, not stored
// with U+FFFD in place of what was sent.
func TestInvalidUTF8IsRefusedNamingTheField(t *testing.T) {
	f := newFixture(t)
	base := `{"firstName":"Ann","lastName":"Lee","email":"ann.lee@example.com","role":"staff","jobTitle":"Lead","phone":"","type":"internal","permissions":{"grant":[],"revoke":[]}}`
	tests := []struct{ name, from, to, field string }{
		{"byte in firstName", `"Ann"`, "\"An\xffn\"", "firstName"},
		{"lone surrogate escape in lastName", `"Lee"`, `"L\ud800ee"`, "lastName"},
		{"reversed surrogate pair in jobTitle", `"Lead"`, `"\udc00\ud800"`, "jobTitle"},
		{"byte in email", `"ann.lee@example.com"`, "\"ann\xc3@example.com\"", "email"},
		{"byte in phone", `"phone":""`, "\"phone\":\"07911\xff\"", "phone"},
		{"byte in role", `"staff"`, "\"sta\xffff\"", "role"},
		{"surrogate in type", `"internal"`, `"intern\udfffal"`, "type"},
		{"byte in a grant", `"grant":[]`, "\"grant\":[\"planner.edit\",\"x\xff\"]", "permissions.grant"},
		{"surrogate in a revoke", `"revoke":[]`, `"revoke":["\ud83d"]`, "permissions.revoke"},
	}
	before := f.writes()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(base, tt.from, tt.to, 1)
			if body == base {
				t.Fatal("the test body did not change")
			}
			r := f.create(body)
			if r.status != http.StatusBadRequest || !slices.Equal(errorFields(r), []string{tt.field}) || !strings.Contains(r.raw, "must be valid UTF-8 text") {
				t.Errorf("status %d fields %v, want 400 on %s saying valid UTF-8: %s", r.status, errorFields(r), tt.field, r.raw)
			}
		})
	}
	if f.writes() != before {
		t.Error("a refused create wrote to the store")
	}
	// A real astral character, escaped as a pair, is text.
	if r := f.create(strings.Replace(base, `"Lead"`, `"Lead \ud83d\ude00"`, 1)); r.status != http.StatusCreated {
		t.Fatalf("a valid surrogate pair: %d %s", r.status, r.raw)
	}
	id := f.do(f.request(http.MethodGet, "/users?email=ann.lee@example.com", "")).body["items"].([]any)[0].(map[string]any)["id"].(string)
	before = f.writes()
	r := f.do(f.request(http.MethodPatch, "/users/"+id, "{\"firstName\":\"\xffnn\"}"))
	if r.status != http.StatusBadRequest || !slices.Equal(errorFields(r), []string{"firstName"}) {
		t.Errorf("patch: status %d fields %v, want 400 on firstName: %s", r.status, errorFields(r), r.raw)
	}
	// A repaired value hidden behind a duplicate key is refused too.
	r = f.do(f.request(http.MethodPatch, "/users/"+id, `{"firstName":"\ud800","firstName":"Ann"}`))
	if r.status != http.StatusBadRequest || !slices.Equal(errorFields(r), []string{"firstName"}) {
		t.Errorf("duplicate key: status %d fields %v, want 400 on firstName: %s", r.status, errorFields(r), r.raw)
	}
	if f.writes() != before {
		t.Error("a refused patch wrote to the store")
	}
}

func TestBulkReleaseRefusesInvalidUTF8(t *testing.T) {
	f := newFixture(t)
	before := f.writes()
	for body, field := range map[string]string{
		"{\"role\":\"sta\xffff\",\"expectedCount\":0}": "role",
		`{"q":"\ud800","expectedCount":0}`:             "q",
		"{\"type\":\"\xc3\",\"expectedCount\":0}":      "type",
		`{"status":"intro\udc00","expectedCount":0}`:   "status",
	} {
		r := f.do(f.request(http.MethodPost, "/users/release", body))
		if r.status != http.StatusBadRequest || !slices.Equal(errorFields(r), []string{field}) || !strings.Contains(r.raw, "valid UTF-8") {
			t.Errorf("%q: status %d fields %v, want 400 on %s: %s", body, r.status, errorFields(r), field, r.raw)
		}
	}
	if f.writes() != before {
		t.Error("a refused bulk release wrote to the store")
	}
}

func TestBidiControlsRefusedInNamesAndTitles(t *testing.T) {
	f := newFixture(t)
	before := f.writes()
	for field, value := range map[string]string{"firstName": "Ann\u202Enimda", "lastName": "\u2067Lee\u2069", "jobTitle": "Lead\u202A"} {
		body := `{"firstName":"Ann","lastName":"Lee","email":"ann@example.com","role":"staff","` + field + `":"` + value + `"}`
		r := f.create(body)
		if r.status != http.StatusBadRequest || !slices.Equal(errorFields(r), []string{field}) || !strings.Contains(r.raw, "text-direction control characters") {
			t.Errorf("%s: status %d fields %v, want 400 on %s: %s", field, r.status, errorFields(r), field, r.raw)
		}
	}
	if f.writes() != before {
		t.Error("a refused create wrote to the store")
	}
}

// Emails are compared in NFC with the domain in punycode: one person is
// one user however their address was typed.
func TestEmailUniqueAcrossUnicodeForms(t *testing.T) {
	f := newFixture(t)
	person := func(email string) result {
		return f.create(`{"firstName":"Jo","lastName":"Sé","email":"` + email + `","role":"staff"}`)
	}
	// The domain with a combining diaeresis, then precomposed.
	if r := person("jose@exa\u0308mple.com"); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	before := f.writes()
	if r := person("Jose@Ex\u00e4mple.com"); r.status != http.StatusConflict || !slices.Equal(errorFields(r), []string{"email"}) {
		t.Errorf("precomposed: status %d %v, want 409 on email: %s", r.status, errorFields(r), r.raw)
	}
	if f.writes() != before {
		t.Error("a refused create wrote to the store")
	}
	// An IDN domain is stored as punycode, and the punycode form collides.
	r := person("user@bücher.example")
	if r.status != http.StatusCreated || r.body["email"] != "user@xn--bcher-kva.example" {
		t.Fatalf("IDN create: %d %s, want stored as user@xn--bcher-kva.example", r.status, r.raw)
	}
	if r := person("USER@xn--bcher-kva.example"); r.status != http.StatusConflict {
		t.Errorf("punycode: status %d, want 409: %s", r.status, r.raw)
	}
	if r := person("user@bu\u0308cher.example"); r.status != http.StatusConflict {
		t.Errorf("decomposed IDN: status %d, want 409: %s", r.status, r.raw)
	}
	before = f.writes()
	// Looking a user up by email finds them in any of those forms.
	for _, q := range []string{"user@bücher.example", "user@xn--bcher-kva.example", "JOSE@EXÄMPLE.COM"} {
		l := f.do(f.request(http.MethodGet, "/users?email="+url.QueryEscape(q), ""))
		if items, _ := l.body["items"].([]any); len(items) != 1 {
			t.Errorf("GET /users?email=%s: %s, want one user", q, l.raw)
		}
	}
	// Accented local parts cannot be invited through SES: refused, in
	// either composition, saying why.
	for _, e := range []string{"jos\u00e9@example.com", "jose\u0301@example.com"} {
		if r := person(e); r.status != http.StatusBadRequest || !strings.Contains(r.raw, "ASCII") {
			t.Errorf("%q: status %d, want 400 naming ASCII: %s", e, r.status, r.raw)
		}
	}
	if f.writes() != before {
		t.Error("a refused create wrote to the store")
	}
}
