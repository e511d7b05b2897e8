package release_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/dynamo"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamostream"
	"github.com/opsos/onboarding/internal/store/dynamo/dynamotest"
	"github.com/opsos/onboarding/internal/user"
)

// lostStatus is the DynamoDB store with the worker's status writes lost
// while down is set, as when the worker dies between sending the email
// and recording it.
type lostStatus struct {
	*dynamo.Store
	down *atomic.Bool
}

func (s lostStatus) UpdateUser(ctx context.Context, u user.User, v int64, a onboarding.AuditEntry) error {
	if s.down.Load() {
		return errors.New("the process was killed")
	}
	return s.Store.UpdateUser(ctx, u, v, a)
}

// fakeGlobalSignOut answers AdminUserGlobalSignOut, which cognito-local
// does not implement, with success before anything is sent, as the
// cognito adapter's own tests do; every other call goes to the emulator.
func fakeGlobalSignOut(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("FakeAdminUserGlobalSignOut",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if middleware.GetOperationName(ctx) != "AdminUserGlobalSignOut" {
				return next.HandleInitialize(ctx, in)
			}
			return middleware.InitializeOutput{Result: &cip.AdminUserGlobalSignOutOutput{}}, middleware.Metadata{}, nil
		}), middleware.Before)
}

// emulated is the worker on DynamoDB Local and cognito-local, mailing
// into a fake mailbox.
type emulated struct {
	ctx      context.Context
	store    *dynamo.Store
	svc      *onboarding.Service
	actor    onboarding.Actor
	worker   *release.Worker
	poller   *dynamostream.Poller
	mail     *fakeMailer
	cognito  *cip.Client
	pool     string
	clientID string
	down     atomic.Bool
}

func newEmulated(t *testing.T) *emulated {
	t.Helper()
	e := &emulated{ctx: context.Background(), mail: &fakeMailer{}}
	db, table := dynamotest.Table(t)
	e.store = dynamo.New(db, table)
	e.cognito = cognito.NewLocalClient(emulators.Cognito(t), func(o *cip.Options) { o.APIOptions = append(o.APIOptions, fakeGlobalSignOut) })
	var err error
	if e.pool, e.clientID, err = cognito.CreateLocalPool(e.ctx, e.cognito, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.cognito.DeleteUserPool(context.Background(), &cip.DeleteUserPoolInput{UserPoolId: &e.pool}) })
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ids := 0
	e.svc = onboarding.New(e.store, access.DefaultCatalogue(), onboarding.Config{}, time.Now, func() string { ids++; return fmt.Sprintf("u-%04d", ids) })
	admin, _, err := e.svc.Bootstrap(e.ctx, "admin@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if e.actor, err = e.svc.Authorize(e.ctx, onboarding.Identity{UserID: admin.ID, Source: onboarding.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	compose := func(inv release.Invitation) (release.Message, error) {
		return release.Message{Subject: "Welcome", Text: "Temporary password: " + inv.TemporaryPassword + "\n"}, nil
	}
	n := 0
	passwords := func() (string, error) { n++; return fmt.Sprintf("Temp-Pass-%04d!", n), nil }
	outcomes := onboarding.New(lostStatus{e.store, &e.down}, access.DefaultCatalogue(), onboarding.Config{}, time.Now, func() string { panic("the worker creates nobody") })
	e.worker = release.New(release.Deps{Store: lostStatus{e.store, &e.down}, Outcomes: outcomes, Identity: cognito.New(e.cognito, e.pool), Mailer: e.mail, Compose: compose, Passwords: passwords, Now: time.Now, Log: quiet}, release.Config{ClaimHold: time.Minute})
	if e.poller, err = dynamostream.NewPoller(e.ctx, db, dynamostream.NewLocalClient(emulators.DynamoDB(t)), table, edge(e.worker),
		dynamostream.FileCheckpoints{Path: filepath.Join(t.TempDir(), "cp.json")}, quiet); err != nil {
		t.Fatal(err)
	}
	return e
}

// releaseUser creates a user with Hold Invite off and hands the feed to
// the worker until the invitation is out.
func (e *emulated) releaseUser(t *testing.T, email string) user.User {
	t.Helper()
	hold := false
	u, _, err := e.svc.Create(e.ctx, e.actor, user.Draft{FirstName: "Priya", LastName: "Shah", Email: email, Role: "staff", HoldInvite: &hold}, "")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		e.poller.Poll(e.ctx)
		if got, _ := e.store.GetUser(e.ctx, u.ID); got.Status != user.StatusReleasing || len(e.mail.to(u.Email)) > 0 {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not act on the release within 30 s")
		}
	}
}

