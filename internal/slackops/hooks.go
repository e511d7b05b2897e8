package slackops

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// slackHooks are the hosts Slack hands out response_urls on: the
// commercial service and GovSlack.
var slackHooks = []string{"hooks.slack.com", "hooks.slack-gov.com"}

// errForeignResponseURL refuses a response_url that is not Slack's.
var errForeignResponseURL = errors.New("the response_url is not on Slack's own hosts")

// checkResponseURL is the one rule for where answers may go: https on
// Slack's hooks hosts, or, when loopback is allowed (local mode, whose
// stand-in for Slack listens on loopback), http or https on loopback. A
// signed request naming another address would make the function post
// its answers, which show users' details, wherever the sender chose.
func checkResponseURL(raw string, loopback bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host == "" {
		return errForeignResponseURL
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if u.Scheme == "https" && (port == "" || port == "443") {
		for _, h := range slackHooks {
			if host == h {
				return nil
			}
		}
	}
	if loopback && (u.Scheme == "http" || u.Scheme == "https") {
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return errForeignResponseURL
}

// loggableURL is what the log may show of a refused response_url: its
// scheme and host. A Slack hook's path is a credential, and a query can
// carry one.
func loggableURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Scheme + "://" + u.Host
}
