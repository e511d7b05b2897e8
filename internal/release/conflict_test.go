package release_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamotest"
	"github.com/opsos/onboarding/internal/user"
)

// TestWorkerWritesSurviveConflicts releases a user on DynamoDB Local
// with the worker's claims and status writes refused for a transaction
// conflict, as AWS does when a manager writes the user at the same
// moment: first every write's first attempt, then every attempt for a
// while. The user ends invited with one email, and activated on their
// first sign-in.
func TestWorkerWritesSurviveConflicts(t *testing.T) {
	ctx := context.Background()
	store, conflicts := dynamotest.ConflictingStore(t, dynamotest.FirstAttempt)
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ids := 0
	svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{}, time.Now, func() string { ids++; return fmt.Sprintf("u-%04d", ids) })
	admin, _, err := svc.Bootstrap(ctx, "admin@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	actor, err := svc.Authorize(ctx, onboarding.Identity{UserID: admin.ID, Source: onboarding.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	identity, mail := newFakeIdentity(), &fakeMailer{}
	compose := func(inv release.Invitation) (release.Message, error) {
		return release.Message{Subject: "Welcome", Text: "Temporary password: " + inv.TemporaryPassword + "\n"}, nil
	}
	n := 0
	passwords := func() (string, error) { n++; return fmt.Sprintf("Temp-Pass-%04d!", n), nil }
	worker := release.New(release.Deps{Store: store, Outcomes: svc, Identity: identity, Mailer: mail, Compose: compose, Passwords: passwords, Now: time.Now, Log: quiet}, release.Config{ClaimHold: time.Minute})
	poller, err := dynamostream.NewPoller(ctx, conflicts.API.(*dynamodb.Client), dynamostream.NewLocalClient(emulators.DynamoDB(t)), store.Table(),
		edge(worker), dynamostream.FileCheckpoints{Path: filepath.Join(t.TempDir(), "cp.json")}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	hold := false
	u, _, err := svc.Create(ctx, actor, user.Draft{FirstName: "Priya", LastName: "Shah", Email: "priya@example.com", Role: "staff", HoldInvite: &hold}, "")
	if err != nil {
		t.Fatal(err)
	}
	// Every attempt conflicts: the worker sends nothing and keeps the
	// record for a retry.
	conflicts.Set(dynamotest.Forever)
	refused := conflicts.Injected()
	poller.Poll(ctx)
	if conflicts.Injected() == refused {
		t.Fatal("the worker did not try to claim the release")
	}
	if got, _ := store.GetUser(ctx, u.ID); got.Status != user.StatusReleasing || len(mail.to(u.Email)) != 0 {
		t.Fatalf("while every write conflicts: status %s, %d emails", got.Status, len(mail.to(u.Email)))
	}
	conflicts.Set(dynamotest.FirstAttempt)
	before := conflicts.Injected()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := poller.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.GetUser(ctx, u.ID); got.Status == user.StatusInvited {
			break
		}
		if time.Now().After(deadline) {
			got, _ := store.GetUser(ctx, u.ID)
			t.Fatalf("status %s after 30 s", got.Status)
		}
	}
	msgs := mail.to(u.Email)
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want 1", len(msgs))
	}
	if conflicts.Injected() == before {
		t.Error("no conflict was injected into the worker's writes")
	}
	identity.setOwnPassword(u.Email, "My-Own-Password-1")
	if err := svc.Activate(ctx, u.ID, u.Email); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.GetUser(ctx, u.ID); got.Status != user.StatusActive {
		t.Errorf("after the first sign-in: status %s", got.Status)
	}
}
