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

// BenchmarkReleasesOnEmulators measures releases end to end on the AWS
// emulators `make bench` starts: DynamoDB Local's stream → the worker →
// cognito-local (login) → aws-ses-v2-local (email), until every user is
// invited. OPSOS_BENCH_RELEASES sets how many (100 by default) and
// OPSOS_BENCH_SEND_RATE the worker's send rate (0, unpaced, by default).
func BenchmarkReleasesOnEmulators(b *testing.B) {
	ddb, cog, mail := os.Getenv("OPSOS_TEST_DYNAMODB_ENDPOINT"), os.Getenv("OPSOS_TEST_COGNITO_ENDPOINT"), os.Getenv("OPSOS_TEST_SES_ENDPOINT")
	if ddb == "" || cog == "" || mail == "" {
		b.Skip("the emulators are not running: `make bench` starts them")
	}
	count, rate := 100, 0.0
	if v := os.Getenv("OPSOS_BENCH_RELEASES"); v != "" {
		if _, err := fmt.Sscan(v, &count); err != nil || count < 1 {
			b.Fatalf("OPSOS_BENCH_RELEASES=%q must be a positive number", v)
		}
	}
	if v := os.Getenv("OPSOS_BENCH_SEND_RATE"); v != "" {
		if _, err := fmt.Sscan(v, &rate); err != nil || rate < 0 {
			b.Fatalf("OPSOS_BENCH_SEND_RATE=%q must be emails per second", v)
		}
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
		svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{}, time.Now, func() string {
			return fmt.Sprintf("%d-%d", time.Now().UnixNano(), n)
		})
		worker := release.New(release.Deps{Store: store, Outcomes: svc, Identity: cognito.New(cip, pool), Mailer: ses.New(ses.NewLocalClient(mail), "OpsOS <no-reply@opsos.example>", ""), Compose: composer.Compose, Passwords: func() (string, error) { return password.Default().Generate(nil) }, Now: time.Now, Log: quiet}, release.Config{LoginURL: "https://login.opsos.example/login", SendRate: rate})
		admin, _, err := svc.Bootstrap(ctx, "admin@opsos.example", "")
		if err != nil {
			b.Fatal(err)
		}
		actor, _ := svc.Authorize(ctx, onboarding.Identity{UserID: admin.ID})
		var ids []string
		for i := range count {
			u, _, err := svc.Create(ctx, actor, user.Draft{FirstName: "B", LastName: fmt.Sprint(i), Email: fmt.Sprintf("b%d-%d@opsos.example", n, i), Role: "staff"}, "")
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		poller, err := dynamostream.NewPoller(ctx, db, dynamostream.NewLocalClient(ddb), table, edge(worker),
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
		for deadline := time.Now().Add(15 * time.Minute); ; {
			poller.Poll(ctx)
			invited, err := countInvited(ctx, store)
			if err != nil {
				b.Fatal(err)
			}
			if invited == len(ids) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d invited", invited, len(ids))
			}
		}
		took := time.Since(start)
		b.ReportMetric(took.Seconds(), "s-total")
		b.ReportMetric(float64(len(ids))/took.Seconds(), "releases/s")
	}
}

func countInvited(ctx context.Context, store *dynamo.Store) (int, error) {
	n, q := 0, onboarding.ListQuery{Status: user.StatusInvited, Limit: onboarding.MaxLimit}
	for {
		p, err := store.ListUsers(ctx, q)
		if err != nil {
			return 0, err
		}
		n += len(p.Users)
		if p.NextCursor == "" {
			return n, nil
		}
		q.Cursor = p.NextCursor
	}
}
