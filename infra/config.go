package main

import (
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Config is what a deployment chooses. Each setting comes from CDK context
// (`cdk deploy -c opsos:mailFrom=…` or cdk.json) or, failing that, from the
// environment variable named beside it.
type Config struct {
	// StackName names the stack (opsos:stackName, OPSOS_STACK_NAME).
	StackName string
	// MailFrom is the invitations' sender (opsos:mailFrom, OPSOS_MAIL_FROM);
	// required.
	MailFrom string
	// SESIdentity is the verified SES identity MailFrom sends as, a domain
	// or an address (opsos:sesIdentity, OPSOS_SES_IDENTITY); MailFrom's
	// domain by default. The release function may send as it only.
	SESIdentity string
	// SESConfigurationSet is optional (opsos:sesConfigurationSet,
	// OPSOS_SES_CONFIGURATION_SET).
	SESConfigurationSet string
	// CallbackURLs are where the managed login sends users back to the
	// OpsOS web app (opsos:callbackUrls, OPSOS_CALLBACK_URLS, comma
	// separated); the first is the invitation's login link's.
	CallbackURLs []string
	// LogoutURLs are where sign-out returns (opsos:logoutUrls,
	// OPSOS_LOGOUT_URLS).
	LogoutURLs []string
	// DomainPrefix is the managed login's domain,
	// <prefix>.auth.<region>.amazoncognito.com (opsos:domainPrefix,
	// OPSOS_LOGIN_DOMAIN_PREFIX); opsos-<account id> by default.
	DomainPrefix string
	// SlackChannel is the channel id the release worker posts outcomes to
	// (opsos:slackChannel, OPSOS_SLACK_CHANNEL); optional.
	SlackChannel string
	// SlackTeamID is the Slack workspace whose requests the Slack function
	// serves (opsos:slackTeamId, OPSOS_SLACK_TEAM_ID); required, because a
	// Slack function without it refuses to start.
	SlackTeamID string
	// SlackEnterpriseID pins the Enterprise Grid organisation as well
	// (opsos:slackEnterpriseId, OPSOS_SLACK_ENTERPRISE_ID); optional.
	SlackEnterpriseID string
	// AlarmEmail is subscribed to the alarms (opsos:alarmEmail,
	// OPSOS_ALARM_EMAIL); optional.
	AlarmEmail string
	// PhoneRegion is the region of phone numbers without a country code
	// (opsos:phoneRegion, OPSOS_PHONE_REGION).
	PhoneRegion string
	// TempPasswordDays is how long a temporary password works
	// (opsos:tempPasswordDays, OPSOS_TEMP_PASSWORD_DAYS).
	TempPasswordDays int
	// Retain keeps the table and the user pool when the stack is deleted,
	// with deletion protection on (opsos:retain, OPSOS_RETAIN); true unless
	// set to false, for a throw-away test deployment.
	Retain bool
	// BuildDir holds build/<function>/bootstrap from `make build`
	// (opsos:buildDir, OPSOS_BUILD_DIR).
	BuildDir string
	// SendRate paces invitation emails per second per worker instance
	// (opsos:sendRate, OPSOS_SEND_RATE): SES's sending quota, 14 by
	// default outside the sandbox.
	SendRate float64
	// APIRateLimit and APIBurstLimit throttle the HTTP API, requests per
	// second (opsos:apiRateLimit, opsos:apiBurstLimit).
	APIRateLimit, APIBurstLimit int
}

// Functions are the Lambda functions, each built into BuildDir/<name>.
var Functions = []string{"api", "slack", "release", "postauth"}

var domainPrefix = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// Slack's workspace and Enterprise Grid ids, as the Slack function checks
// them at start (internal/app).
var (
	slackTeamID       = regexp.MustCompile(`^T[A-Z0-9]{2,20}$`)
	slackEnterpriseID = regexp.MustCompile(`^E[A-Z0-9]{2,20}$`)
)

// ConfigFrom reads the configuration through lookup, which answers a
// context key and then an environment variable.
func ConfigFrom(lookup func(contextKey, envVar string) string) (Config, error) {
	r := &reader{lookup: lookup}
	c := Config{
		StackName:           r.get("stackName", "OPSOS_STACK_NAME", "OpsOS"),
		MailFrom:            r.get("mailFrom", "OPSOS_MAIL_FROM", ""),
		SESConfigurationSet: r.get("sesConfigurationSet", "OPSOS_SES_CONFIGURATION_SET", ""),
		CallbackURLs:        list(r.get("callbackUrls", "OPSOS_CALLBACK_URLS", "http://localhost:3000/auth/callback")),
		LogoutURLs:          list(r.get("logoutUrls", "OPSOS_LOGOUT_URLS", "http://localhost:3000/")),
		DomainPrefix:        r.get("domainPrefix", "OPSOS_LOGIN_DOMAIN_PREFIX", ""),
		SlackChannel:        r.get("slackChannel", "OPSOS_SLACK_CHANNEL", ""),
		SlackTeamID:         r.get("slackTeamId", "OPSOS_SLACK_TEAM_ID", ""),
		SlackEnterpriseID:   r.get("slackEnterpriseId", "OPSOS_SLACK_ENTERPRISE_ID", ""),
		AlarmEmail:          r.get("alarmEmail", "OPSOS_ALARM_EMAIL", ""),
		PhoneRegion:         strings.ToUpper(r.get("phoneRegion", "OPSOS_PHONE_REGION", "GB")),
		BuildDir:            r.get("buildDir", "OPSOS_BUILD_DIR", "build"),
	}
	r.mail(&c)
	r.login(&c)
	r.slack(&c)
	r.limits(&c)
	if len(r.errs) > 0 {
		return Config{}, fmt.Errorf("configuration:\n  %s", strings.Join(r.errs, "\n  "))
	}
	return c, nil
}

// reader reads settings and collects every one that is wrong, so that a
// deployment learns of all of them at once.
type reader struct {
	lookup func(contextKey, envVar string) string
	errs   []string
}

// get answers the setting opsos:key, or the environment variable env,
// or def.
func (r *reader) get(key, env, def string) string {
	if v := strings.TrimSpace(r.lookup("opsos:"+key, env)); v != "" {
		return v
	}
	return def
}

func (r *reader) bad(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// mail checks the sender and finds the SES identity it sends as.
func (r *reader) mail(c *Config) {
	addr, err := mail.ParseAddress(c.MailFrom)
	switch {
	case c.MailFrom == "":
		r.bad("opsos:mailFrom (or OPSOS_MAIL_FROM) must be set: the address invitations come from, verified in SES")
	case err != nil:
		r.bad("opsos:mailFrom=%q is not an email address", c.MailFrom)
	}
	c.SESIdentity = r.get("sesIdentity", "OPSOS_SES_IDENTITY", "")
	if c.SESIdentity == "" && err == nil && addr != nil {
		c.SESIdentity = addr.Address[strings.LastIndex(addr.Address, "@")+1:]
	}
}

// login checks the managed login's URLs and domain prefix.
func (r *reader) login(c *Config) {
	for _, u := range append(append([]string{}, c.CallbackURLs...), c.LogoutURLs...) {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || (p.Scheme != "https" && !(p.Scheme == "http" && p.Hostname() == "localhost")) {
			r.bad("%q must be an https:// URL (http:// only for localhost) in opsos:callbackUrls / opsos:logoutUrls", u)
		}
	}
	if len(c.CallbackURLs) == 0 {
		r.bad("opsos:callbackUrls must name at least one URL of the OpsOS web app")
	}
	if c.DomainPrefix != "" && (!domainPrefix.MatchString(c.DomainPrefix) || strings.Contains(c.DomainPrefix, "cognito") || strings.Contains(c.DomainPrefix, "aws")) {
		r.bad("opsos:domainPrefix=%q must be lower-case letters, digits and hyphens, without \"aws\" or \"cognito\"", c.DomainPrefix)
	}
}

// slack checks the workspace and Enterprise Grid ids.
func (r *reader) slack(c *Config) {
	switch {
	case c.SlackTeamID == "":
		r.bad("opsos:slackTeamId (or OPSOS_SLACK_TEAM_ID) must be set: the id (T…) of the Slack workspace whose requests are served")
	case !slackTeamID.MatchString(c.SlackTeamID):
		r.bad("opsos:slackTeamId=%q must be a Slack team id such as T0123ABCD", c.SlackTeamID)
	}
	if c.SlackEnterpriseID != "" && !slackEnterpriseID.MatchString(c.SlackEnterpriseID) {
		r.bad("opsos:slackEnterpriseId=%q must be an Enterprise Grid id such as E0123ABCD", c.SlackEnterpriseID)
	}
}

// limits reads and checks the phone region and the numbers: password
// validity, sending rate, retention and the API's throttle.
func (r *reader) limits(c *Config) {
	if len(c.PhoneRegion) != 2 {
		r.bad("opsos:phoneRegion=%q must be a two-letter region such as GB", c.PhoneRegion)
	}
	var err error
	c.TempPasswordDays, err = strconv.Atoi(r.get("tempPasswordDays", "OPSOS_TEMP_PASSWORD_DAYS", "7"))
	if err != nil || c.TempPasswordDays < 1 || c.TempPasswordDays > 365 {
		r.bad("opsos:tempPasswordDays must be a whole number of days from 1 to 365")
	}
	c.SendRate, err = strconv.ParseFloat(r.get("sendRate", "OPSOS_SEND_RATE", "10"), 64)
	if err != nil || c.SendRate <= 0 {
		r.bad("opsos:sendRate must be a positive number of emails per second (SES's sending quota or less)")
	}
	c.Retain, err = strconv.ParseBool(r.get("retain", "OPSOS_RETAIN", "true"))
	if err != nil {
		r.bad("opsos:retain must be true or false")
	}
	for _, n := range []struct {
		dst      *int
		key, def string
	}{{&c.APIRateLimit, "apiRateLimit", "50"}, {&c.APIBurstLimit, "apiBurstLimit", "100"}} {
		v, err := strconv.Atoi(r.get(n.key, "", n.def))
		if err != nil || v < 1 {
			r.bad("opsos:%s must be a positive whole number of requests per second", n.key)
		}
		*n.dst = v
	}
}

func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// CheckBuild reports a missing function build clearly, before the CDK
// fails on a missing asset.
func (c Config) CheckBuild() error {
	var missing []string
	for _, f := range Functions {
		if st, err := os.Stat(filepath.Join(c.BuildDir, f, "bootstrap")); err != nil || !st.Mode().IsRegular() {
			missing = append(missing, filepath.Join(c.BuildDir, f, "bootstrap"))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s missing: run `make build` first (it compiles each function for linux/arm64)", strings.Join(missing, ", "))
	}
	return nil
}
