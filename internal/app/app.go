// Package app is the composition root: it reads the configuration once and
// builds the adapters, the services and the handlers. Every Lambda main and
// the local binary call it, so they all run the same handlers.
package app

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nyaruka/phonenumbers"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/embedded"
)

// Config is the settings shared by every entry point, read from the
// environment.
type Config struct {
	// DataDir holds the embedded store (OPSOS_DATA_DIR).
	DataDir string
	// PhoneRegion is the region of phone numbers written without a country
	// code (OPSOS_PHONE_REGION, ISO 3166 such as GB or US).
	PhoneRegion string
	// TempPasswordValidity is how long an emailed temporary password works
	// (OPSOS_TEMP_PASSWORD_DAYS, in days, as Cognito counts it).
	TempPasswordValidity time.Duration
	// LogLevel is the minimum level logged (OPSOS_LOG_LEVEL: debug, info, warn, error).
	LogLevel slog.Level
}

// ConfigFromEnv reads and validates the configuration; an error names the
// variable at fault.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		DataDir:              getenv("OPSOS_DATA_DIR"),
		PhoneRegion:          strings.ToUpper(strings.TrimSpace(getenv("OPSOS_PHONE_REGION"))),
		TempPasswordValidity: 7 * 24 * time.Hour,
	}
	if c.DataDir == "" {
		c.DataDir = ".opsos"
	}
	if c.PhoneRegion == "" {
		c.PhoneRegion = "GB"
	}
	if !phonenumbers.GetSupportedRegions()[c.PhoneRegion] {
		return Config{}, fmt.Errorf("OPSOS_PHONE_REGION=%q is not a region phone numbers are known for; use a two-letter code such as GB or US", c.PhoneRegion)
	}
	if v := getenv("OPSOS_TEMP_PASSWORD_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return Config{}, fmt.Errorf("OPSOS_TEMP_PASSWORD_DAYS=%q must be a whole number of days from 1 to 365", v)
		}
		c.TempPasswordValidity = time.Duration(n) * 24 * time.Hour
	}
	if v := getenv("OPSOS_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, fmt.Errorf("OPSOS_LOG_LEVEL=%q must be debug, info, warn or error", v)
		}
	}
	return c, nil
}

// Logger returns the JSON logger every entry point uses.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}

// App is the built product: its store, service and handlers.
type App struct {
	Config  Config
	Store   *embedded.Store
	Service *onboarding.Service
	API     *httpapi.Handler
	Log     *slog.Logger
}

// Open builds the product on the embedded store in cfg.DataDir.
func Open(cfg Config, log *slog.Logger) (*App, error) {
	store, err := embedded.Open(filepath.Join(cfg.DataDir, "opsos.db"))
	if err != nil {
		return nil, err
	}
	now := func() time.Time { return time.Now().UTC() }
	svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{PhoneRegion: cfg.PhoneRegion}, now, NewID)
	return &App{
		Config: cfg, Store: store, Service: svc, Log: log,
		API: httpapi.New(svc, log, now, cfg.TempPasswordValidity),
	}, nil
}

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }

// NewID returns a new user id: a UUIDv7, so ids sort in creation order.
func NewID() string {
	id, err := uuid.NewV7FromReader(rand.Reader)
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("new id: %v", err))
	}
	return id.String()
}
