package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opsos/onboarding/internal/phone"
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
	if err := c.readSlack(getenv); err != nil {
		return Config{}, err
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

// readSlack reads the Slack settings; the signing secret and the bot
// token may come later, from Secrets Manager.
func (c *Config) readSlack(getenv func(string) string) error {
	c.SlackSigningSecret = strings.TrimSpace(getenv("OPSOS_SLACK_SIGNING_SECRET"))
	c.SlackBotToken = strings.TrimSpace(getenv("OPSOS_SLACK_BOT_TOKEN"))
	c.SlackChannel = strings.TrimSpace(getenv("OPSOS_SLACK_CHANNEL"))
	c.SlackAPIURL = strings.TrimSpace(getenv("OPSOS_SLACK_API_URL"))
	c.SlackSecretARN = strings.TrimSpace(getenv("OPSOS_SLACK_SECRET_ARN"))
	if c.SlackChannel != "" && c.SlackBotToken == "" && c.SlackSecretARN == "" {
		return fmt.Errorf("OPSOS_SLACK_CHANNEL=%q needs OPSOS_SLACK_BOT_TOKEN to post with", c.SlackChannel)
	}
	c.SlackTeamID = strings.TrimSpace(getenv("OPSOS_SLACK_TEAM_ID"))
	if c.SlackTeamID != "" && !slackTeamID.MatchString(c.SlackTeamID) {
		return fmt.Errorf("OPSOS_SLACK_TEAM_ID=%q must be a Slack team id such as T0123ABCD (in Slack: the workspace's About page, or the team_id of any request)", c.SlackTeamID)
	}
	c.SlackEnterpriseID = strings.TrimSpace(getenv("OPSOS_SLACK_ENTERPRISE_ID"))
	if c.SlackEnterpriseID != "" && !slackEnterpriseID.MatchString(c.SlackEnterpriseID) {
		return fmt.Errorf("OPSOS_SLACK_ENTERPRISE_ID=%q must be an Enterprise Grid id such as E0123ABCD", c.SlackEnterpriseID)
	}
	if c.SlackAPIURL != "" {
		if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("OPSOS_SLACK_API_URL=%q must be a URL such as https://slack.com/api/", c.SlackAPIURL)
		}
		if !strings.HasSuffix(c.SlackAPIURL, "/") {
			c.SlackAPIURL += "/"
		}
	}
	return nil
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

// withSlackSecret completes c from the Slack secret's JSON text: what the
// environment sets itself wins.
func (c Config) withSlackSecret(raw string) (Config, error) {
	signing, token, err := parseSlackSecret(raw)
	if err != nil {
		return Config{}, fmt.Errorf("OPSOS_SLACK_SECRET_ARN=%s: %w", c.SlackSecretARN, err)
	}
	if c.SlackSigningSecret == "" {
		c.SlackSigningSecret = signing
	}
	if c.SlackBotToken == "" {
		c.SlackBotToken = token
	}
	if c.SlackChannel != "" && c.SlackBotToken == "" {
		return Config{}, fmt.Errorf("OPSOS_SLACK_CHANNEL=%q needs a bot token to post with: the secret OPSOS_SLACK_SECRET_ARN=%s has no botToken", c.SlackChannel, c.SlackSecretARN)
	}
	return c, nil
}

// parseSlackSecret reads the secret's JSON. The bot token may be empty (no
// forms, no notices); the signing secret may not.
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

// Require checks that each named setting is set, for the part named by
// what; the error names the first one missing.
func (c Config) Require(what string, names ...string) error {
	values := map[string]string{
		"OPSOS_TABLE_NAME": c.TableName, "OPSOS_USER_POOL_ID": c.UserPoolID, "OPSOS_MAIL_FROM": c.MailFrom,
		"OPSOS_LOGIN_URL": c.LoginURL, "OPSOS_SLACK_SIGNING_SECRET": c.SlackSigningSecret, "OPSOS_SLACK_TEAM_ID": c.SlackTeamID,
	}
	for _, n := range names {
		v, known := values[n]
		if !known {
			panic("app: Require of a setting it does not know: " + n)
		}
		if v == "" {
			return fmt.Errorf("%s must be set for %s", n, what)
		}
	}
	return nil
}
