package invite

import (
	"html"
	"strings"
	"testing"
	texttemplate "text/template"
)

// The small renderer must give what text/template gives for the same
// templates: on every combination of the conditions they use.
func TestRendererMatchesTextTemplate(t *testing.T) {
	views := []view{
		{Product: "OpsOS", FirstName: "Ada", FullName: "Ada Lovelace", Inviter: "Grace Hopper", InviterEmail: "grace@example.com",
			LoginURL: "https://login.example.com/login?client_id=a&redirect_uri=b", Username: "ada@example.com",
			TemporaryPassword: `Pa<ss>&"'1`, Expires: "Friday 4 December 2026 at 09:00 UTC", Resend: true},
		{Product: "OpsOS", Inviter: "Your OpsOS administrator", LoginURL: "https://l.example.com", Username: "x@example.com",
			TemporaryPassword: "Zz9!zzzzzzzz", Expires: "Monday 7 December 2026 at 10:00 UTC"},
	}
	for _, file := range []string{"subject.txt", "invitation.txt", "invitation.html"} {
		src, err := templateFiles.ReadFile("templates/" + file)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := parseTemplate(file, string(src))
		if err != nil {
			t.Fatal(err)
		}
		ref := texttemplate.Must(texttemplate.New(file).Parse(string(src)))
		for i, v := range views {
			escape := func(s string) string { return s }
			if strings.HasSuffix(file, ".html") {
				escape = html.EscapeString
			}
			f := v.fields()
			escaped := v
			escaped.FirstName, escaped.FullName, escaped.Inviter, escaped.InviterEmail = escape(v.FirstName), escape(v.FullName), escape(v.Inviter), escape(v.InviterEmail)
			escaped.LoginURL, escaped.Username, escaped.TemporaryPassword, escaped.Expires = escape(v.LoginURL), escape(v.Username), escape(v.TemporaryPassword), escape(v.Expires)
			var want strings.Builder
			if err := ref.Execute(&want, escaped); err != nil {
				t.Fatal(err)
			}
			if got := ours.render(f, escape); got != want.String() {
				t.Errorf("%s, view %d: the renderer and text/template differ:\n--- ours\n%s\n--- text/template\n%s", file, i, got, want.String())
			}
		}
	}
}

func TestTemplateErrorsAreCaughtAtStart(t *testing.T) {
	for src, says := range map[string]string{
		"{{if .A}}x":          "if without end",
		"x{{end}}":            "end without if",
		"{{.A | printf}}":     "unsupported",
		"{{range .A}}{{end}}": "unsupported",
		"{{.A":                "unclosed",
	} {
		if _, err := parseTemplate("t", src); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want an error saying %q", src, err, says)
		}
	}
	tpl, err := parseTemplate("t", "{{.Nope}}")
	if err != nil {
		t.Fatal(err)
	}
	if err := tpl.check(view{}.fields()); err == nil {
		t.Error("a template with an unknown field passed the check")
	}
}
