package cognito_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/identity/cognito"
	"github.com/opsos/onboarding/internal/identity/identitytest"
	"github.com/opsos/onboarding/internal/release"
)

func endpoint(t testing.TB) string { return emulators.Cognito(t) }

// signOuts stands in for AdminUserGlobalSignOut, which cognito-local 5.3.0
// does not implement (it answers HTTP 500 "unsupported", which the SDK
// retries and then reports). A middleware at the front of the client's
// stack answers that one operation with success before anything is sent,
// and records whom it signed out, so the tests can assert that Suspend
// does sign the user out. Every other operation goes to the emulator.
type signOuts struct {
	mu    sync.Mutex
	users []string
}

func (s *signOuts) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("FakeAdminUserGlobalSignOut",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if middleware.GetOperationName(ctx) != "AdminUserGlobalSignOut" {
				return next.HandleInitialize(ctx, in)
			}
			p := in.Parameters.(*cip.AdminUserGlobalSignOutInput)
			s.mu.Lock()
			s.users = append(s.users, aws.ToString(p.Username))
			s.mu.Unlock()
			return middleware.InitializeOutput{Result: &cip.AdminUserGlobalSignOutOutput{}}, middleware.Metadata{}, nil
		}), middleware.Before)
}

func (s *signOuts) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.users...)
}

// pool is one fresh user pool on cognito-local with an app client.
type pool struct {
	client   *cip.Client
	id       string
	clientID string
	signOuts *signOuts
	identity *cognito.Identity
}

var pools atomic.Int64

func newPool(t *testing.T) *pool {
	t.Helper()
	so := &signOuts{}
	client := cognito.NewLocalClient(endpoint(t), func(o *cip.Options) {
		o.APIOptions = append(o.APIOptions, so.add)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := fmt.Sprintf("opsos-test-%d-%d", time.Now().UnixNano(), pools.Add(1))
	id, clientID, err := cognito.CreateLocalPool(ctx, client, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.DeleteUserPool(context.Background(), &cip.DeleteUserPoolInput{UserPoolId: &id}) })
	return &pool{client: client, id: id, clientID: clientID, signOuts: so, identity: cognito.New(client, id)}
}

// refused reports whether err is Cognito refusing credentials. Cognito
// says NotAuthorizedException for a wrong password, a disabled login or
// an expired temporary password; cognito-local says InvalidPasswordException
// for a wrong password.
func refused(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "NotAuthorizedException", "InvalidPasswordException", "UserNotFoundException", "PasswordResetRequiredException":
		return true
	}
	return false
}

// signIn is USER_PASSWORD_AUTH through the app client, as a login page
// does. cognito-local answers a FORCE_CHANGE_PASSWORD login with the
// NEW_PASSWORD_REQUIRED challenge whatever the password, so the password
// is then checked with ADMIN_USER_PASSWORD_AUTH, which cognito-local does
// compare; on Cognito both calls check it and the second is redundant.
func (p *pool) signIn(t *testing.T, email, pw string) (bool, error) {
	t.Helper()
	ctx := context.Background()
	out, err := p.client.InitiateAuth(ctx, &cip.InitiateAuthInput{
		AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
		ClientId:       &p.clientID,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": pw},
	})
	if refused(err) {
		return false, err
	}
	if err != nil {
		t.Fatalf("initiate auth: %v", err)
	}
	if out.ChallengeName == "" {
		if out.AuthenticationResult == nil {
			t.Fatalf("initiate auth: neither challenge nor tokens")
		}
		return false, nil
	}
	if out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("initiate auth: challenge %s", out.ChallengeName)
	}
	_, err = p.client.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
		AuthFlow:       types.AuthFlowTypeAdminUserPasswordAuth,
		UserPoolId:     &p.id,
		ClientId:       &p.clientID,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": pw},
	})
	if refused(err) {
		return false, err
	}
	if err != nil {
		t.Fatalf("admin initiate auth: %v", err)
	}
	return true, nil
}

// confirm answers the NEW_PASSWORD_REQUIRED challenge, as the managed
// login page does on a first sign-in, and returns the tokens.
func (p *pool) confirm(t *testing.T, email, temp, own string) *types.AuthenticationResultType {
	t.Helper()
	ctx := context.Background()
	if ok, err := p.signIn(t, email, temp); err != nil || !ok {
		t.Fatalf("temporary password: challenge %v, %v", ok, err)
	}
	out, err := p.client.InitiateAuth(ctx, &cip.InitiateAuthInput{
		AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
		ClientId:       &p.clientID,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": temp},
	})
	if err != nil || out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || aws.ToString(out.Session) == "" {
		t.Fatalf("initiate auth with the temporary password: %v, challenge %q", err, out.ChallengeName)
	}
	resp, err := p.client.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{
		ClientId:           &p.clientID,
		ChallengeName:      types.ChallengeNameTypeNewPasswordRequired,
		Session:            out.Session,
		ChallengeResponses: map[string]string{"USERNAME": email, "NEW_PASSWORD": own},
	})
	if err != nil {
		t.Fatalf("respond to the new-password challenge: %v", err)
	}
	if resp.AuthenticationResult == nil || aws.ToString(resp.AuthenticationResult.IdToken) == "" {
		t.Fatalf("respond to the new-password challenge: no tokens")
	}
	return resp.AuthenticationResult
}

