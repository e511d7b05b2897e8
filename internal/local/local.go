// Package local is OpsOS's local mode (DESIGN.md §7): one process serving
// the production handlers over net/http on the embedded store, with a
// bootstrap administrator and a bearer token standing in for Cognito.
package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/console"
	"github.com/opsos/onboarding/internal/gateway"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/identity/localid"
	"github.com/opsos/onboarding/internal/invite"
	"github.com/opsos/onboarding/internal/mail/outbox"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
	"github.com/opsos/onboarding/internal/user"
)

// Config is local mode's settings.
type Config struct {
	App app.Config
	// Addr is the listen address (OPSOS_ADDR).
	Addr string
	// AdminEmail is the bootstrap administrator (OPSOS_ADMIN_EMAIL).
	AdminEmail string
	// AdminSlackID is the Slack user id linked to that administrator
	// (OPSOS_ADMIN_SLACK_ID), or empty.
	AdminSlackID string
	// AdminToken is the administrator's bearer token (OPSOS_ADMIN_TOKEN);
	// when empty a random one is made and printed at start.
	AdminToken string
	// AllowRemote lets Addr be other than loopback (OPSOS_ALLOW_REMOTE=yes):
	// the mailbox and sign-in page are then open to the network.
	AllowRemote bool
	// PublicHost is the host name other machines use to reach the server
	// (OPSOS_PUBLIC_HOST), accepted in Host headers when AllowRemote is on.
	PublicHost string
	// LoginHashCost is bcrypt's cost for the local logins' passwords; zero
	// is bcrypt's default. Not a setting: tests lower it, as the race
	// detector makes every hash many times slower.
	LoginHashCost int
}

// minTokenLen keeps a chosen token from being guessable.
const minTokenLen = 16

// ConfigFromEnv reads local mode's settings; an error names the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	ac, err := app.ConfigFromEnv(getenv)
	if err != nil {
		return Config{}, err
	}
	c := Config{App: ac, Addr: getenv("OPSOS_ADDR"), AdminEmail: getenv("OPSOS_ADMIN_EMAIL"),
		AdminSlackID: user.NormalizeSlackUserID(getenv("OPSOS_ADMIN_SLACK_ID")), AdminToken: getenv("OPSOS_ADMIN_TOKEN")}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	// Local mode's Slack is `opsos slack`, which sends SlackTeamID and
	// listens for answers on loopback.
	if c.App.SlackTeamID == "" {
		c.App.SlackTeamID = SlackTeamID
	}
	c.App.SlackLoopbackResponses = true
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return Config{}, fmt.Errorf("OPSOS_ADDR=%q must be host:port, such as 127.0.0.1:8080", c.Addr)
	}
	if c.AdminEmail == "" {
		c.AdminEmail = "admin@localhost"
	}
	if c.AdminSlackID != "" && !user.ValidSlackUserID(c.AdminSlackID) {
		return Config{}, fmt.Errorf("OPSOS_ADMIN_SLACK_ID=%q must be a Slack user id such as U012AB3CD (in Slack: profile, ⋮, Copy member ID)", c.AdminSlackID)
	}
	if c.AdminToken != "" && len(c.AdminToken) < minTokenLen {
		return Config{}, fmt.Errorf("OPSOS_ADMIN_TOKEN must be at least %d characters", minTokenLen)
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("OPSOS_ALLOW_REMOTE"))); v {
	case "", "no", "false", "0":
	case "yes", "true", "1":
		c.AllowRemote = true
	default:
		return Config{}, fmt.Errorf("OPSOS_ALLOW_REMOTE=%q must be yes or no (yes serves the unauthenticated mailbox and sign-in page to other machines)", v)
	}
	c.PublicHost = strings.ToLower(strings.TrimSpace(getenv("OPSOS_PUBLIC_HOST")))
	if c.PublicHost != "" {
		if !c.AllowRemote {
			return Config{}, fmt.Errorf("OPSOS_PUBLIC_HOST=%s needs OPSOS_ALLOW_REMOTE=yes: without it the server answers only on loopback", c.PublicHost)
		}
		if strings.ContainsAny(c.PublicHost, ":/[] ") {
			return Config{}, fmt.Errorf("OPSOS_PUBLIC_HOST=%q must be a host name alone, such as opsos.lan (no scheme, port or path)", c.PublicHost)
		}
	}
	return c, nil
}

// Server is a running local mode.
type Server struct {
	app  *app.Root
	http *http.Server
	ln   net.Listener
	done chan error
	// stopChanges ends the change pump; changesDone closes when it has.
	stopChanges context.CancelFunc
	changesDone chan struct{}
	// closers release the store, the logins and the listener, last first.
	closers []func() error
}

