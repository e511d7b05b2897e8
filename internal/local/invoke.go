package local

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/app/slackapp"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/slackops"
)

// Invoke feeds the API Gateway event in file to the API handler (or, for
// /slack/* paths, the Slack handler) on the local data, as Lambda would,
// and writes the handler's response as JSON.
// The administrator is bootstrapped first, so the sample events' claims
// resolve to a manager.
func Invoke(ctx context.Context, cfg Config, file string, out io.Writer) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s is not an API Gateway HTTP API event: %w", file, err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	a, err := app.Open(ctx, cfg.App, log, app.WithStores(OpenStores))
	if err != nil {
		return err
	}
	defer a.Close()
	if _, _, err := a.Service.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminSlackID); err != nil {
		return err
	}
	handle := httpapi.New(a.Service, log).Handle
	if strings.HasPrefix(ev.RawPath, "/slack/") {
		// A sample's signature is as old as the sample: sign it afresh
		// with the local secret, as Slack would sign it now.
		if cfg.App.SlackSigningSecret == "" {
			return fmt.Errorf("%s is a Slack request: set OPSOS_SLACK_SIGNING_SECRET to sign it with", file)
		}
		body := []byte(ev.Body)
		if ev.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
				return fmt.Errorf("%s: the body is not base64: %w", file, err)
			}
		}
		ts, sig := slackops.Sign(cfg.App.SlackSigningSecret, time.Now(), body)
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		ev.Headers["x-slack-request-timestamp"], ev.Headers["x-slack-signature"] = ts, sig
		h, err := slackapp.Handler(a, nil)
		if err != nil {
			return err
		}
		handle = h.Handle
	}
	resp, err := handle(ctx, ev)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(resp)
}
