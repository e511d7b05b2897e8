// Package identitytest is the contract every release.Identity adapter
// keeps, in the manner of go-cloud's docstore/drivertest: Cognito (on
// cognito-local) and the embedded login of local mode run the same cases
// from their own tests. The suite judges the adapter by what a person
// would notice — which password signs in, whether a new one is asked for,
// which group the login is in — through the harness, never through the
// adapter's internals.
package identitytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/opsos/onboarding/internal/release"
)

// Harness is one adapter under test, with the engine's own ways of
// observing it.
type Harness struct {
	// Identity is the adapter.
	Identity release.Identity
	// SignIn tries email and password as a person at the login page does.
	// It returns err nil when the password is accepted, with challenge
	// true when the engine asks for a new password (NEW_PASSWORD_REQUIRED)
	// and false when it signs the user in; and a non-nil err when the
	// engine refuses the credentials (wrong password, no login, disabled,
	// expired). Anything else — the engine unreachable — fails t.
	SignIn func(t *testing.T, email, password string) (challenge bool, err error)
	// Confirm completes a first sign-in: temporaryPassword, then
	// newPassword as the user's own. It fails t if that does not work.
	Confirm func(t *testing.T, email, temporaryPassword, newPassword string)
	// Groups returns the groups the login is in, in any order.
	Groups func(t *testing.T, email string) []string
	// RefusesDisabled says that the engine refuses to sign a disabled
	// login in. Cognito and the local login do; cognito-local 5.3.0 does
	// not, so the cases check it only where it holds.
	RefusesDisabled bool
}

// Passwords of the suite; each meets password.Default().
const (
	TempPassword1 = "Temp-Passw0rd-One"
	TempPassword2 = "Temp-Passw0rd-Two"
	OwnPassword   = "My-0wn-Secret-Pass"
)

// Run runs every contract case as a subtest, each with a harness made by
// newHarness, which should register its cleanup with t.Cleanup.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"StateOfUnknownIsNone", testStateUnknown},
		{"ProvisionCreates", testProvisionCreates},
		{"ProvisionRetryWithSamePassword", testProvisionRetry},
		{"ProvisionWithNewPasswordReplacesOld", testProvisionNewPassword},
		{"ProvisionMovesGroup", testProvisionMovesGroup},
		{"SetGroupMovesBetweenGroups", testSetGroup},
		{"SuspendAndEnable", testSuspendEnable},
		{"ProvisionEnablesSuspended", testProvisionEnablesSuspended},
		{"UnknownLoginIsErrNoLogin", testUnknownLogin},
		{"ConfirmedLogin", testConfirmed},
		{"InvalidEmailIsPermanent", testInvalidEmail},
		{"ConcurrentProvisions", testConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newHarness(t))
		})
	}
}

// Login returns the login of user n of a case, in group.
func Login(n int, group string) release.Login {
	return release.Login{
		Email:     fmt.Sprintf("user%d@example.com", n),
		UserID:    fmt.Sprintf("01JUSER%04d", n),
		FirstName: fmt.Sprintf("First%d", n),
		LastName:  fmt.Sprintf("Last%d", n),
		Group:     group,
	}
}

func provision(t *testing.T, h Harness, l release.Login, pw string) {
	t.Helper()
	if err := h.Identity.Provision(context.Background(), l, pw); err != nil {
		t.Fatalf("provision %s: %v", l.Email, err)
	}
}

func state(t *testing.T, h Harness, email string) release.LoginState {
	t.Helper()
	st, err := h.Identity.State(context.Background(), email)
	if err != nil {
		t.Fatalf("state of %s: %v", email, err)
	}
	return st
}

// wantChallenge checks that pw is accepted as a temporary password.
func wantChallenge(t *testing.T, h Harness, email, pw string) {
	t.Helper()
	challenge, err := h.SignIn(t, email, pw)
	if err != nil {
		t.Fatalf("sign in %s with %q: refused: %v", email, pw, err)
	}
	if !challenge {
		t.Fatalf("sign in %s with %q: signed in without being asked for a new password", email, pw)
	}
}

// wantSignedIn checks that pw is accepted as the user's own password.
func wantSignedIn(t *testing.T, h Harness, email, pw string) {
	t.Helper()
	challenge, err := h.SignIn(t, email, pw)
	if err != nil {
		t.Fatalf("sign in %s with %q: refused: %v", email, pw, err)
	}
	if challenge {
		t.Fatalf("sign in %s with %q: asked for a new password again", email, pw)
	}
}

