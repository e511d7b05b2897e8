// Command opsos runs OpsOS locally and administers it.
//
//	opsos serve          serve the whole product locally (DESIGN.md §7)
//	opsos invoke [-function F] FILE   run one function's handler on a sample event
//	opsos slack TEXT…    send /opsos-user TEXT to the local server as Slack would
//	opsos bootstrap-admin -email …   invite the first administrator of a deployment
//	opsos import FILE.csv            create a team in Introduction Mode from a CSV file
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/bulk"
	"github.com/opsos/onboarding/internal/local"
	"github.com/opsos/onboarding/internal/onboarding"
)

const usage = `usage: opsos <command>

commands:
  serve          serve OpsOS locally on OPSOS_ADDR (default 127.0.0.1:8080)
  invoke [-function api|slack|release|postauth] FILE
                 run the function's production handler on the event in FILE
                 (JSON, as Lambda receives it) on the local data and print
                 its answer. Without -function, the function is the one the
                 event's shape is for; an event the function is never sent
                 is refused, naming the function that takes it.
  slack [-as U…] [-server URL] TEXT…
                 send "/opsos-user TEXT" to the local server, signed as Slack
                 signs it (OPSOS_SLACK_SIGNING_SECRET), from the Slack user
                 -as (default OPSOS_ADMIN_SLACK_ID), and print the answer
  bootstrap-admin -email ADDRESS [-first NAME] [-last NAME] [-slack U…] [-table TABLE]
                 write the first administrator of a deployed stack to its
                 table (OPSOS_TABLE_NAME, the stack's TableName output) with
                 Hold Invite off: the release function emails them a
                 temporary password. Uses your AWS credentials and region.
  import [-partial] [-server URL] FILE.csv
                 create the users of a CSV file in Introduction Mode through the
                 API (local server by default; -server the stack's ApiUrl), as
                 the manager whose token is OPSOS_TOKEN. Every row is checked
                 first and all problems are listed before anything is written
                 (-partial writes the good rows anyway). Rerunning creates only
                 the users that do not exist yet. Columns: firstName, lastName,
                 email, role, and optionally type, phone, jobTitle,
                 externalPlannerAccess, externalPurchasingAccess, slackUserId.
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
		return invoke(cfg, args[1:], stdout, stderr)
	case "slack":
		if err != nil {
			return err
		}
		return slackCommand(cfg, args[1:], stdout, stderr)
	case "bootstrap-admin":
		if err != nil {
			return err
		}
		return bootstrapAdmin(cfg, args[1:], stdout, stderr)
	case "import":
		if err != nil {
			return err
		}
		return importCSV(cfg, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func invoke(cfg local.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsos invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	function := fs.String("function", "", "the function to run: "+local.FunctionNames+" (default: the one the event is for)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: opsos invoke [-function api|slack|release|postauth] FILE")
	}
	return local.Invoke(context.Background(), cfg, strings.TrimSpace(*function), fs.Arg(0), stdout, stderr)
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
		Server: *server, Secret: cfg.App.SlackSigningSecret, SlackUser: *as, Team: cfg.App.SlackTeamID,
		Text: strings.Join(fs.Args(), " "), Wait: 15 * time.Second,
	}, stdout)
}

func bootstrapAdmin(cfg local.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsos bootstrap-admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the administrator's email: their login, where the invitation goes")
	first := fs.String("first", "", "first name")
	last := fs.String("last", "", "last name")
	slackID := fs.String("slack", "", "their Slack member id (U…), to use /opsos-user")
	table := fs.String("table", cfg.App.TableName, "the deployed table (the stack's TableName output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return fmt.Errorf("-email is required: the first administrator's address")
	}
	cfg.App.TableName = *table
	// Your machine's AWS configuration: profiles, SSO, the lot.
	opts := []app.Option{app.WithAWSConfig(func(ctx context.Context) (aws.Config, error) { return config.LoadDefaultConfig(ctx) })}
	if cfg.App.DynamoDBEndpoint != "" {
		opts = append(opts, app.WithStorage(local.OpenStorage)) // DynamoDB Local
	}
	u, created, err := app.BootstrapAdmin(context.Background(), cfg.App, onboarding.FirstAdministrator{
		Email: *email, FirstName: *first, LastName: *last, SlackUserID: *slackID}, cfg.App.Logger(), opts...)
	if err != nil {
		return err
	}
	if !created {
		fmt.Fprintf(stdout, "%s is already the administrator (status %s); nothing written.\n", u.Email, u.Status)
		return nil
	}
	fmt.Fprintf(stdout, "Created the administrator %s (%s) with Hold Invite off: the release function is emailing them a temporary password.\n", u.Name(), u.Email)
	return nil
}

func importCSV(cfg local.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsos import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	partial := fs.Bool("partial", false, "write the good rows even when others have problems")
	server := fs.String("server", "http://"+cfg.Addr, "the OpsOS API (the stack's ApiUrl in AWS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: opsos import [-partial] [-server URL] FILE.csv")
	}
	token := os.Getenv("OPSOS_TOKEN")
	if token == "" {
		return fmt.Errorf("OPSOS_TOKEN must be a manager's token: the local server prints the administrator's at start")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	rows, problems, err := bulk.ReadCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := bulk.Import(ctx, bulk.Client{Server: *server, Token: token}, rows, problems, bulk.Options{Partial: *partial, Progress: stderr})
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, p)
	}
	if err != nil {
		return err
	}
	switch {
	case !rep.Written:
		return fmt.Errorf("%d of %d rows have problems (listed above); nothing was written: fix them and run again, or use -partial to write the other rows", rowsWith(rep.Problems), rep.Rows)
	case len(rep.Problems) > 0:
		fmt.Fprintf(stdout, "Created %d users in Introduction Mode; %d already existed; %d rows not written (listed above).\n", rep.Created, len(rep.Existing), rowsWith(rep.Problems))
		return fmt.Errorf("%d rows were not written", rowsWith(rep.Problems))
	}
	fmt.Fprintf(stdout, "Created %d users in Introduction Mode; %d already existed. Release them when ready (POST /users/release, or /opsos-user release in Slack).\n", rep.Created, len(rep.Existing))
	return nil
}

func rowsWith(ps []bulk.RowError) int {
	lines := map[int]bool{}
	for _, p := range ps {
		lines[p.Line] = true
	}
	return len(lines)
}
