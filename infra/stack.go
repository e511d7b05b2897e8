package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	authorizers "github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	integrations "github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/password"
	"github.com/opsos/onboarding/internal/store/schema"
)

// Stack is the deployed OpsOS: what the tests look at.
type Stack struct {
	awscdk.Stack
	Table     awsdynamodb.Table
	Pool      awscognito.UserPool
	Functions map[string]awslambda.Function
	Roles     map[string]awsiam.Role
	API       awsapigatewayv2.HttpApi
	Failures  awssqs.Queue

	// What one builder makes and a later one uses.
	cfg         Config
	slackSecret awssecretsmanager.Secret
	client      awscognito.UserPoolClient
	loginDomain awscognito.UserPoolDomain
	loginURL    *string
	stage       awsapigatewayv2.HttpStage
}

// fn describes one Lambda function.
type fn struct {
	name    string
	memory  float64
	timeout float64 // seconds
	purpose string
}

// Function settings. The release worker's timeout must cover a batch of
// provisions and sends; post-authentication must answer Cognito within
// its 5 seconds.
var fns = []fn{
	{"api", 256, 10, "the HTTP API of /users and /roles"},
	{"slack", 256, 15, "Slack's /opsos-user and its interactions, and the commands it defers to itself"},
	{"release", 256, 60, "the release worker on the table's stream: logins and invitation emails"},
	{"postauth", 128, 5, "Cognito's post-authentication trigger: marks a user active at first sign-in"},
}

// NewStack builds the whole system. The functions' code comes from
// cfg.BuildDir.
//
// The builders run in this order because CloudFormation's template lists
// resources in the order they were made: moving a call reorders the
// template.
func NewStack(scope constructs.Construct, cfg Config, props *awscdk.StackProps) *Stack {
	s := &Stack{
		Stack: awscdk.NewStack(scope, jsii.String(cfg.StackName), props),
		cfg:   cfg, Functions: map[string]awslambda.Function{}, Roles: map[string]awsiam.Role{},
	}
	s.table()
	s.secret()
	s.functions()
	s.userPool()
	s.login()
	s.environment()
	s.tableAccess()
	s.serviceAccess()
	s.stream()
	s.httpAPI()
	s.routes()
	s.console()
	s.alarms()
	s.outputs()
	s.nag()
	return s
}