// signIn is the managed login page's first sign-in: the temporary
// password, then the user's own.
func (e *emulated) signIn(email, temp, own string) error {
	out, err := e.cognito.InitiateAuth(e.ctx, &cip.InitiateAuthInput{
		AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth, ClientId: &e.clientID,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": temp},
	})
	if err != nil {
		return err
	}
	if out.ChallengeName != ciptypes.ChallengeNameTypeNewPasswordRequired {
		return fmt.Errorf("challenge %q, want the new-password one", out.ChallengeName)
	}
	_, err = e.cognito.RespondToAuthChallenge(e.ctx, &cip.RespondToAuthChallengeInput{
		ClientId: &e.clientID, ChallengeName: ciptypes.ChallengeNameTypeNewPasswordRequired, Session: out.Session,
		ChallengeResponses: map[string]string{"USERNAME": email, "NEW_PASSWORD": own},
	})
	return err
}

// postAuthentication is the event Cognito sends the trigger after the
// sign-in: the login's attributes as the user pool holds them.
func (e *emulated) postAuthentication(t *testing.T, email string) events.CognitoEventUserPoolsPostAuthentication {
	t.Helper()
	got, err := e.cognito.AdminGetUser(e.ctx, &cip.AdminGetUserInput{UserPoolId: &e.pool, Username: &email})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CognitoEventUserPoolsPostAuthentication
	ev.TriggerSource = "PostAuthentication_Authentication"
	ev.UserPoolID, ev.UserName = e.pool, aws.ToString(got.Username)
	ev.Request.UserAttributes = map[string]string{}
	for _, a := range got.UserAttributes {
		ev.Request.UserAttributes[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return ev
}

// TestCognitoFirstSignInActivatesAStuckRelease: on DynamoDB Local and
// cognito-local, a worker that created the login and sent the email dies
// before recording invited; the user signs in with the email's password
// and the post-authentication trigger makes them active.
func TestCognitoFirstSignInActivatesAStuckRelease(t *testing.T) {
	e := newEmulated(t)
	e.down.Store(true)
	u := e.releaseUser(t, "priya@example.com")
	msgs := e.mail.to(u.Email)
	if got, _ := e.store.GetUser(e.ctx, u.ID); got.Status != user.StatusReleasing || len(msgs) != 1 {
		t.Fatalf("status %s, %d emails", got.Status, len(msgs))
	}
	if err := e.signIn(u.Email, passwordIn(t, msgs[0]), "My-Own-Password-1"); err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	ev := e.postAuthentication(t, u.Email)
	if ev.Request.UserAttributes[user.LoginAttrUserID] != u.ID {
		t.Fatalf("the login does not carry the OpsOS id: %v", ev.Request.UserAttributes)
	}
	trigger := cognito.PostAuthentication{Activator: e.svc, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if _, err := trigger.Handle(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.GetUser(e.ctx, u.ID); got.Status != user.StatusActive {
		t.Errorf("after the first sign-in: status %s", got.Status)
	}
}

// TestCognitoReleaseFailedDisablesTheLogin: on cognito-local, a release
// whose address the mail service rejects after the password went out
// leaves the login disabled, and a resend enables it again.
func TestCognitoReleaseFailedDisablesTheLogin(t *testing.T) {
	e := newEmulated(t)
	e.mail.inject(true, release.Permanent("the email address was rejected by the mail service", errors.New("MessageRejected")), 1)
	u := e.releaseUser(t, "bounce@example.com")
	msgs := e.mail.to(u.Email)
	if got, _ := e.store.GetUser(e.ctx, u.ID); got.Status != user.StatusReleaseFailed || len(msgs) != 1 {
		t.Fatalf("status %s, %d emails", got.Status, len(msgs))
	}
	st, err := cognito.New(e.cognito, e.pool).State(e.ctx, u.Email)
	if err != nil || st.Status == release.LoginNone || st.Enabled {
		t.Fatalf("login %+v %v, want it disabled", st, err)
	}
	// cognito-local signs disabled logins in (Cognito refuses them), so
	// the login's state is what is checked here; the fakes and the local
	// login check the refused sign-in. A resend enables it again.
	if _, err := e.svc.Resend(e.ctx, e.actor, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		e.poller.Poll(e.ctx)
		if got, _ := e.store.GetUser(e.ctx, u.ID); got.Status == user.StatusInvited {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the resend was not invited within 30 s")
		}
	}
	if st, err := cognito.New(e.cognito, e.pool).State(e.ctx, u.Email); err != nil || !st.Enabled {
		t.Errorf("after the resend the login is %+v %v, want it enabled", st, err)
	}
}