func (p *pool) groups(t *testing.T, email string) []string {
	t.Helper()
	ctx := context.Background()
	// cognito-local lists groups only under the login's own name (its
	// sub), not under the email alias.
	u, err := p.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &p.id, Username: &email})
	if err != nil {
		t.Fatalf("get user %s: %v", email, err)
	}
	out, err := p.client.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &p.id, Username: u.Username})
	if err != nil {
		t.Fatalf("list groups of %s: %v", email, err)
	}
	var names []string
	for _, g := range out.Groups {
		names = append(names, aws.ToString(g.GroupName))
	}
	return names
}

func (p *pool) harness() identitytest.Harness {
	return identitytest.Harness{
		Identity: p.identity,
		SignIn:   p.signIn,
		Confirm: func(t *testing.T, email, temp, own string) {
			t.Helper()
			p.confirm(t, email, temp, own)
		},
		Groups:          p.groups,
		RefusesDisabled: false, // cognito-local 5.3.0 signs disabled logins in
	}
}

func TestContract(t *testing.T) {
	identitytest.Run(t, func(t *testing.T) identitytest.Harness { return newPool(t).harness() })
}

func TestSuspendSignsOut(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	l := identitytest.Login(1, "supervisor")
	if err := p.identity.Provision(ctx, l, identitytest.TempPassword1); err != nil {
		t.Fatal(err)
	}
	if got := p.signOuts.list(); len(got) != 0 {
		t.Fatalf("signed out before suspend: %q", got)
	}
	if err := p.identity.Suspend(ctx, l.Email); err != nil {
		t.Fatal(err)
	}
	if got := p.signOuts.list(); len(got) != 1 || got[0] != l.Email {
		t.Errorf("sign-outs after suspend = %q, want [%s]", got, l.Email)
	}
	if err := p.identity.Suspend(ctx, "nobody@example.com"); !errors.Is(err, release.ErrNoLogin) {
		t.Errorf("suspend of an unknown login: %v", err)
	}
	if got := p.signOuts.list(); len(got) != 1 {
		t.Errorf("an unknown login was signed out: %q", got)
	}
}

// claims decodes a JWT's payload without checking it: the test only reads
// what Cognito put in.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewPasswordRequiredFlow(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	l := identitytest.Login(1, "supervisor")
	if err := p.identity.Provision(ctx, l, identitytest.TempPassword1); err != nil {
		t.Fatal(err)
	}
	tokens := p.confirm(t, l.Email, identitytest.TempPassword1, identitytest.OwnPassword)

	// The ID token carries what the API and the post-authentication
	// trigger read.
	c := claims(t, aws.ToString(tokens.IdToken))
	if c[cognito.AttrUserID] != l.UserID || c["email"] != l.Email {
		t.Errorf("id token claims %v: want %s = %s and email %s", c, cognito.AttrUserID, l.UserID, l.Email)
	}
	if g, _ := c["cognito:groups"].([]any); len(g) != 1 || g[0] != "supervisor" {
		t.Errorf("id token groups %v, want [supervisor]", c["cognito:groups"])
	}
	if st, err := p.identity.State(ctx, l.Email); err != nil || st.Status != release.LoginConfirmed {
		t.Fatalf("state after the challenge: %+v, %v", st, err)
	}
	if ok, err := p.signIn(t, l.Email, identitytest.OwnPassword); err != nil || ok {
		t.Fatalf("own password: challenge %v, %v", ok, err)
	}

	// A resent invitation: the first temporary password, and the user's
	// own, no longer work; the new one asks for a new password again.
	if err := p.identity.Provision(ctx, l, identitytest.TempPassword2); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{identitytest.TempPassword1, identitytest.OwnPassword} {
		if _, err := p.signIn(t, l.Email, old); err == nil {
			t.Errorf("%q still works after the reset", old)
		}
	}
	if ok, err := p.signIn(t, l.Email, identitytest.TempPassword2); err != nil || !ok {
		t.Errorf("new temporary password: challenge %v, %v", ok, err)
	}
}

func TestProvisionResetUpdatesAttributes(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	l := identitytest.Login(1, "supervisor")
	if err := p.identity.Provision(ctx, l, identitytest.TempPassword1); err != nil {
		t.Fatal(err)
	}
	l.UserID, l.FirstName, l.LastName = "01JOTHERUSER", "Ann", "Other"
	if err := p.identity.Provision(ctx, l, identitytest.TempPassword2); err != nil {
		t.Fatal(err)
	}
	u, err := p.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &p.id, Username: &l.Email})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range u.UserAttributes {
		got[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	want := map[string]string{
		"email": l.Email, "email_verified": "true", "given_name": "Ann", "family_name": "Other", cognito.AttrUserID: "01JOTHERUSER",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, got[k], v)
		}
	}
}