// removal is what deleting the stack does to the table and the pool.
func (s *Stack) removal() awscdk.RemovalPolicy {
	if s.cfg.Retain {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

// table is the source of truth, its stream feeding the worker.
func (s *Stack) table() {
	s.Table = awsdynamodb.NewTable(s.Stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(schema.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:                          &awsdynamodb.Attribute{Name: jsii.String(schema.SortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Stream:                           awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		TimeToLiveAttribute:              jsii.String(schema.TTLAttribute),
		DeletionProtection:               jsii.Bool(s.cfg.Retain),
		RemovalPolicy:                    s.removal(),
	})
	for _, ix := range schema.Indexes() {
		s.Table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(ix.Hash), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(ix.Range), Type: awsdynamodb.AttributeType_STRING},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
}

// secret holds Slack's signing secret and bot token. The stack makes it
// with a random signing secret, so that nothing passes verification until
// an administrator puts the Slack app's own values in.
func (s *Stack) secret() {
	s.slackSecret = awssecretsmanager.NewSecret(s.Stack, jsii.String("SlackSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String(`OpsOS Slack app: {"signingSecret": "<Basic Information → Signing Secret>", "botToken": "xoxb-…"}`),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(`{"botToken":""}`), GenerateStringKey: jsii.String("signingSecret"),
			ExcludePunctuation: jsii.Bool(true), PasswordLength: jsii.Number(40),
		},
	})
}

// functions makes every function of fns with the environment they share;
// environment adds what each needs of its own once the pool exists.
func (s *Stack) functions() {
	common := map[string]*string{
		"OPSOS_TABLE_NAME":         s.Table.TableName(),
		"OPSOS_PHONE_REGION":       jsii.String(s.cfg.PhoneRegion),
		"OPSOS_TEMP_PASSWORD_DAYS": jsii.String(strconv.Itoa(s.cfg.TempPasswordDays)),
		"OPSOS_LOG_LEVEL":          jsii.String("info"),
	}
	for _, f := range fns {
		s.Functions[f.name] = s.function(f, common)
	}
}

// userPool holds the logins, which are created by the release worker
// only, and a group for each role a login can have.
func (s *Stack) userPool() {
	policy := password.Default()
	s.Pool = awscognito.NewUserPool(s.Stack, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled:   jsii.Bool(false),
		SignInAliases:       &awscognito.SignInAliases{Email: jsii.Bool(true)},
		SignInCaseSensitive: jsii.Bool(false),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email:      &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
			GivenName:  &awscognito.StandardAttribute{Required: jsii.Bool(false), Mutable: jsii.Bool(true)},
			FamilyName: &awscognito.StandardAttribute{Required: jsii.Bool(false), Mutable: jsii.Bool(true)},
		},
		// Mutable: the worker sets it on a login it adopts.
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			"opsos_user_id": awscognito.NewStringAttribute(&awscognito.StringAttributeProps{Mutable: jsii.Bool(true), MaxLen: jsii.Number(64)}),
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(float64(policy.MinLength)), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(float64(s.cfg.TempPasswordDays))),
		},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		Mfa:                awscognito.Mfa_OPTIONAL,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		FeaturePlan:        awscognito.FeaturePlan_ESSENTIALS,
		LambdaTriggers:     &awscognito.UserPoolTriggers{PostAuthentication: s.Functions["postauth"]},
		DeletionProtection: jsii.Bool(s.cfg.Retain),
		RemovalPolicy:      s.removal(),
	})
	for i, r := range access.DefaultCatalogue().Roles() {
		if r.PlannerWorker {
			continue
		}
		awscognito.NewCfnUserPoolGroup(s.Stack, jsii.String("Group-"+r.ID), &awscognito.CfnUserPoolGroupProps{
			UserPoolId: s.Pool.UserPoolId(), GroupName: jsii.String(r.ID), Description: jsii.String(r.Name + ": " + r.Description),
			Precedence: jsii.Number(float64(i)),
		})
	}
}

// login gives the pool its managed login page and the OpsOS web app's
// client, whose tokens the HTTP API accepts; invitations link to the page.
func (s *Stack) login() {
	prefix := s.cfg.DomainPrefix
	if prefix == "" {
		prefix = "opsos-" + *awscdk.Aws_ACCOUNT_ID()
	}
	domain := s.Pool.AddDomain(jsii.String("Login"), &awscognito.UserPoolDomainOptions{
		CognitoDomain:       &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String(prefix)},
		ManagedLoginVersion: awscognito.ManagedLoginVersion_NEWER_MANAGED_LOGIN,
	})
	s.loginDomain = domain
	s.client = s.Pool.AddClient(jsii.String("WebApp"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(false),
		AuthFlows:      &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: jsii.Strings(s.cfg.CallbackURLs...), LogoutUrls: jsii.Strings(s.cfg.LogoutURLs...),
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		// Users may not write their OpsOS user id: the API trusts it.
		WriteAttributes: awscognito.NewClientAttributes().WithStandardAttributes(&awscognito.StandardAttributesMask{
			GivenName: jsii.Bool(true), FamilyName: jsii.Bool(true)}),
		IdTokenValidity: awscdk.Duration_Hours(jsii.Number(1)), AccessTokenValidity: awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity: awscdk.Duration_Days(jsii.Number(30)),
	})
	awscognito.NewCfnManagedLoginBranding(s.Stack, jsii.String("LoginBranding"), &awscognito.CfnManagedLoginBrandingProps{
		UserPoolId: s.Pool.UserPoolId(), ClientId: s.client.UserPoolClientId(), UseCognitoProvidedValues: jsii.Bool(true),
	})
	s.loginURL = domain.SignInUrl(s.client, &awscognito.SignInUrlOptions{RedirectUri: jsii.String(s.cfg.CallbackURLs[0])})
}

