// Package app is the composition root: it reads the configuration once and
// builds the adapters, the services and the handlers. Every Lambda main and
// the local binary call it, so they all run the same handlers.
package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/invite"
	"github.com/opsos/onboarding/internal/lambdainvoke"
	"github.com/opsos/onboarding/internal/mail/ses"
	slacknotify "github.com/opsos/onboarding/internal/notify/slack"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/password"
	"github.com/opsos/onboarding/internal/phone"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/stream"
	"github.com/opsos/onboarding/internal/user"
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
	// DynamoDBEndpoint, when set, puts the data in DynamoDB Local (or any
	// DynamoDB-compatible endpoint) instead of the embedded store
	// (OPSOS_DYNAMODB_ENDPOINT); the table is created if missing.
	DynamoDBEndpoint string
	// TableName is the DynamoDB table (OPSOS_TABLE_NAME). Set without an
	// endpoint, it selects DynamoDB in AWS with the default credentials.
	TableName string
	// UserPoolID is the Cognito user pool of the logins (OPSOS_USER_POOL_ID).
	UserPoolID string
	// MailFrom is the invitation's sender, an SES identity (OPSOS_MAIL_FROM).
	MailFrom string
	// SESConfigurationSet is optional (OPSOS_SES_CONFIGURATION_SET).
	SESConfigurationSet string
	// LoginURL is the Cognito managed login page invitations link to
	// (OPSOS_LOGIN_URL).
	LoginURL string
	// SlackSigningSecret verifies requests from Slack
	// (OPSOS_SLACK_SIGNING_SECRET).
	SlackSigningSecret string
	// SlackBotToken calls Slack's Web API: forms, users.info and
	// notifications (OPSOS_SLACK_BOT_TOKEN). Optional.
	SlackBotToken string
	// SlackChannel is the channel id the release worker posts outcomes to
	// (OPSOS_SLACK_CHANNEL). Optional; needs the bot token.
	SlackChannel string
	// SlackAPIURL replaces Slack's Web API address, for a stand-in
	// (OPSOS_SLACK_API_URL). Optional.
	SlackAPIURL string
	// SlackSecretARN is the Secrets Manager secret holding the signing
	// secret and the bot token as JSON {"signingSecret","botToken"}
	// (OPSOS_SLACK_SECRET_ARN), read once when a function starts. In AWS
	// it replaces the two variables, which would show in the console.
	SlackSecretARN string
}

