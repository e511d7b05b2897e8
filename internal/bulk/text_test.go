package bulk_test

import (
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/bulk"
)

// Rows whose text is not UTF-8 or hides its direction are refused with
// the column named, and the import writes nothing.
func TestImportRefusesDisguisedText(t *testing.T) {
	base := server(t)
	file := "First Name,Last Name,Email,Role,Job Title\n" +
		"Ada,Lovelace,ada@example.com,supervisor,Lead\n" +
		"Gr\xffce,Hopper,grace@example.com,staff,\n" +
		"Ann,Lee,ann@example.com,staff,Picker\u202E\n" +
		"Ann\u2066,Lee,ann2@example.com,staff,\n" +
		"Sam,Po,sam@bücher.example,staff,\n" +
		"Sam,Po,SAM@xn--bcher-kva.example,staff,\n"
	rep, _ := run(t, base, file)
	if rep.Written || rep.Created != 0 {
		t.Fatalf("a file with bad rows wrote: %+v", rep)
	}
	want := map[int]string{3: "First Name must be valid UTF-8 text", 4: "Job Title must not contain text-direction control characters",
		5: "First Name must not contain text-direction control characters", 7: "Email is also on line 6"}
	got := map[int]string{}
	for _, p := range rep.Problems {
		got[p.Line] = p.String()
	}
	if len(got) != len(want) {
		t.Errorf("problems %v, want lines 3, 4, 5 and 7", rep.Problems)
	}
	for line, says := range want {
		if !strings.Contains(got[line], says) {
			t.Errorf("line %d: %q, want it to say %q", line, got[line], says)
		}
	}
	if n := countUsers(t, base); n != 1 {
		t.Fatalf("%d users after a refused import, want only the administrator", n)
	}
	rows, _, err := bulk.ReadCSV(strings.NewReader(file))
	if err != nil || len(rows) != 4 {
		t.Fatalf("%d good rows, %v", len(rows), err)
	}
}
