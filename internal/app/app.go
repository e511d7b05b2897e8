// Package app is the composition root: it reads the configuration once and
// builds the store and the service. Every Lambda main and the local binary
// start here; what only some functions need is built by slackapp and
// releaseapp, so that each Lambda binary links only its own adapters.
package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/uuid"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/phone"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
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
	// SendRate paces invitation emails, per second (OPSOS_SEND_RATE); 0,
	// the default, does not pace. In AWS set it to the SES sending quota.
	SendRate float64
	// SlackSecretARN is the Secrets Manager secret holding the signing
	// secret and the bot token as JSON {"signingSecret","botToken"}
	// (OPSOS_SLACK_SECRET_ARN), read once when a function starts. In AWS
	// it replaces the two variables, which would show in the console.
	SlackSecretARN string
	// SlackTeamID pins the Slack workspace (OPSOS_SLACK_TEAM_ID, T…):
	// requests from any other workspace are refused, however well signed.
	// The Slack function needs it; local mode has its own default.
	SlackTeamID string
	// SlackEnterpriseID pins the Enterprise Grid organisation too
	// (OPSOS_SLACK_ENTERPRISE_ID, E…). Optional.
	SlackEnterpriseID string
	// SlackLoopbackResponses lets answers go to loopback response_urls, for
	// the local stand-in of Slack. Local mode sets it; no variable does, so
	// a deployed function answers only Slack's own hosts.
	SlackLoopbackResponses bool
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
	c.SlackTeamID = strings.TrimSpace(getenv("OPSOS_SLACK_TEAM_ID"))
	if c.SlackTeamID != "" && !slackTeamID.MatchString(c.SlackTeamID) {
		return Config{}, fmt.Errorf("OPSOS_SLACK_TEAM_ID=%q must be a Slack team id such as T0123ABCD (in Slack: the workspace's About page, or the team_id of any request)", c.SlackTeamID)
	}
	c.SlackEnterpriseID = strings.TrimSpace(getenv("OPSOS_SLACK_ENTERPRISE_ID"))
	if c.SlackEnterpriseID != "" && !slackEnterpriseID.MatchString(c.SlackEnterpriseID) {
		return Config{}, fmt.Errorf("OPSOS_SLACK_ENTERPRISE_ID=%q must be an Enterprise Grid id such as E0123ABCD", c.SlackEnterpriseID)
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
	if v := getenv("OPSOS_SEND_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || r > 10000 {
			return Config{}, fmt.Errorf("OPSOS_SEND_RATE=%q must be emails per second, such as 14 (0 does not pace)", v)
		}
		c.SendRate = r
	}
	if v := getenv("OPSOS_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, fmt.Errorf("OPSOS_LOG_LEVEL=%q must be debug, info, warn or error", v)
		}
	}
	return c, nil
}

// Slack's workspace and Enterprise Grid ids: a letter, then upper-case
// letters and digits.
var (
	slackTeamID       = regexp.MustCompile(`^T[A-Z0-9]{2,20}$`)
	slackEnterpriseID = regexp.MustCompile(`^E[A-Z0-9]{2,20}$`)
)

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

// App is the built product: its store and service, and what the
// function-specific builders (slackapp, releaseapp) need.
type App struct {
	Config  Config
	Store   onboarding.Store
	Service *onboarding.Service
	Log     *slog.Logger
	// Changes delivers the table's changes to a stream handler in local
	// mode: the embedded feed, or DynamoDB Local's stream. In Lambda the
	// event source mapping does this instead.
	Changes func(ctx context.Context, h stream.Handler) error
	close   func() error
	// AWS is the AWS configuration when the product runs in AWS, else nil.
	AWS     *aws.Config
	loadAWS func(context.Context) (aws.Config, error)
}

// Stores is what a store opener gives: the store, its change feed, and
// how to close it.
type Stores struct {
	Store   onboarding.Store
	Changes func(ctx context.Context, h stream.Handler) error
	Close   func() error
}

// StoreOpener opens the store of cfg: local mode passes its own (the
// embedded store, or DynamoDB Local), so that the Lambda binaries link
// only DynamoDB.
type StoreOpener func(ctx context.Context, cfg Config, log *slog.Logger) (Stores, error)

