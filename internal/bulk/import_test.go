package bulk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/bulk"
	"github.com/opsos/onboarding/internal/local"
)

const token = "import-test-token-0123456789"

func server(t *testing.T) string {
	t.Helper()
	env := map[string]string{"OPSOS_DATA_DIR": t.TempDir(), "OPSOS_ADDR": "127.0.0.1:0", "OPSOS_ADMIN_TOKEN": token}
	cfg, err := local.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := local.Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return "http://" + s.Addr()
}

func countUsers(t *testing.T, base string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/users?limit=200&cursor="+cursor, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor *string          `json:"nextCursor"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		n += len(page.Items)
		if page.NextCursor == nil {
			return n
		}
		cursor = *page.NextCursor
	}
}

// team writes a 500-row file; bad, when set, spoils seven rows in seven
// different ways and returns their lines.
func team(bad bool) (string, map[int]string) {
	var b strings.Builder
	b.WriteString("First Name,Last Name,Email,Role,Type,Phone,Job Title,External Planner Access\n")
	spoiled := map[int]string{}
	for i := range 500 {
		line := i + 2
		row := []string{fmt.Sprintf("Worker%d", i), "Site", fmt.Sprintf("worker%03d@site.example.com", i), "staff", "internal", "020 7946 0000", "Picker", ""}
		if bad {
			switch i {
			case 10:
				row[2], spoiled[line] = "worker-at-site", "Email"
			case 50:
				row[3], spoiled[line] = "astronaut", "Role"
			case 120:
				row[1], spoiled[line] = "", "Last Name"
			case 200:
				row[5], spoiled[line] = "12", "Phone"
			case 300:
				row[2], spoiled[line] = "worker001@site.example.com", "Email" // also on line 3
			case 400:
				row[3], spoiled[line] = "Planner Worker", "Role"
			case 499:
				row[7], spoiled[line] = "yes", "External Planner Access"
			}
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	return b.String(), spoiled
}

func run(t *testing.T, base, file string) (bulk.Report, string) {
	t.Helper()
	rows, problems, err := bulk.ReadCSV(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := bulk.Import(context.Background(), bulk.Client{Server: base, Token: token}, rows, problems, bulk.Options{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	return rep, progress.String()
}

func TestImportReportsEveryBadRowFirstAndIsIdempotent(t *testing.T) {
	base := server(t)
	file, spoiled := team(true)
	rep, _ := run(t, base, file)
	if rep.Written || rep.Created != 0 {
		t.Fatalf("a file with bad rows wrote: %+v", rep)
	}
	got := map[int]string{}
	for _, p := range rep.Problems {
		got[p.Line] = p.Field
		if p.Message == "" {
			t.Errorf("line %d has no reason", p.Line)
		}
	}
	if len(got) != len(spoiled) {
		t.Errorf("%d lines reported, want exactly the %d spoiled: %v", len(got), len(spoiled), rep.Problems)
	}
	for line, field := range spoiled {
		if got[line] != field {
			t.Errorf("line %d: reported field %q, want %q (%v)", line, got[line], field, rep.Problems)
		}
	}
	if n := countUsers(t, base); n != 1 {
		t.Fatalf("%d users after a refused import, want only the administrator", n)
	}

	fixed, _ := team(false)
	rep, progress := run(t, base, fixed)
	if !rep.Written || rep.Created != 500 || len(rep.Problems) != 0 {
		t.Fatalf("the fixed file: created %d, problems %v", rep.Created, rep.Problems)
	}
	if !strings.Contains(progress, "created 500/500") || strings.Count(progress, "created") < 10 {
		t.Errorf("progress was not shown along the way:\n%s", progress)
	}
	if n := countUsers(t, base); n != 501 {
		t.Fatalf("%d users, want the administrator and 500", n)
	}

	rep, _ = run(t, base, fixed)
	if rep.Created != 0 || len(rep.Existing) != 500 {
		t.Errorf("a rerun created %d and found %d existing, want 0 and 500", rep.Created, len(rep.Existing))
	}
}

func TestPartialWritesTheGoodRows(t *testing.T) {
	base := server(t)
	file := "firstName,lastName,email,role\nAda,Lovelace,ada@example.com,supervisor\nBad,Row,not-an-email,staff\n"
	rows, problems, err := bulk.ReadCSV(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bulk.Import(context.Background(), bulk.Client{Server: base, Token: token}, rows, problems, bulk.Options{Partial: true})
	if err != nil || rep.Created != 1 || len(rep.Problems) != 1 || rep.Problems[0].Line != 3 {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestFileProblemsAreExplained(t *testing.T) {
	for file, says := range map[string]string{
		"": "empty",
		"firstName,lastName,email\nA,B,a@example.com\n": "no role column",
		"firstName,lastName,email,role,colour\n":        `unknown columns "colour"`,
		"firstName,lastName,email,role,holdInvite\n":    "Introduction Mode",
		"first,First Name,lastName,email,role\n":        "both firstName",
	} {
		if _, _, err := bulk.ReadCSV(strings.NewReader(file)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want an error saying %q", file, err, says)
		}
	}
	_, problems, err := bulk.ReadCSV(strings.NewReader("firstName,lastName,email,role,planner\nA,B,a@example.com,staff,maybe\nC,D\n"))
	if err != nil || len(problems) != 2 || problems[0].Field != "planner" || !strings.Contains(problems[1].Message, "2 values") {
		t.Errorf("row problems: %v %v", problems, err)
	}
	if _, err := bulk.Import(context.Background(), bulk.Client{Server: server(t), Token: "not-the-token"}, nil, nil, bulk.Options{}); err == nil ||
		!strings.Contains(err.Error(), "OPSOS_TOKEN") {
		t.Errorf("a wrong token: %v", err)
	}
}
