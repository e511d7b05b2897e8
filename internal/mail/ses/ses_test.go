package ses_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/mail/mailtest"
	"github.com/opsos/onboarding/internal/mail/ses"
	"github.com/opsos/onboarding/internal/release"
)

func endpoint(t testing.TB) string { return emulators.SES(t) }

// storedEmail is one message as aws-ses-v2-local's GET /store shows it.
type storedEmail struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
	At int64 `json:"at"` // Unix seconds
}

// store reads everything aws-ses-v2-local holds. It is shared by every
// test that uses the emulator; callers pick out their own recipients.
func store(t *testing.T, ep string) []storedEmail {
	t.Helper()
	resp, err := http.Get(ep + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /store: %s", resp.Status)
	}
	var s struct {
		Emails []storedEmail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("GET /store: %v", err)
	}
	return s.Emails
}

const from = "OpsOS <no-reply@opsos.example.com>"

func TestContract(t *testing.T) {
	mailtest.Run(t, func(t *testing.T) mailtest.Harness {
		ep := endpoint(t)
		return mailtest.Harness{
			Mailer: ses.New(ses.NewLocalClient(ep), from, ""),
			Delivered: func(t *testing.T) []release.Message {
				var out []release.Message
				for _, e := range store(t, ep) {
					for _, to := range e.Destination.To {
						out = append(out, release.Message{To: to, Subject: e.Subject, Text: e.Body.Text, HTML: e.Body.HTML})
					}
				}
				return out
			},
		}
	})
}

func TestIDIsTheEmulatorsMessageID(t *testing.T) {
	ep := endpoint(t)
	to := "id-check." + strings.ToLower(t.Name()) + "@example.com"
	id, err := ses.New(ses.NewLocalClient(ep), from, "opsos-invitations").Send(context.Background(),
		release.Message{To: to, Subject: "Hi", Text: "text", HTML: "<p>html</p>"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range store(t, ep) {
		if e.MessageID == id {
			if e.From != from || len(e.Destination.To) != 1 || e.Destination.To[0] != to {
				t.Errorf("stored as %+v", e)
			}
			return
		}
	}
	t.Errorf("no stored message has the id %q", id)
}

// fakeSES answers SendEmail as SES would: a message id, or an error in
// the restJson1 shape (the code in X-Amzn-ErrorType, the text in the body).
type fakeSES struct {
	mu       sync.Mutex
	requests []map[string]any
	status   int
	code     string
	message  string
}

func (f *fakeSES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	json.Unmarshal(body, &req)
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if f.status == 0 {
		io.WriteString(w, `{"MessageId":"0100018c-fake-message-id"}`)
		return
	}
	w.Header().Set("X-Amzn-ErrorType", f.code)
	w.WriteHeader(f.status)
	json.NewEncoder(w).Encode(map[string]string{"message": f.message})
}

// fakeClient is a client of f that does not retry, so that each test
// sees one attempt and no back-off sleeps.
func fakeClient(t *testing.T, f *fakeSES) *sesv2.Client {
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	return sesv2.NewFromConfig(aws.Config{
		Region:       "eu-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(s.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		code    string
		message string
		reason  string // "" = transient
	}{
		{"rejected", 400, "MessageRejected", "Email address is on the suppression list", ses.ReasonRejected},
		{"sandbox", 400, "MessageRejected", "Email address is not verified. The following identities failed the check in region EU-WEST-2: ann@example.com", ses.ReasonSandbox},
		{"illegal address", 400, "BadRequestException", "Illegal address", ses.ReasonRejected},
		{"bad domain", 400, "BadRequestException", "Domain contains illegal character", ses.ReasonRejected},
		{"other bad request", 400, "BadRequestException", "Configuration set name is too long", ses.ReasonSettings},
		{"sender domain", 400, "MailFromDomainNotVerifiedException", "MAIL FROM domain not verified", ses.ReasonSender},
		{"suspended", 400, "AccountSuspendedException", "suspended", ses.ReasonAccount},
		{"paused", 400, "SendingPausedException", "paused", ses.ReasonAccount},
		{"no configuration set", 404, "NotFoundException", "Configuration set <x> does not exist.", ses.ReasonSettings},
		{"throttled", 429, "TooManyRequestsException", "Maximum sending rate exceeded.", ""},
		{"quota", 400, "LimitExceededException", "Daily message quota exceeded.", ""},
		{"internal", 500, "InternalServiceErrorException", "internal failure", ""},
		{"unavailable", 503, "ServiceUnavailable", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSES{status: tc.status, code: tc.code, message: tc.message}
			_, err := ses.New(fakeClient(t, f), from, "").Send(context.Background(),
				release.Message{To: "ann@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"})
			if err == nil {
				t.Fatal("no error")
			}
			reason, permanent := release.IsPermanent(err)
			switch {
			case tc.reason == "" && permanent:
				t.Errorf("permanent (%q), want transient: %v", reason, err)
			case tc.reason != "" && reason != tc.reason:
				t.Errorf("reason %q, want %q (err %v)", reason, tc.reason, err)
			}
			// The detail stays in the error for the log.
			if tc.message != "" && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q lost SES's message %q", err, tc.message)
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	f := &fakeSES{}
	id, err := ses.New(fakeClient(t, f), from, "opsos-invitations").Send(context.Background(),
		release.Message{To: "zoë@example.com", Subject: "Zoë, welcome 🎉", Text: "t", HTML: "<p>h</p>"})
	if err != nil || id != "0100018c-fake-message-id" {
		t.Fatalf("send: %q %v", id, err)
	}
	got, _ := json.Marshal(f.requests[0])
	want := `{"ConfigurationSetName":"opsos-invitations",` +
		`"Content":{"Simple":{"Body":{"Html":{"Charset":"UTF-8","Data":"\u003cp\u003eh\u003c/p\u003e"},"Text":{"Charset":"UTF-8","Data":"t"}},"Subject":{"Charset":"UTF-8","Data":"Zoë, welcome 🎉"}}},` +
		`"Destination":{"ToAddresses":["zoë@example.com"]},"FromEmailAddress":"OpsOS \u003cno-reply@opsos.example.com\u003e"}`
	if string(got) != want {
		t.Errorf("request\n%s\nwant\n%s", got, want)
	}
}

func TestNoConfigurationSetAndTextOnly(t *testing.T) {
	f := &fakeSES{}
	if _, err := ses.New(fakeClient(t, f), from, "").Send(context.Background(),
		release.Message{To: "ann@example.com", Subject: "s", Text: "only text"}); err != nil {
		t.Fatal(err)
	}
	req := f.requests[0]
	if _, ok := req["ConfigurationSetName"]; ok {
		t.Errorf("configuration set sent though none is configured: %v", req)
	}
	body := req["Content"].(map[string]any)["Simple"].(map[string]any)["Body"].(map[string]any)
	if _, ok := body["Html"]; ok {
		t.Errorf("empty HTML part sent: %v", body)
	}
}
