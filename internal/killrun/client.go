package killrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Client calls a local server's API as its administrator, and its mailbox
// and sign-in page as the recipients would.
type Client struct {
	Base  string // http://host:port
	Token string
	HTTP  *http.Client
}

// NewClient returns a client of the server at addr.
func NewClient(addr, token string) Client {
	return Client{Base: "http://" + addr, Token: token, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// call sends body (JSON when not nil) and decodes the answer into out
// when it has status want; any other status is an error with the body.
func (c Client) call(ctx context.Context, method, path string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" && !strings.HasPrefix(path, "/_local/") {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, bytes.TrimSpace(raw), want)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// CreateUsers creates n staff users in Introduction Mode (Hold Invite
// on) and returns their email addresses.
func (c Client) CreateUsers(ctx context.Context, n int) ([]string, error) {
	emails := make([]string, n)
	for i := range n {
		emails[i] = fmt.Sprintf("kill.restart.%04d@example.com", i)
		in := map[string]string{"firstName": "Kim", "lastName": fmt.Sprintf("Restart%04d", i), "email": emails[i], "role": "staff"}
		var u struct {
			Status string `json:"status"`
		}
		if err := c.call(ctx, http.MethodPost, "/users", in, &u, http.StatusCreated); err != nil {
			return nil, err
		}
		if u.Status != "introduction" {
			return nil, fmt.Errorf("user %s created %s, not in Introduction Mode", emails[i], u.Status)
		}
	}
	return emails, nil
}

// BulkRelease releases every staff user in Introduction Mode as the
// README shows: a dry run for the count, then the release confirming it.
// It returns how many were released.
func (c Client) BulkRelease(ctx context.Context) (int, error) {
	sel := map[string]any{"role": "staff"}
	var preview struct {
		Count int `json:"count"`
	}
	if err := c.call(ctx, http.MethodPost, "/users/release?dryRun=true", sel, &preview, http.StatusOK); err != nil {
		return 0, err
	}
	sel["expectedCount"] = preview.Count
	var res struct {
		Released int               `json:"released"`
		Failed   []json.RawMessage `json:"failed"`
	}
	if err := c.call(ctx, http.MethodPost, "/users/release", sel, &res, http.StatusOK); err != nil {
		return 0, err
	}
	if len(res.Failed) > 0 {
		return res.Released, fmt.Errorf("the bulk release failed for %d of %d users", len(res.Failed), preview.Count)
	}
	return res.Released, nil
}

// CountStatus counts the users in status, page by page.
func (c Client) CountStatus(ctx context.Context, status string) (int, error) {
	n, cursor := 0, ""
	for {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor *string           `json:"nextCursor"`
		}
		q := url.Values{"status": {status}, "limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if err := c.call(ctx, http.MethodGet, "/users?"+q.Encode(), nil, &page, http.StatusOK); err != nil {
			return 0, err
		}
		n += len(page.Items)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return n, nil
		}
		cursor = *page.NextCursor
	}
}

// Message is one email in the local mailbox.
type Message struct {
	ID     string    `json:"id"`
	To     []string  `json:"to"`
	Text   string    `json:"text"`
	SentAt time.Time `json:"sentAt"`
}

// Mailbox returns every email in the local mailbox, oldest first.
func (c Client) Mailbox(ctx context.Context) ([]Message, error) {
	var box struct {
		Messages []Message `json:"messages"`
	}
	if err := c.call(ctx, http.MethodGet, "/_local/mail.json", nil, &box, http.StatusOK); err != nil {
		return nil, err
	}
	sortMessages(box.Messages)
	return box.Messages, nil
}

// sortMessages puts messages in the order they were sent: an id starts
// with its send time and ends with the mailbox's sequence number.
func sortMessages(ms []Message) {
	slices.SortFunc(ms, func(a, b Message) int {
		if c := a.SentAt.Compare(b.SentAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

var tempPassword = regexp.MustCompile(`(?m)^\s*Temporary password:\s*(\S+)\s*$`)

// TemporaryPassword is the one in an invitation's text, or "".
func TemporaryPassword(text string) string {
	if m := tempPassword.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// SignIn starts a first sign-in with a temporary password at the local
// login and returns the challenge it answers (NEW_PASSWORD_REQUIRED for
// a working temporary password, DESIGN.md §7). It sets no new password.
func (c Client) SignIn(ctx context.Context, email, password string) (string, error) {
	var out struct {
		ChallengeName string `json:"challengeName"`
	}
	err := c.call(ctx, http.MethodPost, "/_local/auth/initiate", map[string]string{"email": email, "password": password}, &out, http.StatusOK)
	return out.ChallengeName, err
}
