package release_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/invite"
	"github.com/opsos/onboarding/internal/mail/ses"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/password"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/user"
)

// BenchmarkReleases100OnEmulators measures 100 releases end to end on the
// AWS emulators `make bench` starts: DynamoDB Local's stream → the worker
// → cognito-local (login) → aws-ses-v2-local (email), until all 100 users
// are invited.
func BenchmarkReleases100OnEmulators(b *testing.B) {
	ddb, cog, mail := os.Getenv("OPSOS_TEST_DYNAMODB_ENDPOINT"), os.Getenv("OPSOS_TEST_COGNITO_ENDPOINT"), os.Getenv("OPSOS_TEST_SES_ENDPOINT")
	if ddb == "" || cog == "" || mail == "" {
		b.Skip("the emulators are not running: `make bench` starts them")
	}
	ctx := context.Background()
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		db := dynamo.NewLocalClient(ddb)
		table := fmt.Sprintf("opsos-bench-%d-%d", time.Now().UnixNano(), n)
		if err := dynamo.CreateTable(ctx, db, table); err != nil {
			b.Fatal(err)
		}
		store := dynamo.New(db, table)
		cip := cognito.NewLocalClient(cog)
		pool, _, err := cognito.CreateLocalPool(ctx, cip, table)
		if err != nil {
			b.Fatal(err)
		}
		composer, err := invite.New()
		if err != nil {
			b.Fatal(err)
		}
		worker := release.New(store, cognito.New(cip, pool), ses.New(ses.NewLocalClient(mail), "OpsOS <no-reply@opsos.example>", ""),
			composer.Compose, func() (string, error) { return password.Default().Generate(nil) }, time.Now, quiet,
			release.Config{LoginURL: "https://login.opsos.example/login"})
		svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{}, time.Now, func() string {
			return fmt.Sprintf("%d-%d", time.Now().UnixNano(), n)
		})
		admin, _, err := svc.Bootstrap(ctx, "admin@opsos.example", "")
		if err != nil {
			b.Fatal(err)
		}
		actor, _ := svc.Authorize(ctx, onboarding.Identity{UserID: admin.ID})
		var ids []string
		for i := range 100 {
			u, _, err := svc.Create(ctx, actor, user.Draft{FirstName: "B", LastName: fmt.Sprint(i), Email: fmt.Sprintf("b%d-%d@opsos.example", n, i), Role: "staff"}, "")
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		poller, err := dynamostream.NewPoller(ctx, db, dynamostream.NewLocalClient(ddb), table, worker.Handle,
			dynamostream.FileCheckpoints{Path: filepath.Join(b.TempDir(), "cp.json")}, quiet)
		if err != nil {
			b.Fatal(err)
		}
		poller.Poll(ctx) // the creates ask for nothing
		b.StartTimer()
		start := time.Now()
		for _, id := range ids {
			if _, err := svc.Release(ctx, actor, id, 0); err != nil {
				b.Fatal(err)
			}
		}
		for deadline := time.Now().Add(5 * time.Minute); ; {
			poller.Poll(ctx)
			p, err := store.ListUsers(ctx, onboarding.ListQuery{Status: user.StatusInvited, Limit: 200})
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Users) == len(ids) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d invited", len(p.Users), len(ids))
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/100-releases")
	}
}