// Start opens the store, makes sure the administrator exists, and starts
// serving. It prints where and how to connect to out.
func Start(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (*Server, error) {
	if !cfg.AllowRemote {
		if err := checkLoopback(ctx, cfg.Addr, resolve); err != nil {
			return nil, err
		}
	}
	var closers []func() error
	fail := func(err error) (*Server, error) {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return nil, err
	}
	now := func() time.Time { return time.Now().UTC() }
	secretPrinted := false
	if cfg.App.SlackSigningSecret == "" {
		cfg.App.SlackSigningSecret, secretPrinted = randomToken(), true
	}
	// The service records first sign-ins; it is built on the store, which
	// is opened after the logins.
	var service *onboarding.Service
	logins, err := localid.Open(filepath.Join(cfg.App.DataDir, "logins.db"), localid.Options{
		Now: now, TemporaryPasswordValidity: cfg.App.TempPasswordValidity, Logger: log, HashCost: cfg.LoginHashCost,
		PostAuthentication: func(ctx context.Context, userID, email string) error { return service.Activate(ctx, userID, email) },
	})
	if err != nil {
		return nil, err
	}
	closers = append(closers, logins.Close)
	a, err := app.Open(ctx, cfg.App, log, app.WithStorage(OpenStorage), app.WithLogins(release.Logins{Identity: logins}))
	if err != nil {
		return fail(err)
	}
	closers = append(closers, a.Close)
	service = a.Service
	mailbox, err := outbox.Open(filepath.Join(cfg.App.DataDir, "mail"), now)
	if err != nil {
		return fail(err)
	}
	admin, created, err := a.Service.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminSlackID)
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fail(fmt.Errorf("listen on OPSOS_ADDR=%s: %w", cfg.Addr, err))
	}
	closers = append(closers, ln.Close)
	base := "http://" + ln.Addr().String()
	listenHost, _, _ := net.SplitHostPort(cfg.Addr)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	worker, err := newWorker(a, logins, mailbox, base, now)
	if err != nil {
		return fail(err)
	}
	// The process outlives each answer, so slow Slack commands finish in
	// a goroutine rather than in another invocation.
	slackHandler, err := slackapp.Handler(a, slackops.Goroutines{})
	if err != nil {
		return fail(err)
	}

	token, printed := cfg.AdminToken, false
	if token == "" {
		token, printed = randomToken(), true
	}
	mux := routes(a, logins, mailbox, slackHandler, authorizer(token, admin, logins), log)
	s := &Server{
		app: a, ln: ln, done: make(chan error, 1), closers: closers,
		http: &http.Server{Handler: newHostGuard(listenHost, port, cfg.AllowRemote, cfg.PublicHost, mux), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
	}
	go func() { s.done <- s.http.Serve(ln) }()

	s.pumpChanges(a, worker, log)
	banner{cfg: cfg, base: base, admin: admin, created: created,
		secretPrinted: secretPrinted, token: token, tokenPrinted: printed}.print(out, ln.Addr())
	return s, nil
}

// authorizer accepts the administrator's token and the tokens of the
// local login, as the JWT authorizer accepts Cognito's.
func authorizer(token string, admin user.User, logins *localid.Identity) func(string) (map[string]string, bool) {
	adminToken := gateway.TokenAuthorizer(token, map[string]string{
		"sub": admin.ID, "token_use": "id",
		httpapi.ClaimEmail: admin.Email, httpapi.ClaimUserID: admin.ID,
	})
	return func(tok string) (map[string]string, bool) {
		if c, ok := adminToken(tok); ok {
			return c, true
		}
		return logins.Claims(tok)
	}
}

// routes serves the whole product on one address: the API and its
// OpenAPI document, Slack's two doors, the local login and mailbox, and
// the health check.
func routes(a *app.Root, logins *localid.Identity, mailbox *outbox.Outbox, slack *slackops.Handler,
	authorize func(string) (map[string]string, bool), log *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	mail := mailbox.Handler(log)
	mux.Handle("GET "+outbox.PagePath, mail)
	mux.Handle("GET "+outbox.JSONPath, mail)
	mux.Handle("GET "+outbox.BodyPrefix, mail)
	authHandlers{id: logins, log: log}.register(mux)
	slackRoutes := gateway.New(slack.Handle, nil)
	mux.Handle("POST "+slackops.PathCommands, slackRoutes)
	mux.Handle("POST "+slackops.PathInteractions, slackRoutes)
	api := httpapi.New(a.Service, log)
	// The OpenAPI document is public, as behind API Gateway.
	mux.Handle("GET "+httpapi.OpenAPIPath, gateway.New(api.Handle, nil))
	consoleHandler := console.Handler(console.Config{SignIn: console.SignInLocal})
	mux.Handle(console.Path, consoleHandler)
	mux.Handle(strings.TrimSuffix(console.Path, "/"), consoleHandler)
	mux.Handle("/", gateway.New(api.Handle, authorize))
	return mux
}