func wantRefused(t *testing.T, h Harness, email, pw string) {
	t.Helper()
	if challenge, err := h.SignIn(t, email, pw); err == nil {
		t.Fatalf("sign in %s with %q: accepted (challenge %v), want refused", email, pw, challenge)
	}
}

func wantGroups(t *testing.T, h Harness, email string, want ...string) {
	t.Helper()
	got := slices.Clone(h.Groups(t, email))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("groups of %s = %q, want %q", email, got, want)
	}
}

func testStateUnknown(t *testing.T, h Harness) {
	st := state(t, h, "nobody@example.com")
	if st.Status != release.LoginNone {
		t.Errorf("state of an unknown login: status %q, want none", st.Status)
	}
	wantRefused(t, h, "nobody@example.com", TempPassword1)
}

func testProvisionCreates(t *testing.T, h Harness) {
	l := Login(1, "supervisor")
	provision(t, h, l, TempPassword1)
	st := state(t, h, l.Email)
	if st.Status != release.LoginForceChangePassword || !st.Enabled || st.Created.IsZero() {
		t.Errorf("state after provision = %+v, want FORCE_CHANGE_PASSWORD, enabled, created set", st)
	}
	wantChallenge(t, h, l.Email, TempPassword1)
	wantRefused(t, h, l.Email, TempPassword2)
	wantGroups(t, h, l.Email, "supervisor")
}

func testProvisionRetry(t *testing.T, h Harness) {
	l := Login(1, "supervisor")
	provision(t, h, l, TempPassword1)
	first := state(t, h, l.Email)
	// A retried stream record provisions again with the same password
	// (or a duplicate does): one login, still usable.
	provision(t, h, l, TempPassword1)
	st := state(t, h, l.Email)
	if st.Status != release.LoginForceChangePassword || !st.Enabled {
		t.Errorf("state after second provision = %+v", st)
	}
	if !st.Created.Equal(first.Created) {
		t.Errorf("created %v, then %v: the login was made anew", first.Created, st.Created)
	}
	wantChallenge(t, h, l.Email, TempPassword1)
	wantGroups(t, h, l.Email, "supervisor")
}

func testProvisionNewPassword(t *testing.T, h Harness) {
	l := Login(1, "supervisor")
	provision(t, h, l, TempPassword1)
	provision(t, h, l, TempPassword2) // a resent invitation
	wantRefused(t, h, l.Email, TempPassword1)
	wantChallenge(t, h, l.Email, TempPassword2)
	if st := state(t, h, l.Email); st.Status != release.LoginForceChangePassword {
		t.Errorf("status after reset %q", st.Status)
	}
}

func testProvisionMovesGroup(t *testing.T, h Harness) {
	l := Login(1, "supervisor")
	provision(t, h, l, TempPassword1)
	l.Group = "operations_manager" // role changed before the resend
	provision(t, h, l, TempPassword2)
	wantGroups(t, h, l.Email, "operations_manager")
}

func testSetGroup(t *testing.T, h Harness) {
	ctx := context.Background()
	l := Login(1, "supervisor")
	provision(t, h, l, TempPassword1)
	for _, g := range []string{"operations_manager", "operations_manager", "administrator", "supervisor"} {
		if err := h.Identity.SetGroup(ctx, l.Email, g); err != nil {
			t.Fatalf("set group %s: %v", g, err)
		}
		wantGroups(t, h, l.Email, g)
	}
	// A second user joins a group that exists already.
	m := Login(2, "administrator")
	provision(t, h, m, TempPassword1)
	wantGroups(t, h, m.Email, "administrator")
	wantGroups(t, h, l.Email, "supervisor")
}

func testSuspendEnable(t *testing.T, h Harness) {
	ctx := context.Background()
	l := Login(1, "supervisor")
	provision(t, h, l, TempPassword1)
	for range 2 { // idempotent
		if err := h.Identity.Suspend(ctx, l.Email); err != nil {
			t.Fatalf("suspend: %v", err)
		}
	}
	st := state(t, h, l.Email)
	if st.Enabled || st.Status != release.LoginForceChangePassword {
		t.Errorf("state after suspend = %+v, want disabled, status kept", st)
	}
	if h.RefusesDisabled {
		wantRefused(t, h, l.Email, TempPassword1)
	}
	for range 2 {
		if err := h.Identity.Enable(ctx, l.Email); err != nil {
			t.Fatalf("enable: %v", err)
		}
	}
	if st := state(t, h, l.Email); !st.Enabled || st.Status != release.LoginForceChangePassword {
		t.Errorf("state after enable = %+v, want enabled, status kept", st)
	}
	wantChallenge(t, h, l.Email, TempPassword1)
	wantGroups(t, h, l.Email, "supervisor")
}