// TestErrorMapping feeds Cognito's errors to the adapter through a
// middleware that answers the named operation with them before anything
// is sent, so it needs no emulator.
func TestErrorMapping(t *testing.T) {
	ctx := context.Background()
	l := identitytest.Login(1, "supervisor")
	apiErr := func(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }
	cases := []struct {
		name      string
		op        string
		err       error
		call      func(*cognito.Identity) error
		permanent string // the reason, when the failure is permanent
		noLogin   bool
	}{
		{"invalid email", "AdminCreateUser", &types.InvalidParameterException{Message: aws.String("Invalid email address format.")},
			func(id *cognito.Identity) error { return id.Provision(ctx, l, "x") }, cognito.ReasonEmail, false},
		{"username not an email", "AdminCreateUser", apiErr("InvalidParameterException", "Username should be an email."),
			func(id *cognito.Identity) error { return id.Provision(ctx, l, "x") }, cognito.ReasonEmail, false},
		{"password policy", "AdminCreateUser", &types.InvalidPasswordException{Message: aws.String("Password does not conform to policy: Password not long enough")},
			func(id *cognito.Identity) error { return id.Provision(ctx, l, "x") }, cognito.ReasonPassword, false},
		{"schema", "AdminCreateUser", apiErr("InvalidParameterException", "Attributes did not conform to the schema: Type for attribute {custom:opsos_user_id} could not be determined"),
			func(id *cognito.Identity) error { return id.Provision(ctx, l, "x") }, cognito.ReasonSettings, false},
		{"no pool", "AdminCreateUser", &types.ResourceNotFoundException{Message: aws.String("User pool us-east-1_x does not exist.")},
			func(id *cognito.Identity) error { return id.Provision(ctx, l, "x") }, cognito.ReasonPool, false},
		{"throttled", "AdminCreateUser", &types.TooManyRequestsException{Message: aws.String("Too many requests")},
			func(id *cognito.Identity) error { return id.Provision(ctx, l, "x") }, "", false},
		{"limit", "AdminCreateUser", &types.LimitExceededException{Message: aws.String("Rate exceeded")},
			func(id *cognito.Identity) error { return id.Provision(ctx, l, "x") }, "", false},
		{"internal", "AdminCreateUser", &types.InternalErrorException{Message: aws.String("Internal error")},
			func(id *cognito.Identity) error { return id.Provision(ctx, l, "x") }, "", false},
		{"suspend unknown", "AdminDisableUser", &types.UserNotFoundException{Message: aws.String("User does not exist.")},
			func(id *cognito.Identity) error { return id.Suspend(ctx, l.Email) }, "", true},
		{"enable unknown", "AdminEnableUser", &types.UserNotFoundException{Message: aws.String("User does not exist.")},
			func(id *cognito.Identity) error { return id.Enable(ctx, l.Email) }, "", true},
		{"set group unknown", "AdminGetUser", &types.UserNotFoundException{Message: aws.String("User does not exist.")},
			func(id *cognito.Identity) error { return id.SetGroup(ctx, l.Email, "supervisor") }, "", true},
		{"suspend throttled", "AdminDisableUser", &types.TooManyRequestsException{Message: aws.String("Too many requests")},
			func(id *cognito.Identity) error { return id.Suspend(ctx, l.Email) }, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inject := func(stack *middleware.Stack) error {
				return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("InjectError",
					func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
						if middleware.GetOperationName(ctx) == c.op {
							return middleware.InitializeOutput{}, middleware.Metadata{}, c.err
						}
						t.Errorf("unexpected call %s", middleware.GetOperationName(ctx))
						return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("no emulator in this test")
					}), middleware.Before)
			}
			// Nothing listens on port 1: every call is answered above.
			id := cognito.New(cognito.NewLocalClient("http://127.0.0.1:1", func(o *cip.Options) {
				o.APIOptions = append(o.APIOptions, inject)
			}), "us-east-1_test")
			err := c.call(id)
			if err == nil {
				t.Fatal("no error")
			}
			reason, permanent := release.IsPermanent(err)
			if reason != c.permanent {
				t.Errorf("permanent reason %q (permanent %v), want %q; error %v", reason, permanent, c.permanent, err)
			}
			if errors.Is(err, release.ErrNoLogin) != c.noLogin {
				t.Errorf("errors.Is(ErrNoLogin) = %v, want %v; error %v", !c.noLogin, c.noLogin, err)
			}
			if !errors.Is(err, c.err) {
				t.Errorf("the Cognito error is not wrapped: %v", err)
			}
		})
	}
}
