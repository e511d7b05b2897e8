// Command opsos runs OpsOS locally and administers it.
//
//	opsos serve          serve the whole product locally (DESIGN.md §7)
//	opsos invoke FILE    feed one API Gateway event to the API handler
//	opsos slack TEXT…    send /opsos-user TEXT to the local server as Slack would
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/opsos/onboarding/internal/local"
)

const usage = `usage: opsos <command>

commands:
  serve          serve OpsOS locally on OPSOS_ADDR (default 127.0.0.1:8080)
  invoke FILE    feed an API Gateway HTTP API event (JSON) to the API handler
                 on the local data and print the response
  slack [-as U…] [-server URL] TEXT…
                 send "/opsos-user TEXT" to the local server, signed as Slack
                 signs it (OPSOS_SLACK_SIGNING_SECRET), from the Slack user
                 -as (default OPSOS_ADMIN_SLACK_ID), and print the answer
  help           show this help

Settings come from the environment; see README.md.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "opsos:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	cfg, err := local.ConfigFromEnv(os.Getenv)
	switch args[0] {
	case "serve":
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return local.Run(ctx, cfg, cfg.App.Logger(), stdout)
	case "invoke":
		if err != nil {
			return err
		}
		if len(args) != 2 {
			return fmt.Errorf("usage: opsos invoke FILE")
		}
		return local.Invoke(context.Background(), cfg, args[1], stdout)
	case "slack":
		if err != nil {
			return err
		}
		return slackCommand(cfg, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func slackCommand(cfg local.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsos slack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	as := fs.String("as", cfg.AdminSlackID, "the Slack user id typing the command")
	server := fs.String("server", "http://"+cfg.Addr, "the local server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return local.SendSlackCommand(ctx, local.SlackCommand{
		Server: *server, Secret: cfg.App.SlackSigningSecret, SlackUser: *as,
		Text: strings.Join(fs.Args(), " "), Wait: 15 * time.Second,
	}, stdout)
}
