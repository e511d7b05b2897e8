// Package lambdainvoke defers Slack commands in AWS: it invokes the Slack
// function itself asynchronously, because Lambda freezes a function as
// soon as it has answered, so work left running after the answer would
// not happen.
//
// It calls Lambda's Invoke API directly, signed with Signature Version 4,
// rather than through the SDK's Lambda client: that client's start-up work
// would be paid on every cold start of the Slack function, for one call.
package lambdainvoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/opsos/onboarding/internal/slackops"
)

// Deferrer hands a job to another invocation of Function.
type Deferrer struct {
	// Config gives the region and the function role's credentials.
	Config aws.Config
	// Function is the name or ARN of the Slack function: the running
	// function's own (AWS_LAMBDA_FUNCTION_NAME).
	Function string
	// Endpoint is Lambda's API; https://lambda.<region>.amazonaws.com
	// when empty.
	Endpoint string
	HTTP     *http.Client
	now      func() time.Time
}

// New returns the deferrer of the running function (its name from
// AWS_LAMBDA_FUNCTION_NAME, which Lambda sets).
func New(cfg *aws.Config) (Deferrer, error) {
	name := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	if cfg == nil || name == "" {
		return Deferrer{}, fmt.Errorf("the Slack function defers work by invoking itself: it must run in Lambda with OPSOS_TABLE_NAME set")
	}
	return Deferrer{Config: *cfg, Function: name}, nil
}

// Defer implements slackops.Deferrer. The job runs in the new invocation,
// not here, so run is not used.
func (d Deferrer) Defer(ctx context.Context, job slackops.Job, _ func(context.Context, slackops.Job)) error {
	payload, err := slackops.JobPayload(job)
	if err != nil {
		return err
	}
	endpoint := d.Endpoint
	if endpoint == "" {
		endpoint = "https://lambda." + d.Config.Region + ".amazonaws.com"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimSuffix(endpoint, "/")+"/2015-03-31/functions/"+url.PathEscape(d.Function)+"/invocations", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "Event")
	if d.Config.Credentials == nil {
		return fmt.Errorf("invoke %s: no AWS credentials", d.Function)
	}
	creds, err := d.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("invoke %s: credentials: %w", d.Function, err)
	}
	sum := sha256.Sum256(payload)
	now := time.Now
	if d.now != nil {
		now = d.now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", d.Config.Region, now()); err != nil {
		return fmt.Errorf("invoke %s: sign: %w", d.Function, err)
	}
	client := d.HTTP
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("invoke %s asynchronously: %w", d.Function, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("invoke %s asynchronously: %s: %s", d.Function, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
