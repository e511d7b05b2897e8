package bulk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls the OpsOS HTTP API.
type Client struct {
	// Server is the API's address: http://127.0.0.1:8080 locally, the
	// stack's ApiUrl in AWS.
	Server string
	// Token is a manager's bearer token: the local administrator's, or a
	// Cognito ID token.
	Token string
	HTTP  *http.Client
}

// Options change how Import writes.
type Options struct {
	// Partial writes the good rows even when others have problems.
	Partial bool
	// Progress, when set, is told how far the import is.
	Progress io.Writer
}

// Report is what an import found and did.
type Report struct {
	Rows     int        // data rows in the file
	Problems []RowError // rows not written, with why
	Existing []Row      // rows whose email is already a user's: skipped
	Created  int
	Written  bool // false when problems stopped the import before writing
}

// Import checks every row with the server (POST /users?dryRun=true), then,
// if no row has a problem (or with Partial), creates the users that do not
// exist yet, in Introduction Mode. Each create carries an idempotency key
// made from the row, so a retried request never makes a second user.
func Import(ctx context.Context, c Client, rows []Row, problems []RowError, opt Options) (Report, error) {
	rep := Report{Rows: len(rows) + len(problems), Problems: problems}
	if err := c.checkManager(ctx); err != nil {
		return rep, err
	}
	var valid []Row
	for i, row := range rows {
		status, body, err := c.post(ctx, "/users?dryRun=true", row.Body, "")
		if err != nil {
			return rep, err
		}
		switch {
		case status == http.StatusOK:
			valid = append(valid, row)
		case status == http.StatusConflict && problemOn(body, "email"):
			rep.Existing = append(rep.Existing, row)
		default:
			rep.Problems = append(rep.Problems, rowProblems(row, status, body)...)
		}
		progress(opt.Progress, "checked", i+1, len(rows))
	}
	sortProblems(rep.Problems)
	if len(rep.Problems) > 0 && !opt.Partial {
		return rep, nil
	}
	rep.Written = true
	for i, row := range valid {
		status, body, err := c.post(ctx, "/users", row.Body, idempotencyKey(row))
		if err != nil {
			return rep, fmt.Errorf("line %d: %w (%d users created before it)", row.Line, err, rep.Created)
		}
		switch {
		case status == http.StatusCreated:
			rep.Created++
		case status == http.StatusConflict && problemOn(body, "email"):
			rep.Existing = append(rep.Existing, row) // created by someone else meanwhile
		default:
			rep.Problems = append(rep.Problems, rowProblems(row, status, body)...)
		}
		progress(opt.Progress, "created", i+1, len(valid))
	}
	sortProblems(rep.Problems)
	return rep, nil
}

// progress reports every tenth of the way, and the end.
func progress(w io.Writer, what string, done, total int) {
	if w == nil || total == 0 {
		return
	}
	step := max(total/10, 1)
	if done%step == 0 || done == total {
		fmt.Fprintf(w, "%s %d/%d\n", what, done, total)
	}
}

func idempotencyKey(r Row) string {
	b, _ := json.Marshal(r.Body) // map keys are sorted: the same row, the same key
	sum := sha256.Sum256(b)
	return "import-" + hex.EncodeToString(sum[:12])
}

// problem is the API's problem+json answer.
type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func problemOn(body []byte, field string) bool {
	var p problem
	if json.Unmarshal(body, &p) != nil {
		return false
	}
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

func rowProblems(row Row, status int, body []byte) []RowError {
	var p problem
	if json.Unmarshal(body, &p) != nil || (p.Detail == "" && len(p.Errors) == 0) {
		return []RowError{{Line: row.Line, Email: row.Email, Message: fmt.Sprintf("the server answered %d", status)}}
	}
	if len(p.Errors) == 0 {
		return []RowError{{Line: row.Line, Email: row.Email, Message: p.Detail}}
	}
	out := make([]RowError, 0, len(p.Errors))
	for _, e := range p.Errors {
		out = append(out, RowError{Line: row.Line, Email: row.Email, Field: row.column(e.Field), Message: e.Message})
	}
	return out
}

func sortProblems(ps []RowError) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Line < ps[j-1].Line; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// post sends body as JSON. Refusals (4xx) are answers; anything else that
// is not a success is an error that stops the import.
func (c Client) post(ctx context.Context, path string, body map[string]any, key string) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Server, "/")+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("is the server at %s running? %w", c.Server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return 0, nil, fmt.Errorf("the server refused the token (401): set OPSOS_TOKEN to a manager's token")
	case resp.StatusCode >= 500:
		return 0, nil, fmt.Errorf("the server failed (%d): %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return resp.StatusCode, raw, nil
}

// checkManager makes sure the token is a manager's before any row is
// looked at, so that a wrong token is one clear error, not one per row.
func (c Client) checkManager(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.Server, "/")+"/roles", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("is the server at %s running? %w", c.Server, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var p problem
	json.Unmarshal(raw, &p)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("the server refused the token (401): set OPSOS_TOKEN to a manager's token")
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("the token is not a manager's: %s", p.Detail)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("the server answered %d to GET /roles: %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return nil
}
