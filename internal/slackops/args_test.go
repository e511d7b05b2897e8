package slackops

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want Command
	}{
		{"", Command{Verb: "help", Args: map[string]string{}}},
		{"  CREATE  ", Command{Verb: "create", Args: map[string]string{}}},
		{"create first=Priya last=Shah email=<mailto:priya@example.com|priya@example.com> role=Supervisor type=internal",
			Command{Verb: "create", Args: map[string]string{"first": "Priya", "last": "Shah", "email": "priya@example.com", "role": "Supervisor", "type": "internal"}}},
		{`create first="Mary Ann" last=“O’Neil Smith” title='Shift Lead'`,
			Command{Verb: "create", Args: map[string]string{"first": "Mary Ann", "last": "O’Neil Smith", "title": "Shift Lead"}}},
		{"release <mailto:a@b.com|a@b.com>", Command{Verb: "release", Args: map[string]string{}, Words: []string{"a@b.com"}}},
		{"status <@U024BE7LH|priya>", Command{Verb: "status", Args: map[string]string{}, Words: []string{"U024BE7LH"}}},
		{"edit priya@example.com Role=Planner hold=no", Command{Verb: "edit", Args: map[string]string{"role": "Planner", "hold": "no"}, Words: []string{"priya@example.com"}}},
		{"list status=introduction", Command{Verb: "list", Args: map[string]string{"status": "introduction"}}},
		{"create last=O’Neil first=D'Arcy title=“Ops” lead", Command{Verb: "create",
			Args: map[string]string{"last": "O’Neil", "first": "D'Arcy", "title": "Ops"}, Words: []string{"lead"}}},
		{"create note=a=b", Command{Verb: "create", Args: map[string]string{"note": "a=b"}}},
		{"show =x", Command{Verb: "show", Args: map[string]string{}, Words: []string{"=x"}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.text)
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.text, got, tt.want)
		}
	}
}

func TestParseRefusesWithUsage(t *testing.T) {
	for text, says := range map[string]string{
		"fly me":                       "don't know",
		`create first="Mary`:           "not closed",
		"create role=staff role=admin": "twice",
	} {
		_, err := Parse(text)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(ue.Message, says) {
			t.Errorf("%q: %v, want a usage error saying %q", text, err, says)
		}
	}
}

// FuzzParse: any text either parses or gets a usage message; it never
// panics, verbs are known, keys lower-case, and values valid UTF-8 when
// the input is.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"create first=Priya", `edit <mailto:a@b.com|a@b.com> role="Operations Manager"`,
		"status <@U1|x>", "“", "release =", "list status=introduction limit=5", "<>", "<mailto:|>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := Parse(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Message == "" {
				t.Fatalf("%q: error without a usage message: %v", text, err)
			}
			return
		}
		if !knownVerb(cmd.Verb) {
			t.Fatalf("%q: unknown verb %q accepted", text, cmd.Verb)
		}
		for k, v := range cmd.Args {
			if k != strings.ToLower(k) || k == "" {
				t.Fatalf("%q: key %q", text, k)
			}
			if utf8.ValidString(text) && !utf8.ValidString(v) {
				t.Fatalf("%q: value %q is not UTF-8", text, v)
			}
		}
	})
}