// UsesDynamoDB reports whether the data lives in DynamoDB.
func (c Config) UsesDynamoDB() bool { return c.DynamoDBEndpoint != "" || c.TableName != "" }

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
	c.DynamoDBEndpoint = strings.TrimSpace(getenv("OPSOS_DYNAMODB_ENDPOINT"))
	if c.DynamoDBEndpoint != "" {
		if u, err := url.Parse(c.DynamoDBEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("OPSOS_DYNAMODB_ENDPOINT=%q must be a URL such as http://127.0.0.1:8000", c.DynamoDBEndpoint)
		}
	}
	c.TableName = strings.TrimSpace(getenv("OPSOS_TABLE_NAME"))
	if c.TableName == "" && c.DynamoDBEndpoint != "" {
		c.TableName = "opsos"
	}
	c.UserPoolID = strings.TrimSpace(getenv("OPSOS_USER_POOL_ID"))
	c.MailFrom = strings.TrimSpace(getenv("OPSOS_MAIL_FROM"))
	c.SESConfigurationSet = strings.TrimSpace(getenv("OPSOS_SES_CONFIGURATION_SET"))
	c.LoginURL = strings.TrimSpace(getenv("OPSOS_LOGIN_URL"))
	if c.LoginURL != "" {
		if u, err := url.Parse(c.LoginURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Config{}, fmt.Errorf("OPSOS_LOGIN_URL=%q must be the full address of the sign-in page", c.LoginURL)
		}
	}
	c.SlackSigningSecret = strings.TrimSpace(getenv("OPSOS_SLACK_SIGNING_SECRET"))
	c.SlackBotToken = strings.TrimSpace(getenv("OPSOS_SLACK_BOT_TOKEN"))
	c.SlackChannel = strings.TrimSpace(getenv("OPSOS_SLACK_CHANNEL"))
	c.SlackAPIURL = strings.TrimSpace(getenv("OPSOS_SLACK_API_URL"))
	c.SlackSecretARN = strings.TrimSpace(getenv("OPSOS_SLACK_SECRET_ARN"))
	if c.SlackChannel != "" && c.SlackBotToken == "" && c.SlackSecretARN == "" {
		return Config{}, fmt.Errorf("OPSOS_SLACK_CHANNEL=%q needs OPSOS_SLACK_BOT_TOKEN to post with", c.SlackChannel)
	}
	if c.SlackAPIURL != "" {
		if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Config{}, fmt.Errorf("OPSOS_SLACK_API_URL=%q must be a URL such as https://slack.com/api/", c.SlackAPIURL)
		}
		if !strings.HasSuffix(c.SlackAPIURL, "/") {
			c.SlackAPIURL += "/"
		}
	}
	if c.TableName != "" && !validTableName(c.TableName) {
		return Config{}, fmt.Errorf("OPSOS_TABLE_NAME=%q must be 3 to 255 letters, digits, '_', '-' or '.'", c.TableName)
	}
	if c.PhoneRegion == "" {
		c.PhoneRegion = "GB"
	}
	if !phone.Supported(c.PhoneRegion) {
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

func validTableName(s string) bool {
	if len(s) < 3 || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Logger returns the JSON logger every entry point uses.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}

// App is the built product: its store, service and handlers.
type App struct {
	Config  Config
	Store   onboarding.Store
	Service *onboarding.Service
	API     *httpapi.Handler
	Log     *slog.Logger
	// Changes delivers the table's changes to a stream handler in local
	// mode: the embedded feed, or DynamoDB Local's stream. In Lambda the
	// event source mapping does this instead.
	Changes func(ctx context.Context, h stream.Handler) error
	close   func() error
	// aws is the AWS configuration when the product runs in AWS.
	aws *aws.Config
}

// Open builds the product on the store cfg selects: DynamoDB when a table
// or endpoint is configured, else the embedded store in cfg.DataDir.
func Open(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) (*App, error) {
	a := &App{Config: cfg, Log: log}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if cfg.SlackSecretARN != "" {
		if err := a.readSlackSecret(ctx); err != nil {
			return nil, err
		}
	}
	now := func() time.Time { return time.Now().UTC() }
	if o.logins == nil && a.aws != nil && cfg.UserPoolID != "" {
		o.logins = release.Facts{Identity: a.cognito()}
	}
	a.Service = onboarding.New(a.Store, access.DefaultCatalogue(), onboarding.Config{
		PhoneRegion: cfg.PhoneRegion, TemporaryPasswordValidity: cfg.TempPasswordValidity, Logins: o.logins,
	}, now, NewID)
	a.API = httpapi.New(a.Service, log)
	return a, nil
}

// Option adds to what Open builds.
type Option func(*options)

type options struct{ logins onboarding.Logins }

// WithLogins lets the status diagnosis ask the identity provider.
func WithLogins(l onboarding.Logins) Option { return func(o *options) { o.logins = l } }

// idle is how long local mode's change pump rests when nothing is new.
const idle = 200 * time.Millisecond

func (a *App) openStore(ctx context.Context) error {
	cfg := a.Config
	switch {
	case cfg.DynamoDBEndpoint != "":
		db := dynamo.NewLocalClient(cfg.DynamoDBEndpoint)
		if err := dynamo.CreateTable(ctx, db, cfg.TableName); err != nil {
			return fmt.Errorf("OPSOS_DYNAMODB_ENDPOINT=%s: %w", cfg.DynamoDBEndpoint, err)
		}
		a.Store, a.close = dynamo.New(db, cfg.TableName), func() error { return nil }
		streams := dynamo.NewLocalStreamsClient(cfg.DynamoDBEndpoint)
		checkpoints := dynamo.FileCheckpoints{Path: filepath.Join(cfg.DataDir, "stream-checkpoints.json")}
		a.Changes = func(ctx context.Context, h stream.Handler) error {
			p, err := dynamo.NewPoller(ctx, db, streams, cfg.TableName, h, checkpoints, a.Log)
			if err != nil {
				return err
			}
			return p.Run(ctx, idle)
		}
	case cfg.TableName != "":
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("AWS configuration: %w", err)
		}
		a.aws = &awsCfg
		a.Store, a.close = dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName), func() error { return nil }
		a.Changes = func(ctx context.Context, h stream.Handler) error {
			return fmt.Errorf("in AWS the table's stream reaches the release function through its event source mapping")
		}
	default:
		store, err := embedded.Open(filepath.Join(cfg.DataDir, "opsos.db"))
		if err != nil {
			return err
		}
		a.Store, a.close = store, store.Close
		a.Changes = func(ctx context.Context, h stream.Handler) error {
			store.Pump(ctx, h, idle, func(err error) { a.Log.Warn("change feed", "error", err.Error()) })
			return nil
		}
	}
	return nil
}

