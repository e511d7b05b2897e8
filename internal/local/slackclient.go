package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/slackops"
)

// SlackTeamID is the workspace local mode serves unless
// OPSOS_SLACK_TEAM_ID names another, and the one `opsos slack` and the
// sample events in events/slack/ say they come from.
const SlackTeamID = "TLOCAL"

// SlackCommand is a slash command `opsos slack` sends the local server,
// standing in for Slack.
type SlackCommand struct {
	// Server is the local server's address, such as http://127.0.0.1:8080.
	Server string
	// Secret is the server's Slack signing secret.
	Secret string
	// SlackUser is the Slack user id the command comes from.
	SlackUser string
	// Team is the workspace the command comes from; SlackTeamID when
	// empty.
	Team string
	// Text is what follows /opsos-user.
	Text string
	// Wait bounds how long to wait for an answer that comes later,
	// through the response_url.
	Wait time.Duration
}

// SendSlackCommand signs and posts c as Slack would, and writes the
// answers to out: the immediate one and, when the server only
// acknowledged, the one it posts to the response_url.
func SendSlackCommand(ctx context.Context, c SlackCommand, out io.Writer) error {
	if c.Secret == "" {
		return errors.New("OPSOS_SLACK_SIGNING_SECRET must be set to the secret the server printed at start")
	}
	if c.SlackUser == "" {
		return errors.New("say which Slack user types the command: -as U012AB3CD, or set OPSOS_ADMIN_SLACK_ID as for the server")
	}
	team := c.Team
	if team == "" {
		team = SlackTeamID
	}
	// The response_url: a listener on loopback for the later answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	later := make(chan slack.WebhookMessage, 5)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m slack.WebhookMessage
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err == nil {
			later <- m
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	form := url.Values{
		"command": {"/opsos-user"}, "text": {c.Text}, "user_id": {c.SlackUser}, "user_name": {"local"},
		"team_id": {team}, "channel_id": {"CLOCAL"}, "channel_name": {"local"},
		"response_url": {"http://" + ln.Addr().String() + "/response"}, "trigger_id": {"local.trigger"},
	}
	body := form.Encode()
	ts, sig := slackops.Sign(c.Secret, time.Now(), []byte(body))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Server, "/")+slackops.PathCommands, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("is the local server running (make run)? %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return errors.New("the server refused the signature: OPSOS_SLACK_SIGNING_SECRET must be the secret it printed at start")
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("the server answered %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	var now slack.WebhookMessage
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &now); err != nil {
			return fmt.Errorf("the answer is not a Slack message: %w", err)
		}
	}
	fmt.Fprintln(out, now.Text)
	// A bare acknowledgement, without Block Kit, means the answer follows.
	if now.Blocks != nil && len(now.Blocks.BlockSet) > 0 {
		return nil
	}
	wait := c.Wait
	if wait <= 0 {
		wait = 15 * time.Second
	}
	select {
	case m := <-later:
		fmt.Fprintln(out, m.Text)
		return nil
	case <-time.After(wait):
		return fmt.Errorf("no answer came to the response_url within %s", wait)
	case <-ctx.Done():
		return ctx.Err()
	}
}