// environment tells each function what it needs of its own: the pool,
// the Slack secret (and the right to read it), the Slack workspace, and
// the worker's mail settings.
func (s *Stack) environment() {
	api, slackFn, releaseFn := s.Functions["api"], s.Functions["slack"], s.Functions["release"]
	for _, f := range []awslambda.Function{api, slackFn, releaseFn} {
		f.AddEnvironment(jsii.String("OPSOS_USER_POOL_ID"), s.Pool.UserPoolId(), nil)
	}
	for _, f := range []awslambda.Function{slackFn, releaseFn} {
		f.AddEnvironment(jsii.String("OPSOS_SLACK_SECRET_ARN"), s.slackSecret.SecretArn(), nil)
		// GetSecretValue only: GrantRead would add DescribeSecret, which
		// nothing calls.
		allow(f, []string{"secretsmanager:GetSecretValue"}, s.slackSecret.SecretArn())
	}
	// The Slack function serves one workspace; signed requests from any
	// other are refused.
	slackFn.AddEnvironment(jsii.String("OPSOS_SLACK_TEAM_ID"), jsii.String(s.cfg.SlackTeamID), nil)
	if s.cfg.SlackEnterpriseID != "" {
		slackFn.AddEnvironment(jsii.String("OPSOS_SLACK_ENTERPRISE_ID"), jsii.String(s.cfg.SlackEnterpriseID), nil)
	}
	if s.cfg.SlackChannel != "" {
		releaseFn.AddEnvironment(jsii.String("OPSOS_SLACK_CHANNEL"), jsii.String(s.cfg.SlackChannel), nil)
	}
	releaseFn.AddEnvironment(jsii.String("OPSOS_MAIL_FROM"), jsii.String(s.cfg.MailFrom), nil)
	releaseFn.AddEnvironment(jsii.String("OPSOS_SEND_RATE"), jsii.String(strconv.FormatFloat(s.cfg.SendRate, 'f', -1, 64)), nil)
	releaseFn.AddEnvironment(jsii.String("OPSOS_LOGIN_URL"), s.loginURL, nil)
	if s.cfg.SESConfigurationSet != "" {
		releaseFn.AddEnvironment(jsii.String("OPSOS_SES_CONFIGURATION_SET"), jsii.String(s.cfg.SESConfigurationSet), nil)
	}
}

// tableAccess gives each function the table actions its code calls,
// which iam_coverage_test.go records on the emulators. A transaction is
// authorised by its items' actions: a write of a user puts the user, its
// audit entry and guards, and deletes a guard an edit frees.
func (s *Stack) tableAccess() {
	tableAndIndexes := []*string{s.Table.TableArn()}
	for _, ix := range schema.Indexes() {
		tableAndIndexes = append(tableAndIndexes, jsii.String(*s.Table.TableArn()+"/index/"+ix.Name))
	}
	// The managers' use cases list through the indexes. Role writes, the
	// default roles' seeding on a table without roles among them, add
	// one to the roles' version (UpdateItem).
	for _, f := range []awslambda.Function{s.Functions["api"], s.Functions["slack"]} {
		allow(f, []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem",
			"dynamodb:UpdateItem"}, tableAndIndexes...)
	}
	// The worker reads users by key and holds its claims with a put, an
	// update (done) and a delete (given up): no index.
	allow(s.Functions["release"], []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, s.Table.TableArn())
	// First sign-in: find the user by key (or by the email guard), record
	// the activation.
	allow(s.Functions["postauth"], []string{"dynamodb:GetItem", "dynamodb:PutItem"}, s.Table.TableArn())
}

// serviceAccess gives each function what it calls of Cognito, Lambda and
// SES.
func (s *Stack) serviceAccess() {
	api, slackFn, releaseFn := s.Functions["api"], s.Functions["slack"], s.Functions["release"]
	// The status diagnosis asks Cognito about the login.
	allow(api, []string{"cognito-idp:AdminGetUser"}, s.Pool.UserPoolArn())
	allow(slackFn, []string{"cognito-idp:AdminGetUser"}, s.Pool.UserPoolArn())
	allow(releaseFn, ReleaseCognitoActions, s.Pool.UserPoolArn())
	// A slow command is handed to another invocation of the function. Its
	// name is fixed, because referring to the function from its own role
	// would make a dependency cycle.
	allow(slackFn, []string{"lambda:InvokeFunction"}, s.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("lambda"), Resource: jsii.String("function"), ResourceName: jsii.String(slackFunctionName(s.cfg)),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	}))
	sesResources := []*string{s.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String(s.cfg.SESIdentity),
	})}
	if s.cfg.SESConfigurationSet != "" {
		sesResources = append(sesResources, s.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ses"), Resource: jsii.String("configuration-set"), ResourceName: jsii.String(s.cfg.SESConfigurationSet),
		}))
	}
	allow(releaseFn, []string{"ses:SendEmail"}, sesResources...)
}

