package outbox

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
)

// The paths the mailbox is served on (DESIGN.md §7).
const (
	PagePath = "/_local/mail"
	JSONPath = "/_local/mail.json"
)

//go:embed mail.html
var pageTemplate string

// Handler serves the mailbox: GET PagePath, a page listing the messages
// newest first, and GET JSONPath, the same as {"messages": [...]}. Mount
// it on both paths; other paths answer 404. Failures to read the mailbox
// are logged to log (nil: not logged).
//
// The mailbox holds temporary passwords and asks for no credentials: it
// belongs on local mode's loopback address only.
func (o *Outbox) Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	page := o.page
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+JSONPath, func(w http.ResponseWriter, r *http.Request) {
		msgs, err := o.List()
		if err != nil {
			o.fail(w, r, log, err)
			return
		}
		noStore(w.Header())
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(struct {
			Messages []Stored `json:"messages"`
		}{msgs}); err != nil {
			log.WarnContext(r.Context(), "write mail JSON", "error", err.Error())
		}
	})
	mux.HandleFunc("GET "+PagePath, func(w http.ResponseWriter, r *http.Request) {
		msgs, err := o.List()
		if err != nil {
			o.fail(w, r, log, err)
			return
		}
		h := w.Header()
		noStore(h)
		h.Set("Content-Type", "text/html; charset=utf-8")
		// The page shows email HTML that people's names went into. The
		// iframes are sandboxed (no scripts, an origin of their own) and
		// this policy, which srcdoc frames inherit, allows no script and
		// nothing fetched from elsewhere.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if err := page.Execute(w, struct {
			Messages []Stored
			JSONPath string
		}{msgs, JSONPath}); err != nil {
			log.WarnContext(r.Context(), "write mail page", "error", err.Error())
		}
	})
	return mux
}

// parsePage parses the mail page once, when the outbox opens.
func parsePage() (*template.Template, error) {
	page, err := template.New("mail.html").Parse(pageTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse mail page: %w", err)
	}
	return page, nil
}

func (o *Outbox) fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	log.ErrorContext(r.Context(), "read local mailbox", "dir", o.dir, "error", err.Error())
	http.Error(w, "The local mailbox cannot be read; the server log says why.", http.StatusInternalServerError)
}

// noStore keeps pages holding temporary passwords out of every cache.
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
}
