// Package outbox is the mailbox of local mode: instead of sending, it
// keeps every message as a JSON file in one folder and shows them at
// /_local/mail, standing in for the recipients' inboxes. It is the only
// place in the data directory where a temporary password rests, by
// design, so the folder and its files are readable by their owner only.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsos/onboarding/internal/release"
)

// From is the sender of every message in the local mailbox.
const From = "OpsOS <no-reply@opsos.localhost>"

// RejectDomain is a reserved domain (RFC 2606) whose addresses the
// outbox refuses as a mail service would refuse a bad address, so that
// local mode can show a failed release: anyone@reject.invalid.
const RejectDomain = "reject.invalid"

// Reasons of the permanent failures, as SES's adapter words them.
const (
	ReasonRejected = "the email address was rejected by the mail service"
	ReasonInvalid  = "the email address is not a valid email address"
)

// Stored is one message in the mailbox, as kept on disk and as served.
type Stored struct {
	ID      string    `json:"id"`
	From    string    `json:"from"`
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sentAt"`
}

// Outbox is a folder of messages. It is safe for concurrent use by one
// process; local mode's data directory admits one process at a time.
type Outbox struct {
	dir  string
	now  func() time.Time
	page *template.Template

	mu  sync.Mutex
	seq int // the last sequence number given to a message
}

var _ release.Mailer = (*Outbox)(nil)

// idLayout starts every id with its send time, fixed width, so that a
// file name says when it was sent; a sequence number follows, so that
// messages of one instant sort as they were sent.
const idLayout = "20060102T150405.000000000Z"

// Open opens the mailbox in dir, creating it. now stamps sent messages.
func Open(dir string, now func() time.Time) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	// MkdirAll leaves an existing folder as it was; temporary passwords
	// rest here, so close it to others whatever it was before.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	page, err := parsePage()
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	o := &Outbox{dir: dir, now: now, page: page}
	names, err := o.names()
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	// Continue the sequence of earlier runs: ids stay unique, and mail
	// sent at one instant keeps its order, even under a clock that stands
	// still (tests) or repeats itself across a restart.
	for _, n := range names {
		if s, ok := seqOf(n); ok && s > o.seq {
			o.seq = s
		}
	}
	return o, nil
}

// Send keeps msg in the mailbox and returns its id. An address in
// RejectDomain is refused as permanently as SES refuses a bad address,
// and nothing is kept.
func (o *Outbox) Send(ctx context.Context, msg release.Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("outbox send: %w", err)
	}
	a, err := mail.ParseAddress(msg.To)
	if err != nil || a.Name != "" || a.Address != msg.To {
		return "", release.Permanent(ReasonInvalid, fmt.Errorf("recipient %q is not one bare email address", msg.To))
	}
	domain := strings.ToLower(msg.To[strings.LastIndexByte(msg.To, '@')+1:])
	if domain == RejectDomain || strings.HasSuffix(domain, "."+RejectDomain) {
		return "", release.Permanent(ReasonRejected, fmt.Errorf("outbox: %s addresses are refused on purpose", RejectDomain))
	}

	o.mu.Lock()
	o.seq++
	seq := o.seq
	sentAt := o.now().UTC()
	o.mu.Unlock()

	s := Stored{
		ID:      sentAt.Format(idLayout) + "-" + fmt.Sprintf("%06d", seq),
		From:    From,
		To:      []string{msg.To},
		Subject: msg.Subject,
		Text:    msg.Text,
		HTML:    msg.HTML,
		SentAt:  sentAt,
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", fmt.Errorf("outbox send: %w", err)
	}
	if err := o.write(s.ID+".json", data); err != nil {
		return "", fmt.Errorf("outbox send %s: %w", s.ID, err)
	}
	return s.ID, nil
}

// write puts data in the file name atomically: a reader (List, the mail
// page) sees the whole message or none, even if the process dies midway.
func (o *Outbox) write(name string, data []byte) (err error) {
	// CreateTemp makes the file 0600. The leading dot keeps List away.
	f, err := os.CreateTemp(o.dir, ".sending-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	// The message is the only copy of its password: make it durable
	// before it gets its name, as a mail server would before saying sent.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(o.dir, name)); err != nil {
		return err
	}
	// Persist the rename too. A folder that cannot be synced (some file
	// systems) still holds the message; that is not worth failing for.
	if d, err := os.Open(o.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// List returns every message, newest first.
func (o *Outbox) List() ([]Stored, error) {
	names, err := o.names()
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	out := make([]Stored, 0, len(names))
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(o.dir, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed by hand since the folder was read
		}
		if err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		var s Stored
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("list outbox: read %s: %w", n, err)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Stored) int {
		if c := b.SentAt.Compare(a.SentAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}

// Get returns the message with the id, and false when there is none.
func (o *Outbox) Get(id string) (Stored, bool, error) {
	names, err := o.names()
	if err != nil {
		return Stored{}, false, fmt.Errorf("read outbox: %w", err)
	}
	// Only the name of a message file is read: an id naming anything
	// else (another folder, a path) is no message.
	if !slices.Contains(names, id+".json") {
		return Stored{}, false, nil
	}
	data, err := os.ReadFile(filepath.Join(o.dir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return Stored{}, false, nil // removed by hand since the folder was read
	}
	if err != nil {
		return Stored{}, false, fmt.Errorf("read outbox: %w", err)
	}
	var s Stored
	if err := json.Unmarshal(data, &s); err != nil {
		return Stored{}, false, fmt.Errorf("read outbox: read %s: %w", id, err)
	}
	return s, true, nil
}

// names returns the names of the message files.
func (o *Outbox) names() ([]string, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".json") {
			names = append(names, n)
		}
	}
	return names, nil
}

// seqOf reads the sequence number at the end of a message file's name.
func seqOf(name string) (int, bool) {
	id := strings.TrimSuffix(name, ".json")
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(id[i+1:])
	return n, err == nil
}