func (a *App) cognito() *cognito.Identity {
	return cognito.New(cognitoidentityprovider.NewFromConfig(*a.aws), a.Config.UserPoolID)
}

// ReleaseWorker builds the release worker of the AWS deployment: Cognito,
// SES and the invitation email. Each missing setting is named.
func (a *App) ReleaseWorker() (*release.Worker, error) {
	cfg := a.Config
	for _, setting := range [][2]string{{"OPSOS_TABLE_NAME", cfg.TableName}, {"OPSOS_USER_POOL_ID", cfg.UserPoolID},
		{"OPSOS_MAIL_FROM", cfg.MailFrom}, {"OPSOS_LOGIN_URL", cfg.LoginURL}} {
		if setting[1] == "" {
			return nil, fmt.Errorf("%s must be set for the release worker", setting[0])
		}
	}
	if a.aws == nil {
		return nil, fmt.Errorf("the release worker runs in AWS: OPSOS_DYNAMODB_ENDPOINT must not be set")
	}
	store, ok := a.Store.(release.Store)
	if !ok {
		return nil, fmt.Errorf("the store %T cannot serve the release worker", a.Store)
	}
	composer, err := invite.New()
	if err != nil {
		return nil, err
	}
	mailer := ses.New(sesv2.NewFromConfig(*a.aws), cfg.MailFrom, cfg.SESConfigurationSet)
	return release.New(store, a.cognito(), mailer, composer.Compose,
		func() (string, error) { return password.Default().Generate(nil) },
		func() time.Time { return time.Now().UTC() }, a.Log,
		release.Config{LoginURL: cfg.LoginURL, TemporaryPasswordValidity: cfg.TempPasswordValidity, Notifier: a.Notifier()}), nil
}

// readSlackSecret fills the Slack settings from Secrets Manager.
func (a *App) readSlackSecret(ctx context.Context) error {
	arn := a.Config.SlackSecretARN
	if a.aws == nil {
		return fmt.Errorf("OPSOS_SLACK_SECRET_ARN=%s is read from Secrets Manager in AWS: it needs OPSOS_TABLE_NAME and no OPSOS_DYNAMODB_ENDPOINT", arn)
	}
	out, err := secretsmanager.NewFromConfig(*a.aws).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("read OPSOS_SLACK_SECRET_ARN=%s: %w", arn, err)
	}
	signing, token, err := parseSlackSecret(aws.ToString(out.SecretString))
	if err != nil {
		return fmt.Errorf("OPSOS_SLACK_SECRET_ARN=%s: %w", arn, err)
	}
	if a.Config.SlackSigningSecret == "" {
		a.Config.SlackSigningSecret = signing
	}
	if a.Config.SlackBotToken == "" {
		a.Config.SlackBotToken = token
	}
	return nil
}