// stream feeds the table's changes to the release worker, and keeps the
// records it gives up on in a queue.
func (s *Stack) stream() {
	s.Failures = awssqs.NewQueue(s.Stack, jsii.String("ReleaseFailures"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	s.Functions["release"].AddEventSource(awslambdaeventsources.NewDynamoEventSource(s.Table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(25),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(1)),
		BisectBatchOnError:      jsii.Bool(true),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(10),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(24)),
		ParallelizationFactor:   jsii.Number(1),
		OnFailure:               awslambdaeventsources.NewSqsDlq(s.Failures),
		Filters:                 &[]*map[string]interface{}{userChanges()},
	}))
}

// userChanges lets through only user items, inserted or modified: audit
// entries, guards, idempotency records and claims never reach the worker.
func userChanges() *map[string]interface{} {
	return awslambda.FilterCriteria_Filter(&map[string]interface{}{
		"eventName": awslambda.FilterRule_Or(jsii.String("INSERT"), jsii.String("MODIFY")),
		"dynamodb": map[string]interface{}{
			"NewImage": map[string]interface{}{"entity": map[string]interface{}{"S": awslambda.FilterRule_IsEqual(jsii.String("user"))}},
		},
	})
}

// httpAPI makes the HTTP API and its one stage, throttled, with access
// logs; routes adds what it serves.
func (s *Stack) httpAPI() {
	s.API = awsapigatewayv2.NewHttpApi(s.Stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("OpsOS user onboarding"),
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight:      cors(s.cfg),
	})
	accessLogs := awslogs.NewLogGroup(s.Stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_THREE_MONTHS, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	s.stage = awsapigatewayv2.NewHttpStage(s.Stack, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi: s.API, StageName: jsii.String("$default"), AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(float64(s.cfg.APIRateLimit)), BurstLimit: jsii.Number(float64(s.cfg.APIBurstLimit))},
	})
	s.stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format: jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",` +
			`"method":"$context.httpMethod","path":"$context.path","status":"$context.status","latencyMs":"$context.responseLatency",` +
			`"user":"$context.authorizer.claims.email","error":"$context.error.message","authorizerError":"$context.authorizer.error"}`),
	})
}

// routes sends the user routes, behind the managers' JWT authorizer, and
// the OpenAPI document, public, to the API function, and Slack's two
// routes to the Slack function.
func (s *Stack) routes() {
	managers := authorizers.NewHttpUserPoolAuthorizer(jsii.String("Managers"), s.Pool, &authorizers.HttpUserPoolAuthorizerProps{
		UserPoolClients: &[]awscognito.IUserPoolClient{s.client},
	})
	apiIntegration := integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), s.Functions["api"], nil)
	for _, r := range userRoutes {
		s.API.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(r.path), Methods: &r.methods, Integration: apiIntegration, Authorizer: managers,
		})
	}
	// The OpenAPI document is the public contract: anyone may read it,
	// without a token, as in local mode.
	s.publicRoutes(apiIntegration, awsapigatewayv2.HttpMethod_GET, []string{OpenAPIPath},
		"The OpenAPI document is the API's public contract: it holds no data, and every other API route needs the managers' token.",
		"The OpenAPI document is public; the user and role routes keep the Cognito authorizer.")
	// Slack cannot send a Cognito token: its requests carry a signature,
	// which the function checks before anything else.
	slackIntegration := integrations.NewHttpLambdaIntegration(jsii.String("SlackIntegration"), s.Functions["slack"], nil)
	s.publicRoutes(slackIntegration, awsapigatewayv2.HttpMethod_POST, []string{"/slack/commands", "/slack/interactions"},
		"Slack cannot present a Cognito token; the Slack function verifies each request's Slack signature (v0 HMAC, 5-minute window) before reading it.",
		"Slack's requests are authenticated by their signature in the function, not by a Cognito authorizer.")
}

