// Package bulk onboards a whole team from a CSV file through the HTTP API
// (the local server's or the deployed one): every row is checked first,
// with the server's own rules, and all problems are reported at once
// before anything is written. Rerunning a file creates only the users
// that do not exist yet.
package bulk

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/opsos/onboarding/internal/user"
)

// Row is one user of the file.
type Row struct {
	// Line is the row's line in the file, for messages.
	Line int
	// Body is the JSON object POST /users receives.
	Body map[string]any
	// Email is the row's email as written, for messages.
	Email string
	// columns names the file's column of each API field, for messages.
	columns map[string]string
}

// column is the file's name for an API field.
func (r Row) column(field string) string {
	if c, ok := r.columns[field]; ok {
		return c
	}
	return field
}

// RowError is one problem of one row.
type RowError struct {
	Line    int
	Email   string
	Field   string // the CSV column, "" for the row as a whole
	Message string
}

func (e RowError) String() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.Email != "" {
		where += " (" + e.Email + ")"
	}
	if e.Field == "" {
		return where + ": " + e.Message
	}
	return where + ": " + e.Field + " " + e.Message
}

// columns maps header names, compared without case, spaces, '_' or '-',
// to the API's fields.
var columns = map[string]string{
	"firstname": "firstName", "first": "firstName", "givenname": "firstName",
	"lastname": "lastName", "last": "lastName", "surname": "lastName", "familyname": "lastName",
	"email": "email", "emailaddress": "email",
	"role":  "role",
	"type":  "type",
	"phone": "phone", "mobile": "phone", "phonenumber": "phone",
	"jobtitle": "jobTitle", "title": "jobTitle",
	"externalplanneraccess": "externalPlannerAccess", "planner": "externalPlannerAccess", "planneraccess": "externalPlannerAccess",
	"externalpurchasingaccess": "externalPurchasingAccess", "purchasing": "externalPurchasingAccess", "purchasingaccess": "externalPurchasingAccess",
	"slack": "slackUserId", "slackuserid": "slackUserId", "slackid": "slackUserId",
}

var booleans = map[string]bool{"externalPlannerAccess": true, "externalPurchasingAccess": true}

// required are the columns every file must have.
var required = []string{"firstName", "lastName", "email", "role"}

func columnKey(h string) string {
	return strings.NewReplacer(" ", "", "_", "", "-", "", ".", "").Replace(strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))))
}

// ReadCSV reads a file whose first line names the columns. A column it
// does not know is an error, not ignored: nothing in the file is dropped
// silently. Problems of single rows (a bad yes/no, an email twice in the
// file) come back as row errors; the file as a whole fails only when it
// cannot be read.
func ReadCSV(r io.Reader) ([]Row, []RowError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("the file is empty: its first line must name the columns, such as firstName,lastName,email,role")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the header: %w", err)
	}
	h, err := readHeader(header)
	if err != nil {
		return nil, nil, err
	}
	var rows []Row
	var problems []RowError
	firstLine := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, nil, fmt.Errorf("the file cannot be read as CSV: %w", err)
		}
		if blank(rec) {
			continue
		}
		row, rowProblems := h.row(line, rec)
		problems = append(problems, rowProblems...)
		key := user.NormalizeEmail(row.Email) // as the server compares them
		if prev, dup := firstLine[key]; dup && key != "" {
			problems = append(problems, RowError{Line: line, Email: row.Email, Field: h.seen["email"], Message: fmt.Sprintf("is also on line %d: one user per email", prev)})
			continue
		}
		if key != "" {
			firstLine[key] = line
		}
		if len(rowProblems) == 0 {
			rows = append(rows, row)
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	return rows, problems, nil
}

// header is a file's first line: the user field of each column, and the
// column each field came from.
type header struct {
	names  []string
	fields []string
	seen   map[string]string
}

// readHeader reads the columns; one unknown, missing or doubled stops the
// import before any row is read, so nothing in the file is dropped.
func readHeader(names []string) (header, error) {
	h := header{names: names, fields: make([]string, len(names)), seen: map[string]string{}}
	var unknown []string
	for i, name := range names {
		f, ok := columns[columnKey(name)]
		switch {
		case strings.TrimSpace(name) == "":
			unknown = append(unknown, fmt.Sprintf("column %d has no name", i+1))
		case columnKey(name) == "holdinvite":
			return header{}, errors.New("the holdInvite column is not allowed: an import creates users in Introduction Mode; release them afterwards (POST /users/release, or /opsos-user release in Slack)")
		case !ok:
			unknown = append(unknown, fmt.Sprintf("%q", name))
		case h.seen[f] != "":
			return header{}, fmt.Errorf("the columns %q and %q are both %s", h.seen[f], name, f)
		default:
			h.seen[f] = name
		}
		h.fields[i] = f
	}
	if len(unknown) > 0 {
		return header{}, fmt.Errorf("unknown columns %s: the columns are firstName, lastName, email, role, type, phone, jobTitle, externalPlannerAccess, externalPurchasingAccess, slackUserId", strings.Join(unknown, ", "))
	}
	var missing []string
	for _, f := range required {
		if h.seen[f] == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return header{}, fmt.Errorf("the file has no %s column", strings.Join(missing, ", "))
	}
	return h, nil
}

// row reads one record into the body of its create, with the problems
// that keep it from being sent, each naming its column.
func (h header) row(line int, rec []string) (Row, []RowError) {
	row := Row{Line: line, Body: map[string]any{}, columns: h.seen}
	if len(rec) != len(h.names) {
		return row, []RowError{{Line: line, Message: fmt.Sprintf("has %d values, the header %d columns", len(rec), len(h.names))}}
	}
	var problems []RowError
	for i, v := range rec {
		v = strings.TrimSpace(v)
		f := h.fields[i]
		if !user.ValidText(v) {
			// The JSON sent to the server would carry U+FFFD in place of
			// these bytes: refuse them here, naming the column.
			problems = append(problems, RowError{Line: line, Field: h.names[i], Message: user.InvalidTextMessage})
			continue
		}
		if f == "email" {
			row.Email = v
		}
		if v == "" {
			continue
		}
		if booleans[f] {
			b, ok := yesNo(v)
			if !ok {
				problems = append(problems, RowError{Line: line, Field: h.names[i], Message: fmt.Sprintf("must be yes or no, not %q", v)})
				continue
			}
			row.Body[f] = b
			continue
		}
		row.Body[f] = v
	}
	for i := range problems {
		problems[i].Email = row.Email
	}
	return row, problems
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func yesNo(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "yes", "y", "true", "1", "x":
		return true, true
	case "no", "n", "false", "0":
		return false, true
	}
	return false, false
}
