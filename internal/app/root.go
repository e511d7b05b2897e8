// Package app is the composition root: every Lambda main, local mode and
// the command line start here. It reads the configuration once, Slack's
// secret included, and builds from it the one store and the onboarding
// service; the typed builders (Worker here, the Slack parts in slackapp)
// make the rest from the Root and the adapters each caller picks. What
// only some functions need is passed in by them, never imported here, so
// that each Lambda binary links only its own adapters.
package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
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
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/stream"
	"github.com/opsos/onboarding/internal/user"
)

// Root is the built product: its complete configuration, its store and
// service, and the AWS configuration when it runs in AWS.
type Root struct {
	Config  Config
	Store   Store
	Service *onboarding.Service
	Log     *slog.Logger
	// Changes delivers the table's changes in local mode; see Storage.
	Changes func(ctx context.Context, h stream.Handler) error
	// AWS is the AWS configuration when the product runs in AWS, else nil.
	AWS   *aws.Config
	close func() error
}

// Open completes cfg (Slack's secret, when it is kept in Secrets Manager)
// and builds the product on the DynamoDB table cfg names, in AWS, or on
// the storage WithStorage opens.
func Open(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) (*Root, error) {
	o := options{loadAWS: LambdaAWSConfig}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Root{Config: cfg, Log: log}
	if o.storage == nil {
		if cfg.TableName == "" || cfg.DynamoDBEndpoint != "" {
			return nil, fmt.Errorf("OPSOS_TABLE_NAME must name the DynamoDB table (in AWS the stack sets it; locally run opsos serve)")
		}
		awsCfg, err := o.awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		r.AWS, o.storage = &awsCfg, awsStorage(awsCfg)
	}
	if err := r.readSlackSecret(ctx, o.secrets); err != nil {
		return nil, err
	}
	st, err := o.storage(ctx, r.Config, log)
	if err != nil {
		return nil, err
	}
	r.Store, r.Changes, r.close = st.Store, st.Changes, st.Close
	if o.logins == nil && r.AWS != nil && cfg.UserPoolID != "" {
		o.logins = release.Logins{Identity: r.Cognito()}
	}
	r.Service = onboarding.New(r.Store, access.DefaultCatalogue(), onboarding.Config{
		PhoneRegion: cfg.PhoneRegion, TemporaryPasswordValidity: cfg.TempPasswordValidity, Logins: o.logins,
	}, func() time.Time { return time.Now().UTC() }, NewID)
	return r, nil
}

// readSlackSecret completes the configuration from the Secrets Manager
// secret OPSOS_SLACK_SECRET_ARN names, if any, before anything is built.
func (r *Root) readSlackSecret(ctx context.Context, read SecretReader) error {
	arn := r.Config.SlackSecretARN
	switch {
	case arn == "" || read == nil:
		// Only what talks to Slack reads the secret (the Slack and release
		// functions pass WithSlackSecret); local mode and the other
		// functions leave it alone.
		return nil
	case r.AWS == nil:
		return fmt.Errorf("OPSOS_SLACK_SECRET_ARN=%s is read from Secrets Manager in AWS: it needs OPSOS_TABLE_NAME and no OPSOS_DYNAMODB_ENDPOINT", arn)
	}
	raw, err := read(ctx, *r.AWS, arn)
	if err != nil {
		return fmt.Errorf("read OPSOS_SLACK_SECRET_ARN=%s: %w", arn, err)
	}
	r.Config, err = r.Config.withSlackSecret(raw)
	return err
}

// SecretReader returns the text of the Secrets Manager secret arn. The
// functions that talk to Slack pass slackapp.ReadSecret; the others link
// no Secrets Manager client.
type SecretReader func(ctx context.Context, awsCfg aws.Config, arn string) (string, error)

// Option adds to what Open builds.
type Option func(*options)

type options struct {
	logins     onboarding.Logins
	storage    StorageOpener
	secrets    SecretReader
	loadAWS    func(context.Context) (aws.Config, error)
	apiOptions []func(*middleware.Stack) error
}

// awsConfig loads the AWS configuration, with the SDK middleware
// WithAPIOptions adds.
func (o options) awsConfig(ctx context.Context) (aws.Config, error) {
	c, err := o.loadAWS(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	c.APIOptions = append(c.APIOptions, o.apiOptions...)
	return c, nil
}

// WithAPIOptions adds SDK middleware to every AWS client built from the
// Root's configuration (DynamoDB, Cognito, SES, Secrets Manager): the IAM
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

// WithSlackSecret reads OPSOS_SLACK_SECRET_ARN with read: the functions
// that talk to Slack pass it.
func WithSlackSecret(read SecretReader) Option { return func(o *options) { o.secrets = read } }

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

// WithStorage opens the store with open instead of AWS DynamoDB.
func WithStorage(open StorageOpener) Option { return func(o *options) { o.storage = open } }

// awsStorage opens the table cfg names in AWS.
func awsStorage(awsCfg aws.Config) StorageOpener {
	return func(ctx context.Context, cfg Config, _ *slog.Logger) (Storage, error) {
		db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
			if ep := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); ep != "" {
				o.BaseEndpoint = aws.String(ep)
			}
		})
		return Storage{
			Store: dynamo.New(db, cfg.TableName),
			Changes: func(ctx context.Context, h stream.Handler) error {
				return fmt.Errorf("in AWS the table's stream reaches the release function through its event source mapping")
			},
			Close: func() error { return nil },
		}, nil
	}
}

// Cognito returns the identity adapter on the configured user pool.
func (r *Root) Cognito() *cognito.Identity {
	return cognito.New(cognitoidentityprovider.NewFromConfig(*r.AWS), r.Config.UserPoolID)
}

// Close releases the store.
func (r *Root) Close() error { return r.close() }

// NewID returns a new user id: a UUIDv7, so ids sort in creation order.
func NewID() string {
	id, err := uuid.NewV7FromReader(rand.Reader)
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("new id: %v", err))
	}
	return id.String()
}

// Main is how a Lambda main starts: it reads the configuration, builds
// the product and hands it to build, and on any error prints it, naming
// the function and the setting at fault, and exits, so a bad deployment
// fails at once with a clear log line instead of on the first event.
func Main(name string, build func(context.Context, *Root) error, opts ...Option) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: configuration: %v\n", name, err)
		os.Exit(1)
	}
	log := cfg.Logger().With("function", name)
	ctx := context.Background()
	r, err := Open(ctx, cfg, log, opts...)
	if err == nil {
		err = build(ctx, r)
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
	r, err := Open(ctx, cfg, log, opts...)
	if err != nil {
		return user.User{}, false, err
	}
	defer r.Close()
	return r.Service.InviteFirstAdministrator(ctx, admin)
}