// pumpChanges hands the table's changes to the release worker, as the
// stream goes to the release function in AWS, until Shutdown.
func (s *Server) pumpChanges(a *app.Root, worker *release.Worker, log *slog.Logger) {
	pumpCtx, stopChanges := context.WithCancel(context.Background())
	s.stopChanges, s.changesDone = stopChanges, make(chan struct{})
	go func() {
		defer close(s.changesDone)
		if err := a.Changes(pumpCtx, stream.Edge(item.DecodeChange, withActivityLog(log, worker.Changes))); err != nil {
			log.Error("change feed stopped", "error", err.Error())
		}
	}()
}

// banner is what a start tells the person who ran it.
type banner struct {
	cfg                         Config
	base                        string
	admin                       user.User
	created                     bool
	secretPrinted, tokenPrinted bool
	token                       string
}

func (b banner) print(out io.Writer, addr net.Addr) {
	where := "data in " + b.cfg.App.DataDir
	if b.cfg.App.DynamoDBEndpoint != "" {
		where = fmt.Sprintf("data in DynamoDB table %s at %s", b.cfg.App.TableName, b.cfg.App.DynamoDBEndpoint)
	}
	if b.cfg.AllowRemote {
		fmt.Fprintf(out, remoteWarning, addr, outbox.PagePath)
	}
	fmt.Fprintf(out, "Console: %s%s (sign in with the administrator's token below)\n", b.base, console.Path)
	fmt.Fprintf(out, "OpsOS local mode: %s (%s)\n", b.base, where)
	fmt.Fprintf(out, "Mailbox: %s%s   Sign-in page: %s/_local/login\n", b.base, outbox.PagePath, b.base)
	if b.created {
		fmt.Fprintf(out, "Created the administrator %s.\n", b.admin.Email)
	}
	fmt.Fprintf(out, "Slack: %s%s and %s%s\n", b.base, slackops.PathCommands, b.base, slackops.PathInteractions)
	if b.admin.SlackUserID != "" {
		fmt.Fprintf(out, "Slack user %s acts as the administrator.\n", b.admin.SlackUserID)
	}
	if b.secretPrinted {
		fmt.Fprintf(out, "Slack signing secret (new at every start; set OPSOS_SLACK_SIGNING_SECRET to choose one):\n  export OPSOS_SLACK_SIGNING_SECRET=%s\n", b.cfg.App.SlackSigningSecret)
	}
	if b.tokenPrinted {
		fmt.Fprintf(out, "Administrator %s, token (new at every start; set OPSOS_ADMIN_TOKEN to choose one):\n  export OPSOS_TOKEN=%s\n", b.admin.Email, b.token)
	} else {
		fmt.Fprintf(out, "Administrator %s, token from OPSOS_ADMIN_TOKEN.\n", b.admin.Email)
	}
}

// newWorker builds local mode's release worker: the local logins, the
// mailbox, and sign-in links to the server at base. `opsos serve` and
// `opsos invoke` build it alike, so a stream sample meets the worker the
// server runs.
func newWorker(r *app.Root, logins *localid.Identity, mailbox *outbox.Outbox, base string, now func() time.Time) (*release.Worker, error) {
	composer, err := invite.New()
	if err != nil {
		return nil, err
	}
	return app.Worker(r, app.WorkerParts{Identity: logins, Mailer: mailbox, Compose: composer.Compose,
		Notifier: slackapp.Notifier(r), LoginURL: base + "/_local/login", Now: now})
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops taking requests, lets those in flight finish, and closes
// the store, so that nothing written is lost.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	s.stopChanges()
	<-s.changesDone
	for i := len(s.closers) - 1; i >= 0; i-- {
		if cerr := s.closers[i](); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	}
	return err
}

// Run serves until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	s, err := Start(ctx, cfg, log, out)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-s.done:
		s.done <- err // for Shutdown
	}
	fmt.Fprintln(out, "Shutting down: finishing requests in flight.")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(out, "Stopped; all data is saved.")
	return nil
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
