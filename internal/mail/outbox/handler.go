package outbox

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// The paths the mailbox is served on (DESIGN.md §7). Each message's HTML
// body is served under BodyPrefix (BodyPath), for the page to frame.
const (
	PagePath   = "/_local/mail"
	JSONPath   = "/_local/mail.json"
	BodyPrefix = PagePath + "/"
)

// BodyPath is where the HTML body of the message id is served.
func BodyPath(id string) string { return BodyPrefix + url.PathEscape(id) + ".html" }

// pagePolicy is the mailbox page's Content-Security-Policy: no script,
// nothing fetched from elsewhere, frames only of its own bodies, and the
// page framed by nobody.
const pagePolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// bodyPolicy is an email body's: the same nothing-but-inline-style, shown
// only in a frame of this origin (the mailbox page), and sandboxed like
// the page's iframe even when opened on its own: no script, an origin of
// its own, links opening a normal tab.
const bodyPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"

//go:embed mail.html
var pageTemplate string

// Handler serves the mailbox: GET PagePath, a page listing the messages
// newest first, GET JSONPath, the same as {"messages": [...]}, and each
// HTML body at BodyPath. Mount it on PagePath, JSONPath and BodyPrefix;
// other paths answer 404. Failures to read the mailbox
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
		// The page shows email HTML that people's names went into, each
		// body in a sandboxed iframe (no scripts, an origin of its own)
		// loaded from BodyPath under a policy of its own. Not srcdoc: a
		// srcdoc frame inherits this page's frame-ancestors 'none', and
		// Chromium then refuses to show it.
		h.Set("Content-Security-Policy", pagePolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if err := page.Execute(w, struct {
			Messages []Stored
			JSONPath string
		}{msgs, JSONPath}); err != nil {
			log.WarnContext(r.Context(), "write mail page", "error", err.Error())
		}
	})
	mux.HandleFunc("GET "+BodyPrefix+"{name}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(r.PathValue("name"), ".html")
		var msg Stored
		var found bool
		if ok {
			var err error
			if msg, found, err = o.Get(id); err != nil {
				o.fail(w, r, log, err)
				return
			}
		}
		if !found || msg.HTML == "" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		noStore(h)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", bodyPolicy)
		h.Set("X-Frame-Options", "SAMEORIGIN") // for browsers without frame-ancestors
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if _, err := io.WriteString(w, msg.HTML); err != nil {
			log.WarnContext(r.Context(), "write mail body", "error", err.Error())
		}
	})
	return mux
}

// parsePage parses the mail page once, when the outbox opens.
func parsePage() (*template.Template, error) {
	page, err := template.New("mail.html").Funcs(template.FuncMap{"bodyPath": BodyPath}).Parse(pageTemplate)
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
