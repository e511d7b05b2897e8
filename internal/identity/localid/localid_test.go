package localid_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsos/onboarding/internal/identity/identitytest"
	"github.com/opsos/onboarding/internal/identity/localid"
	"github.com/opsos/onboarding/internal/release"
)

// clock is a settable clock shared by a test and the Identity.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// open opens a fresh logins file with the cheapest bcrypt cost: the tests
// are about behaviour, not hashing time.
func open(t *testing.T, opts localid.Options) *localid.Identity {
	t.Helper()
	if opts.HashCost == 0 {
		opts.HashCost = bcrypt.MinCost
	}
	id, err := localid.Open(filepath.Join(t.TempDir(), "logins.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { id.Close() })
	return id
}

func harness(id *localid.Identity) identitytest.Harness {
	return identitytest.Harness{
		Identity: id,
		SignIn: func(t *testing.T, email, pw string) (bool, error) {
			t.Helper()
			res, err := id.SignIn(context.Background(), email, pw)
			switch {
			case errors.Is(err, localid.ErrWrongCredentials), errors.Is(err, localid.ErrUserDisabled), errors.Is(err, localid.ErrTemporaryPasswordExpired):
				return false, err
			case err != nil:
				t.Fatalf("sign in: %v", err)
			}
			return res.ChallengeName == localid.ChallengeNewPasswordRequired, nil
		},
		Confirm: func(t *testing.T, email, temp, own string) {
			t.Helper()
			confirm(t, id, email, temp, own)
		},
		Groups: func(t *testing.T, email string) []string {
			t.Helper()
			g, err := id.Groups(context.Background(), email)
			if err != nil {
				t.Fatal(err)
			}
			return g
		},
		RefusesDisabled: true,
	}
}

func TestContract(t *testing.T) {
	identitytest.Run(t, func(t *testing.T) identitytest.Harness {
		return harness(open(t, localid.Options{}))
	})
}

// challenge signs in with the temporary password and returns the session.
func challenge(t *testing.T, id *localid.Identity, email, temp string) string {
	t.Helper()
	res, err := id.SignIn(context.Background(), email, temp)
	if err != nil {
		t.Fatalf("sign in with the temporary password: %v", err)
	}
	if res.ChallengeName != localid.ChallengeNewPasswordRequired || res.Session == "" || res.Tokens != nil {
		t.Fatalf("sign in with the temporary password: %+v, want the challenge", res)
	}
	return res.Session
}

func confirm(t *testing.T, id *localid.Identity, email, temp, own string) localid.Tokens {
	t.Helper()
	tok, err := id.RespondNewPassword(context.Background(), email, challenge(t, id, email, temp), own)
	if err != nil {
		t.Fatalf("respond with a new password: %v", err)
	}
	return tok
}

func provision(t *testing.T, id *localid.Identity, l release.Login, pw string) {
	t.Helper()
	if err := id.Provision(context.Background(), l, pw); err != nil {
		t.Fatal(err)
	}
}

func TestTemporaryPasswordExpires(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	id := open(t, localid.Options{Now: clk.Now})
	l := identitytest.Login(1, "supervisor")
	provision(t, id, l, identitytest.TempPassword1)

	clk.Add(7*24*time.Hour - time.Second)
	session := challenge(t, id, l.Email, identitytest.TempPassword1)

	clk.Add(2 * time.Second) // past the seven days
	if _, err := id.SignIn(ctx, l.Email, identitytest.TempPassword1); !errors.Is(err, localid.ErrTemporaryPasswordExpired) {
		t.Errorf("sign in after 7 days: %v, want ErrTemporaryPasswordExpired", err)
	}
	if _, err := id.RespondNewPassword(ctx, l.Email, session, identitytest.OwnPassword); !errors.Is(err, localid.ErrTemporaryPasswordExpired) {
		t.Errorf("answer a session opened before expiry: %v, want ErrTemporaryPasswordExpired", err)
	}
	// A wrong password says nothing about expiry.
	if _, err := id.SignIn(ctx, l.Email, "Wrong-Passw0rd!"); !errors.Is(err, localid.ErrWrongCredentials) {
		t.Errorf("wrong password after expiry: %v, want ErrWrongCredentials", err)
	}
	if st, _ := id.State(ctx, l.Email); st.Status != release.LoginForceChangePassword {
		t.Errorf("status of an expired invitation %q, want FORCE_CHANGE_PASSWORD", st.Status)
	}

	// A resent invitation starts a new seven days.
	provision(t, id, l, identitytest.TempPassword2)
	clk.Add(6 * 24 * time.Hour)
	confirm(t, id, l.Email, identitytest.TempPassword2, identitytest.OwnPassword)
	// The user's own password does not expire.
	clk.Add(30 * 24 * time.Hour)
	if res, err := id.SignIn(ctx, l.Email, identitytest.OwnPassword); err != nil || res.Tokens == nil {
		t.Errorf("own password a month later: %+v, %v", res, err)
	}
}

func TestCustomValidity(t *testing.T) {
	clk := newClock()
	id := open(t, localid.Options{Now: clk.Now, TemporaryPasswordValidity: time.Hour})
	l := identitytest.Login(1, "supervisor")
	provision(t, id, l, identitytest.TempPassword1)
	clk.Add(time.Hour + time.Second)
	if _, err := id.SignIn(context.Background(), l.Email, identitytest.TempPassword1); !errors.Is(err, localid.ErrTemporaryPasswordExpired) {
		t.Errorf("after the configured hour: %v", err)
	}
}

func TestPolicyNamesTheRule(t *testing.T) {
	ctx := context.Background()
	id := open(t, localid.Options{})
	l := identitytest.Login(1, "supervisor")
	provision(t, id, l, identitytest.TempPassword1)
	session := challenge(t, id, l.Email, identitytest.TempPassword1)
	cases := []struct{ pw, rule string }{
		{"Sh0rt!pw", "at least 12 characters"},
		{"no-upper-case-1", "upper-case letter"},
		{"NO-LOWER-CASE-1", "lower-case letter"},
		{"No-Digits-Here!", "digit"},
		{"NoSymbols12345", "symbol"},
		{"Aa1!" + strings.Repeat("x", 69), "at most 72 bytes"},
	}
	for _, c := range cases {
		_, err := id.RespondNewPassword(ctx, l.Email, session, c.pw)
		var pe *localid.PolicyError
		if !errors.As(err, &pe) || !strings.Contains(pe.Rule, c.rule) {
			t.Errorf("new password %q: %v, want a PolicyError naming %q", c.pw, err, c.rule)
		}
		if strings.Contains(err.Error(), c.pw) {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
	// Refusals leave the session open for another try.
	if _, err := id.RespondNewPassword(ctx, l.Email, session, identitytest.OwnPassword); err != nil {
		t.Fatalf("a good password after refused ones: %v", err)
	}
}

func TestProvisionRefusesBadInput(t *testing.T) {
	id := open(t, localid.Options{})
	l := identitytest.Login(1, "supervisor")
	err := id.Provision(context.Background(), l, "short")
	if reason, ok := release.IsPermanent(err); !ok || reason != localid.ReasonPassword {
		t.Errorf("provision with a policy-breaking temporary password: %v", err)
	}
	for _, email := range []string{"", "no-at-sign", "Ann <ann@example.com>", "a@b.com, c@d.com"} {
		l.Email = email
		err := id.Provision(context.Background(), l, identitytest.TempPassword1)
		if reason, ok := release.IsPermanent(err); !ok || reason != localid.ReasonEmail {
			t.Errorf("provision %q: %v, want permanent %q", email, err, localid.ReasonEmail)
		}
	}
}

func TestSessionSingleUse(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	id := open(t, localid.Options{Now: clk.Now})
	l, m := identitytest.Login(1, "supervisor"), identitytest.Login(2, "supervisor")
	provision(t, id, l, identitytest.TempPassword1)
	provision(t, id, m, identitytest.TempPassword1)

	t.Run("used once", func(t *testing.T) {
		s := challenge(t, id, m.Email, identitytest.TempPassword1)
		if _, err := id.RespondNewPassword(ctx, m.Email, s, identitytest.OwnPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := id.RespondNewPassword(ctx, m.Email, s, "Another-Passw0rd!"); !errors.Is(err, localid.ErrBadSession) {
			t.Errorf("second use: %v, want ErrBadSession", err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if _, err := id.RespondNewPassword(ctx, l.Email, "made-up", identitytest.OwnPassword); !errors.Is(err, localid.ErrBadSession) {
			t.Errorf("unknown session: %v", err)
		}
	})
	t.Run("another user's", func(t *testing.T) {
		s := challenge(t, id, l.Email, identitytest.TempPassword1)
		if _, err := id.RespondNewPassword(ctx, m.Email, s, identitytest.OwnPassword); !errors.Is(err, localid.ErrBadSession) {
			t.Errorf("session of %s answered for %s: %v", l.Email, m.Email, err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		s := challenge(t, id, l.Email, identitytest.TempPassword1)
		clk.Add(localid.SessionValidity + time.Second)
		if _, err := id.RespondNewPassword(ctx, l.Email, s, identitytest.OwnPassword); !errors.Is(err, localid.ErrBadSession) {
			t.Errorf("session after 3 minutes: %v", err)
		}
	})
	t.Run("outdated by a new invitation", func(t *testing.T) {
		s := challenge(t, id, l.Email, identitytest.TempPassword1)
		provision(t, id, l, identitytest.TempPassword2)
		if _, err := id.RespondNewPassword(ctx, l.Email, s, identitytest.OwnPassword); !errors.Is(err, localid.ErrBadSession) {
			t.Errorf("session of the old invitation: %v", err)
		}
	})
	t.Run("suspended meanwhile", func(t *testing.T) {
		s := challenge(t, id, l.Email, identitytest.TempPassword2)
		if err := id.Suspend(ctx, l.Email); err != nil {
			t.Fatal(err)
		}
		if _, err := id.RespondNewPassword(ctx, l.Email, s, identitytest.OwnPassword); err == nil {
			t.Error("a suspended user set a password")
		}
	})
	t.Run("concurrent answers", func(t *testing.T) {
		n := identitytest.Login(3, "supervisor")
		provision(t, id, n, identitytest.TempPassword1)
		s := challenge(t, id, n.Email, identitytest.TempPassword1)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for k := range errs {
			wg.Go(func() { _, errs[k] = id.RespondNewPassword(ctx, n.Email, s, identitytest.OwnPassword) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, localid.ErrBadSession):
				t.Errorf("losing answer: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d answers succeeded, want 1", ok)
		}
	})
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	id := open(t, localid.Options{Now: clk.Now})
	l := identitytest.Login(1, "supervisor")
	provision(t, id, l, identitytest.TempPassword1)
	tok := confirm(t, id, l.Email, identitytest.TempPassword1, identitytest.OwnPassword)
	if tok.ExpiresIn != 3600 || tok.IDToken == "" || tok.AccessToken == "" || tok.IDToken == tok.AccessToken {
		t.Fatalf("tokens %+v", tok)
	}

	c, ok := id.Claims(tok.IDToken)
	if !ok {
		t.Fatal("the ID token is not accepted")
	}
	want := map[string]string{
		"email": l.Email, "custom:opsos_user_id": l.UserID, "cognito:groups": "[supervisor]", "token_use": "id",
		"given_name": l.FirstName, "family_name": l.LastName, "email_verified": "true",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("id claim %s = %q, want %q", k, c[k], v)
		}
	}
	if c["sub"] == "" || c["sub"] != c["cognito:username"] {
		t.Errorf("sub %q, cognito:username %q", c["sub"], c["cognito:username"])
	}
	a, ok := id.Claims(tok.AccessToken)
	if !ok || a["token_use"] != "access" || a["sub"] != c["sub"] || a["cognito:groups"] != "[supervisor]" {
		t.Errorf("access claims %v", a)
	}
	if _, has := a["email"]; has {
		t.Error("the access token carries the email, which Cognito's does not")
	}
	c["email"] = "tampered@example.com"
	if again, _ := id.Claims(tok.IDToken); again["email"] != l.Email {
		t.Error("changing the returned claims changed the token's")
	}
	if _, ok := id.Claims("not-a-token"); ok {
		t.Error("a made-up token is accepted")
	}

	// Tokens run out after the TTL.
	clk.Add(time.Hour + time.Second)
	if _, ok := id.Claims(tok.IDToken); ok {
		t.Error("the ID token works after an hour")
	}

	// Suspend signs out everywhere; Enable does not bring tokens back.
	res, err := id.SignIn(ctx, l.Email, identitytest.OwnPassword)
	if err != nil || res.Tokens == nil {
		t.Fatalf("sign in: %+v, %v", res, err)
	}
	if err := id.Suspend(ctx, l.Email); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{res.Tokens.IDToken, res.Tokens.AccessToken} {
		if _, ok := id.Claims(tk); ok {
			t.Error("a token works after Suspend")
		}
	}
	if _, err := id.SignIn(ctx, l.Email, identitytest.OwnPassword); !errors.Is(err, localid.ErrUserDisabled) {
		t.Errorf("sign in while suspended: %v, want ErrUserDisabled", err)
	}
	if _, err := id.SignIn(ctx, l.Email, "Wrong-Passw0rd!"); !errors.Is(err, localid.ErrWrongCredentials) {
		t.Errorf("wrong password while suspended: %v, want ErrWrongCredentials", err)
	}
	if err := id.Enable(ctx, l.Email); err != nil {
		t.Fatal(err)
	}
	if _, ok := id.Claims(res.Tokens.IDToken); ok {
		t.Error("a token revoked by Suspend works again after Enable")
	}
	res, err = id.SignIn(ctx, l.Email, identitytest.OwnPassword)
	if err != nil || res.Tokens == nil {
		t.Fatalf("sign in after enable: %+v, %v", res, err)
	}
	if _, ok := id.Claims(res.Tokens.IDToken); !ok {
		t.Error("a new token after Enable is refused")
	}

	// A role change reaches the next sign-in's tokens.
	if err := id.SetGroup(ctx, l.Email, "administrator"); err != nil {
		t.Fatal(err)
	}
	res, _ = id.SignIn(ctx, l.Email, identitytest.OwnPassword)
	if c, _ := id.Claims(res.Tokens.IDToken); c["cognito:groups"] != "[administrator]" {
		t.Errorf("groups after the move %q", c["cognito:groups"])
	}
}

func TestPostAuthenticationOnce(t *testing.T) {
	ctx := context.Background()
	type call struct{ userID, email string }
	var mu sync.Mutex
	var calls []call
	id := open(t, localid.Options{PostAuthentication: func(ctx context.Context, userID, email string) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{userID, email})
		return nil
	}})
	l := identitytest.Login(1, "supervisor")
	provision(t, id, l, identitytest.TempPassword1)
	if _, err := id.SignIn(ctx, l.Email, identitytest.TempPassword1); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Fatalf("called before the challenge was answered: %v", calls)
	}
	confirm(t, id, l.Email, identitytest.TempPassword1, identitytest.OwnPassword)
	for range 3 {
		if _, err := id.SignIn(ctx, l.Email, identitytest.OwnPassword); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0] != (call{l.UserID, l.Email}) {
		t.Errorf("post-authentication calls %v, want one with %s %s", calls, l.UserID, l.Email)
	}
}

func TestPostAuthenticationFailureDoesNotRefuse(t *testing.T) {
	id := open(t, localid.Options{PostAuthentication: func(context.Context, string, string) error {
		return errors.New("store unavailable")
	}})
	l := identitytest.Login(1, "supervisor")
	provision(t, id, l, identitytest.TempPassword1)
	tok := confirm(t, id, l.Email, identitytest.TempPassword1, identitytest.OwnPassword)
	if _, ok := id.Claims(tok.IDToken); !ok {
		t.Error("signed-in user's token refused")
	}
}

func TestEmailIgnoresCase(t *testing.T) {
	ctx := context.Background()
	id := open(t, localid.Options{})
	l := identitytest.Login(1, "supervisor")
	l.Email = "Ann.Lee@Example.com"
	provision(t, id, l, identitytest.TempPassword1)
	challenge(t, id, "ann.lee@example.com", identitytest.TempPassword1)
	if st, _ := id.State(ctx, "ANN.LEE@EXAMPLE.COM"); st.Status != release.LoginForceChangePassword {
		t.Errorf("state by another case: %+v", st)
	}
}

func TestUnknownUserIsWrongCredentials(t *testing.T) {
	id := open(t, localid.Options{})
	if _, err := id.SignIn(context.Background(), "nobody@example.com", identitytest.TempPassword1); !errors.Is(err, localid.ErrWrongCredentials) {
		t.Errorf("sign in without a login: %v, want ErrWrongCredentials", err)
	}
}

func TestNoPasswordOnDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logins.db")
	id, err := localid.Open(path, localid.Options{HashCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	l := identitytest.Login(1, "supervisor")
	provision(t, id, l, identitytest.TempPassword1)
	provision(t, id, identitytest.Login(2, "supervisor"), identitytest.TempPassword2)
	confirm(t, id, l.Email, identitytest.TempPassword1, identitytest.OwnPassword)
	if err := id.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{identitytest.TempPassword1, identitytest.TempPassword2, identitytest.OwnPassword} {
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("%q is in the file in clear", pw)
		}
	}

	// Reopened, the logins are all there; the tokens (memory only) are not.
	id, err = localid.Open(path, localid.Options{HashCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	if res, err := id.SignIn(context.Background(), l.Email, identitytest.OwnPassword); err != nil || res.Tokens == nil {
		t.Errorf("own password after reopening: %+v, %v", res, err)
	}
	challenge(t, id, identitytest.Login(2, "").Email, identitytest.TempPassword2)
}

func TestSecondOpenFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logins.db")
	id, err := localid.Open(path, localid.Options{HashCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	// bbolt's file lock is per open file, so a second Open in this
	// process meets it just as a second process would.
	done := make(chan error, 1)
	go func() {
		id2, err := localid.Open(path, localid.Options{HashCost: bcrypt.MinCost})
		if err == nil {
			id2.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, localid.ErrInUse) || !strings.Contains(err.Error(), "OPSOS_DATA_DIR") {
			t.Errorf("second open: %v, want ErrInUse naming OPSOS_DATA_DIR", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("second open hangs")
	}
}