// Open builds the product on the DynamoDB table cfg names, in AWS, or on
// the store WithStores opens.
func Open(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) (*App, error) {
	a := &App{Config: cfg, Log: log}
	o := options{stores: awsStores(a), loadAWS: LambdaAWSConfig}
	for _, opt := range opts {
		opt(&o)
	}
	a.loadAWS = o.loadAWS
	if len(o.apiOptions) > 0 {
		a.loadAWS = func(ctx context.Context) (aws.Config, error) {
			c, err := o.loadAWS(ctx)
			c.APIOptions = append(c.APIOptions, o.apiOptions...)
			return c, err
		}
	}
	st, err := o.stores(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.Store, a.Changes, a.close = st.Store, st.Changes, st.Close
	if o.logins == nil && a.AWS != nil && cfg.UserPoolID != "" {
		o.logins = release.Facts{Identity: a.Cognito()}
	}
	a.Service = onboarding.New(a.Store, access.DefaultCatalogue(), onboarding.Config{
		PhoneRegion: cfg.PhoneRegion, TemporaryPasswordValidity: cfg.TempPasswordValidity, Logins: o.logins,
	}, func() time.Time { return time.Now().UTC() }, NewID)
	return a, nil
}

// Option adds to what Open builds.
type Option func(*options)

type options struct {
	logins     onboarding.Logins
	stores     StoreOpener
	loadAWS    func(context.Context) (aws.Config, error)
	apiOptions []func(*middleware.Stack) error
}

// WithAPIOptions adds SDK middleware to every AWS client built from the
// App's configuration (DynamoDB, Cognito, SES, Secrets Manager): the IAM
// coverage test records through it what each function calls. The Slack
// function's own invocation is signed by hand (lambdainvoke) and passes
// through no SDK stack.
func WithAPIOptions(opts ...func(*middleware.Stack) error) Option {
	return func(o *options) { o.apiOptions = append(o.apiOptions, opts...) }
}

// WithAWSConfig loads the AWS configuration with load instead of from
// Lambda's environment: the command line passes the SDK's default chain
// (profiles, SSO) for an administrator's machine.
func WithAWSConfig(load func(context.Context) (aws.Config, error)) Option {
	return func(o *options) { o.loadAWS = load }
}

// LambdaAWSConfig is the AWS configuration Lambda gives a function in its
// environment: the region and the role's credentials. Reading them
// directly, instead of through the SDK's default chain, keeps the shared
// config files, SSO, STS and the instance metadata client out of every
// binary and out of every cold start.
func LambdaAWSConfig(context.Context) (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set, as Lambda sets them")
	}
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))}
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cfg, nil
}

// WithLogins lets the status diagnosis ask the identity provider.
func WithLogins(l onboarding.Logins) Option { return func(o *options) { o.logins = l } }

// WithStores opens the store with open instead of AWS DynamoDB.
func WithStores(open StoreOpener) Option { return func(o *options) { o.stores = open } }

// awsStores opens the table cfg names with the default AWS credentials.
func awsStores(a *App) StoreOpener {
	return func(ctx context.Context, cfg Config, _ *slog.Logger) (Stores, error) {
		if cfg.TableName == "" || cfg.DynamoDBEndpoint != "" {
			return Stores{}, fmt.Errorf("OPSOS_TABLE_NAME must name the DynamoDB table (in AWS the stack sets it; locally run opsos serve)")
		}
		awsCfg, err := a.loadAWS(ctx)
		if err != nil {
			return Stores{}, fmt.Errorf("AWS configuration: %w", err)
		}
		a.AWS = &awsCfg
		db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
			if ep := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); ep != "" {
				o.BaseEndpoint = aws.String(ep)
			}
		})
		return Stores{
			Store: dynamo.New(db, cfg.TableName),
			Changes: func(ctx context.Context, h stream.Handler) error {
				return fmt.Errorf("in AWS the table's stream reaches the release function through its event source mapping")
			},
			Close: func() error { return nil },
		}, nil
	}
}

// Cognito returns the identity adapter on the configured user pool.
func (a *App) Cognito() *cognito.Identity {
	return cognito.New(cognitoidentityprovider.NewFromConfig(*a.AWS), a.Config.UserPoolID)
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
func OpenFunction(name string, build func(context.Context, *App) error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: configuration: %v\n", name, err)
		os.Exit(1)
	}
	log := cfg.Logger().With("function", name)
	ctx := context.Background()
	a, err := Open(ctx, cfg, log)
	if err == nil {
		err = build(ctx, a)
	}
	if err != nil {
		log.Error("start", "error", err.Error())
		os.Exit(1)
	}
}

// BootstrapAdmin writes the first administrator of a deployment to its
// table, released, so that the table's stream has the release function
// invite them.
func BootstrapAdmin(ctx context.Context, cfg Config, admin onboarding.FirstAdministrator, log *slog.Logger, opts ...Option) (user.User, bool, error) {
	if !cfg.UsesDynamoDB() {
		return user.User{}, false, fmt.Errorf("OPSOS_TABLE_NAME must name the deployed table (the stack's TableName output)")
	}
	a, err := Open(ctx, cfg, log, opts...)
	if err != nil {
		return user.User{}, false, err
	}
	defer a.Close()
	return a.Service.InviteFirstAdministrator(ctx, admin)
}