// publicRoutes adds routes to the API without the Cognito authorizer,
// with the reasons cdk-nag is told: why anyone may call them
// (AwsSolutions-APIG4), and why they need no Cognito authorizer
// (AwsSolutions-COG4).
func (s *Stack) publicRoutes(to awsapigatewayv2.HttpRouteIntegration, method awsapigatewayv2.HttpMethod, paths []string, why, whyNoCognito string) {
	for _, p := range paths {
		for _, rt := range *s.API.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(p), Methods: &[]awsapigatewayv2.HttpMethod{method}, Integration: to,
		}) {
			cdknag.NagSuppressions_AddResourceSuppressions(rt, &[]*cdknag.NagPackSuppression{
				{Id: jsii.String("AwsSolutions-APIG4"), Reason: jsii.String(why)},
				{Id: jsii.String("AwsSolutions-COG4"), Reason: jsii.String(whyNoCognito)},
			}, jsii.Bool(true))
		}
	}
}

// outputs are what an administrator copies into the Slack app, the web
// app and opsos bootstrap-admin after a deployment.
func (s *Stack) outputs() {
	base := strings.TrimSuffix(*s.stage.Url(), "/")
	out := func(id, value, description string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(description)})
	}
	out("ApiUrl", *s.stage.Url(), "The OpsOS HTTP API (Authorization: Bearer <Cognito ID token>)")
	out("SlackCommandsUrl", base+"/slack/commands", "The Slack app's slash command Request URL")
	out("SlackInteractionsUrl", base+"/slack/interactions", "The Slack app's Interactivity Request URL")
	out("LoginUrl", *s.loginURL, "The managed login page invitations link to")
	out("UserPoolId", *s.Pool.UserPoolId(), "The Cognito user pool")
	out("UserPoolClientId", *s.client.UserPoolClientId(), "The OpsOS web app's client id (the API's JWT audience)")
	out("TableName", *s.Table.TableName(), "The DynamoDB table (for opsos bootstrap-admin)")
	out("SlackSecretArn", *s.slackSecret.SecretArn(), "Put the Slack app's signing secret and bot token here")
	out("ReleaseFailuresQueueUrl", *s.Failures.QueueUrl(), "Change records the release worker gave up on")
}

// ReleaseCognitoActions are what the release worker does to logins.
// Moving a login to its role's group lists the groups it is in, to leave
// the others (AdminListGroupsForUser).
var ReleaseCognitoActions = []string{
	"cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminUpdateUserAttributes",
	"cognito-idp:AdminGetUser", "cognito-idp:AdminEnableUser", "cognito-idp:AdminDisableUser",
	"cognito-idp:AdminUserGlobalSignOut", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup",
	"cognito-idp:AdminListGroupsForUser", "cognito-idp:GetGroup", "cognito-idp:CreateGroup",
}

// OpenAPIPath is where the API function serves its OpenAPI document
// (httpapi.OpenAPIPath), the one API route without the authorizer.
const OpenAPIPath = "/openapi.json"

type route struct {
	path    string
	methods []awsapigatewayv2.HttpMethod
}

// userRoutes are the routes of DESIGN.md §4, the bulk release and the
// roles (§11), all behind the authorizer.
var userRoutes = []route{
	{"/users", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST}},
	{"/users/release", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}},
	{"/users/{id}", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_PATCH}},
	{"/users/{id}/release", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}},
	{"/users/{id}/hold", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}},
	{"/users/{id}/resend-invite", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}},
	{"/users/{id}/status", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}},
	{"/users/{id}/history", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}},
	{"/roles", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST}},
	{"/roles/{id}", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_PATCH, awsapigatewayv2.HttpMethod_DELETE}},
	{"/roles/{id}/history", []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}},
}

// cors lets the OpsOS web app (the callback URLs' origins) call the API.
func cors(cfg Config) *awsapigatewayv2.CorsPreflightOptions {
	var origins []string
	seen := map[string]bool{}
	for _, u := range cfg.CallbackURLs {
		scheme, rest, _ := strings.Cut(u, "://")
		host, _, _ := strings.Cut(rest, "/")
		o := scheme + "://" + host
		if !seen[o] {
			seen[o] = true
			origins = append(origins, o)
		}
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST,
			awsapigatewayv2.CorsHttpMethod_PATCH, awsapigatewayv2.CorsHttpMethod_OPTIONS},
		AllowHeaders:  jsii.Strings("Authorization", "Content-Type", "If-Match", "Idempotency-Key"),
		ExposeHeaders: jsii.Strings("ETag", "Location"),
		MaxAge:        awscdk.Duration_Hours(jsii.Number(1)),
	}
}

