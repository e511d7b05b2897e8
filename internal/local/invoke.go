package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/app"
)

// Invoke feeds the API Gateway event in file to the API handler on the
// local data, as Lambda would, and writes the handler's response as JSON.
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
	a, err := app.Open(ctx, cfg.App, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, _, err := a.Service.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminSlackID); err != nil {
		return err
	}
	resp, err := a.API.Handle(ctx, ev)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(resp)
}