// parseSlackSecret reads the secret's JSON. The bot token may be empty
// (no forms, no notices); the signing secret may not.
func parseSlackSecret(raw string) (signing, token string, err error) {
	var v struct {
		SigningSecret string `json:"signingSecret"`
		BotToken      string `json:"botToken"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return "", "", errors.New(`the secret must be JSON: {"signingSecret": "…", "botToken": "xoxb-…"}`)
	}
	v.SigningSecret, v.BotToken = strings.TrimSpace(v.SigningSecret), strings.TrimSpace(v.BotToken)
	if v.SigningSecret == "" {
		return "", "", errors.New("the secret has no signingSecret: copy it from the Slack app's Basic Information page")
	}
	if v.BotToken != "" && !strings.HasPrefix(v.BotToken, "xoxb-") {
		return "", "", errors.New("the secret's botToken must be the Slack app's bot token (xoxb-…)")
	}
	return v.SigningSecret, v.BotToken, nil
}

// slackClient returns the Slack Web API client, nil without a bot token.
func (a *App) slackClient() *slack.Client {
	if a.Config.SlackBotToken == "" {
		return nil
	}
	var opts []slack.Option
	if a.Config.SlackAPIURL != "" {
		opts = append(opts, slack.OptionAPIURL(a.Config.SlackAPIURL))
	}
	return slack.New(a.Config.SlackBotToken, opts...)
}

// Notifier returns where the release worker reports outcomes: the
// configured Slack channel, or nil (no notices) when there is none.
func (a *App) Notifier() release.Notifier {
	client := a.slackClient()
	if client == nil || a.Config.SlackChannel == "" {
		return nil
	}
	roles := a.Service.Roles()
	return slacknotify.New(client, a.Config.SlackChannel, slacknotify.WithRoleNames(func(id string) string {
		r, _ := roles.Role(id)
		return r.Name
	}))
}

// SlackHandler builds the /slack/* handler. deferrer runs slow commands
// after the answer: an asynchronous invocation in Lambda, a goroutine
// locally.
func (a *App) SlackHandler(deferrer slackops.Deferrer) (*slackops.Handler, error) {
	if a.Config.SlackSigningSecret == "" {
		return nil, fmt.Errorf("OPSOS_SLACK_SIGNING_SECRET must be set: it is the Slack app's signing secret, which every request is checked against")
	}
	cfg := slackops.Config{
		Service: a.Service, Verifier: slackops.NewVerifier(a.Config.SlackSigningSecret, time.Now),
		Deferrer: deferrer, Log: a.Log,
	}
	// A nil *slack.Client must not become a non-nil API.
	if client := a.slackClient(); client != nil {
		cfg.API = client
	}
	return slackops.New(cfg), nil
}

// LambdaDeferrer defers Slack commands to an asynchronous invocation of
// the running function.
func (a *App) LambdaDeferrer() (slackops.Deferrer, error) {
	name := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	if a.aws == nil || name == "" {
		return nil, fmt.Errorf("the Slack function defers work by invoking itself: it must run in Lambda with OPSOS_TABLE_NAME set")
	}
	return lambdainvoke.Deferrer{Client: awslambda.NewFromConfig(*a.aws), Function: name}, nil
}

// Close releases the store.
func (a *App) Close() error { return a.close() }

// NewID returns a new user id: a UUIDv7, so ids sort in creation order.
func NewID() string {
	id, err := uuid.NewV7FromReader(rand.Reader)
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("new id: %v", err))
	}
	return id.String()
}

// OpenFunction is how a Lambda main starts: it reads the configuration
// and builds the product, and on any error prints it, naming the function
// and the setting at fault, and exits, so a bad deployment fails at once
// with a clear log line instead of on the first event.
func OpenFunction(name string, build func(*App) error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: configuration: %v\n", name, err)
		os.Exit(1)
	}
	log := cfg.Logger().With("function", name)
	a, err := Open(context.Background(), cfg, log)
	if err == nil {
		err = build(a)
	}
	if err != nil {
		log.Error("start", "error", err.Error())
		os.Exit(1)
	}
}

// BootstrapAdmin writes the first administrator of a deployment to the
// DynamoDB table cfg names, released, so that the table's stream has the
// release function invite them.
func BootstrapAdmin(ctx context.Context, cfg Config, admin onboarding.FirstAdministrator, log *slog.Logger) (user.User, bool, error) {
	if !cfg.UsesDynamoDB() {
		return user.User{}, false, fmt.Errorf("OPSOS_TABLE_NAME must name the deployed table (the stack's TableName output)")
	}
	a, err := Open(ctx, cfg, log)
	if err != nil {
		return user.User{}, false, err
	}
	defer a.Close()
	return a.Service.InviteFirstAdministrator(ctx, admin)
}