// function makes one Lambda function with its own role and log group, so
// that each has only the permissions granted to it below.
func (s *Stack) function(f fn, env map[string]*string) awslambda.Function {
	id := strings.ToUpper(f.name[:1]) + f.name[1:]
	logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_THREE_MONTHS, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(s.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("OpsOS " + f.name + " function: " + f.purpose),
	})
	s.Roles[f.name] = role
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"), Resources: &[]*string{logs.LogGroupArn()},
	}))
	e := map[string]*string{}
	for k, v := range env {
		e[k] = v
	}
	var name *string
	if f.name == "slack" {
		name = jsii.String(slackFunctionName(s.cfg))
	}
	return awslambda.NewFunction(s.Stack, jsii.String(id), &awslambda.FunctionProps{
		FunctionName:          name,
		Description:           jsii.String("OpsOS: " + f.purpose),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(s.cfg.BuildDir, f.name)), nil),
		MemorySize:            jsii.Number(f.memory),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(f.timeout)),
		Environment:           &e,
		Role:                  role,
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
	})
}

// slackFunctionName is the Slack function's fixed name.
func slackFunctionName(cfg Config) string { return cfg.StackName + "-slack" }

// allow grants f the actions on the resources, named one by one.
func allow(f awslambda.Function, actions []string, resources ...*string) {
	f.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings(actions...), Resources: &resources,
	}))
}

// alarms watch what needs a person: records the worker gave up on, a
// stream falling behind, and function errors.
func (s *Stack) alarms() {
	topic := awssns.NewTopic(s.Stack, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("OpsOS alarms"), EnforceSSL: jsii.Bool(true),
		MasterKey: awskms.Alias_FromAliasName(s.Stack, jsii.String("SnsKey"), jsii.String("alias/aws/sns")),
	})
	if s.cfg.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.cfg.AlarmEmail), nil))
	}
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String(description), Metric: metric,
			Threshold: jsii.Number(threshold), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
	alarm("ReleaseFailuresAlarm", "The release worker gave up on change records: some users may be stuck in releasing. Read the queue, fix the cause, then resend their invitations.",
		s.Failures.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}), 0)
	alarm("StreamIteratorAgeAlarm", "The release worker is more than 5 minutes behind the table's stream: releases are delayed.",
		s.Functions["release"].Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}), 5*60*1000)
	for _, f := range fns {
		alarm(strings.ToUpper(f.name[:1])+f.name[1:]+"ErrorsAlarm", fmt.Sprintf("The %s function failed (%s).", f.name, f.purpose),
			s.Functions[f.name].MetricErrors(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}), 0)
	}
}

// nag applies the AWS Solutions checks; every exception says why.
func (s *Stack) nag() {
	awscdk.Aspects_Of(s.Stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	cdknag.NagSuppressions_AddStackSuppressions(s.Stack, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-COG2"), Reason: jsii.String("MFA is optional (TOTP): new users first sign in with an emailed temporary password, and requiring MFA is each organisation's policy to switch on in the pool.")},
		{Id: jsii.String("AwsSolutions-COG3"), Reason: jsii.String("Threat protection needs the Plus feature plan; the pool uses Essentials, with admin-only sign-up and a strict password policy.")},
		{Id: jsii.String("AwsSolutions-COG8"), Reason: jsii.String("The Plus feature plan is a cost each organisation may choose; Essentials gives managed login, and sign-up is admin-only.")},
		{Id: jsii.String("AwsSolutions-SMG4"), Reason: jsii.String("The Slack signing secret and bot token are issued by Slack; they cannot be rotated by Secrets Manager.")},
		{Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String("This queue is itself the dead-letter destination of the stream's event source mapping.")},
	}, nil)
	cdknag.NagSuppressions_AddResourceSuppressions(s.Roles["release"], &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("dynamodb:ListStreams does not support resource-level permissions; the event source mapping needs it to find the table's stream."),
		AppliesTo: &[]interface{}{"Resource::*"},
	}}, jsii.Bool(true))
}