func testProvisionEnablesSuspended(t *testing.T, h Harness) {
	ctx := context.Background()
	l := Login(1, "supervisor")
	provision(t, h, l, TempPassword1)
	if err := h.Identity.Suspend(ctx, l.Email); err != nil {
		t.Fatal(err)
	}
	// Released again before the user ever signed in: a new invitation.
	provision(t, h, l, TempPassword2)
	if st := state(t, h, l.Email); !st.Enabled || st.Status != release.LoginForceChangePassword {
		t.Errorf("state = %+v, want enabled FORCE_CHANGE_PASSWORD", st)
	}
	wantChallenge(t, h, l.Email, TempPassword2)
	wantRefused(t, h, l.Email, TempPassword1)
}

func testUnknownLogin(t *testing.T, h Harness) {
	ctx := context.Background()
	const email = "nobody@example.com"
	calls := map[string]func() error{
		"Suspend":  func() error { return h.Identity.Suspend(ctx, email) },
		"Enable":   func() error { return h.Identity.Enable(ctx, email) },
		"SetGroup": func() error { return h.Identity.SetGroup(ctx, email, "supervisor") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, release.ErrNoLogin) {
			t.Errorf("%s of an unknown login: %v, want release.ErrNoLogin", name, err)
		}
	}
	if st := state(t, h, email); st.Status != release.LoginNone {
		t.Errorf("the calls made a login: %+v", st)
	}
}

func testConfirmed(t *testing.T, h Harness) {
	ctx := context.Background()
	l := Login(1, "supervisor")
	provision(t, h, l, TempPassword1)
	h.Confirm(t, l.Email, TempPassword1, OwnPassword)
	if st := state(t, h, l.Email); st.Status != release.LoginConfirmed || !st.Enabled {
		t.Fatalf("state after the first sign-in = %+v, want CONFIRMED, enabled", st)
	}
	wantSignedIn(t, h, l.Email, OwnPassword)
	wantRefused(t, h, l.Email, TempPassword1)

	// Hold and release again: the user keeps their own password.
	if err := h.Identity.Suspend(ctx, l.Email); err != nil {
		t.Fatal(err)
	}
	if h.RefusesDisabled {
		wantRefused(t, h, l.Email, OwnPassword)
	}
	if err := h.Identity.Enable(ctx, l.Email); err != nil {
		t.Fatal(err)
	}
	if st := state(t, h, l.Email); st.Status != release.LoginConfirmed || !st.Enabled {
		t.Fatalf("state after enable = %+v, want CONFIRMED, enabled", st)
	}
	wantSignedIn(t, h, l.Email, OwnPassword)

	// A new invitation replaces the user's own password too.
	provision(t, h, l, TempPassword2)
	if st := state(t, h, l.Email); st.Status != release.LoginForceChangePassword {
		t.Errorf("status after a new invitation %q, want FORCE_CHANGE_PASSWORD", st.Status)
	}
	wantRefused(t, h, l.Email, OwnPassword)
	wantChallenge(t, h, l.Email, TempPassword2)
}

func testInvalidEmail(t *testing.T, h Harness) {
	l := Login(1, "supervisor")
	l.Email = "not-an-email"
	err := h.Identity.Provision(context.Background(), l, TempPassword1)
	reason, ok := release.IsPermanent(err)
	if !ok || reason == "" {
		t.Fatalf("provision of %q: %v, want a permanent error with a reason", l.Email, err)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// Released into the same role at the same time, a group that
			// does not exist yet: both land in it.
			errs[i] = h.Identity.Provision(context.Background(), Login(i, "planner_lead"), TempPassword1)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("provision %d: %v", i, err)
		}
	}
	for i := range n {
		l := Login(i, "planner_lead")
		if st := state(t, h, l.Email); st.Status != release.LoginForceChangePassword || !st.Enabled {
			t.Errorf("%s: state %+v", l.Email, st)
		}
		wantChallenge(t, h, l.Email, TempPassword1)
		wantGroups(t, h, l.Email, "planner_lead")
	}
}
