package slackops

import "testing"

func TestCheckResponseURL(t *testing.T) {
	for _, c := range []struct {
		url            string
		inAWS, locally bool
	}{
		{"https://hooks.slack.com/commands/T0001/123/abc", true, true},
		{"https://hooks.slack.com:443/actions/T0001/123/abc", true, true},
		{"https://HOOKS.SLACK.COM/commands/T0001/123/abc", true, true},
		{"https://hooks.slack-gov.com/commands/T0001/123/abc", true, true},
		{"http://hooks.slack.com/commands/T0001/123/abc", false, false},
		{"https://hooks.slack.com:8443/commands/1", false, false},
		{"https://hooks.slack.com.evil.example/commands/1", false, false},
		{"http://hooks.slack.com.evil.example/", false, false},
		{"https://evil.example/hook", false, false},
		{"https://evil.example/hooks.slack.com", false, false},
		{"https://hooks.slack.com@evil.example/", false, false},
		{"https://user@hooks.slack.com/commands/1", false, false},
		{"https://slack.com/api/chat.postMessage", false, false},
		{"http://127.0.0.1:43210/response", false, true},
		{"http://127.8.9.10/response", false, true},
		{"http://[::1]:8080/response", false, true},
		{"http://localhost:8080/response", false, true},
		{"http://10.0.0.1/response", false, false},
		{"http://169.254.169.254/latest/meta-data/", false, false},
		{"ftp://127.0.0.1/x", false, false},
		{"javascript:alert(1)", false, false},
		{"", false, false},
	} {
		if got := checkResponseURL(c.url, false) == nil; got != c.inAWS {
			t.Errorf("%q in AWS: allowed %v, want %v", c.url, got, c.inAWS)
		}
		if got := checkResponseURL(c.url, true) == nil; got != c.locally {
			t.Errorf("%q locally: allowed %v, want %v", c.url, got, c.locally)
		}
	}
	if got := loggableURL("https://evil.example/hook/secret?token=x"); got != "https://evil.example" {
		t.Errorf("loggableURL shows %q, want scheme and host only", got)
	}
}
