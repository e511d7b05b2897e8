// Package localid is the embedded login of local mode. It stands in for
// both sides of Cognito: the admin side the release worker drives
// (release.Identity: create, reset, group, disable, enable) and the sign-in
// side that Cognito's managed login gives users (password, then the
// NEW_PASSWORD_REQUIRED challenge on a first sign-in, then tokens), with
// the post-authentication trigger called when a user sets their password.
//
// Logins live in their own bbolt file, one JSON record per lower-case
// email in the bucket "logins". Passwords are kept only as bcrypt hashes:
// while a login is FORCE_CHANGE_PASSWORD its hash is the temporary
// password's, afterwards the user's own, as Cognito keeps one password per
// user. Challenge sessions and tokens are random opaque strings kept in
// memory only: a restart signs everyone out, which local mode can afford.
package localid

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"golang.org/x/crypto/bcrypt"

	"github.com/opsos/onboarding/internal/password"
	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/user"
)

// ChallengeNewPasswordRequired is the challenge of a first sign-in, by
// Cognito's name.
const ChallengeNewPasswordRequired = "NEW_PASSWORD_REQUIRED"

// Defaults and fixed lifetimes, as Cognito has them.
const (
	DefaultTemporaryPasswordValidity = 7 * 24 * time.Hour
	DefaultTokenTTL                  = time.Hour
	// SessionValidity is how long a NEW_PASSWORD_REQUIRED session can be
	// answered (Cognito: three minutes).
	SessionValidity = 3 * time.Minute
)

// Claim values that do not come from the login.
const (
	issuer   = "opsos-local"
	clientID = "opsos-local"
)

const (
	bucketLogins = "logins"
	// openTimeout bounds the wait for the file lock: bbolt would otherwise
	// block forever while another process holds the file.
	openTimeout = time.Second
	// maxPasswordBytes is bcrypt's limit; beyond it bcrypt refuses to hash.
	maxPasswordBytes = 72
	tokenBytes       = 32
)

// Errors of sign-in, for the local login page to turn into answers.
var (
	// ErrWrongCredentials: the password is wrong, or there is no login
	// (a user in Introduction Mode). The two are not told apart, so that
	// the page reveals nothing about which addresses have logins.
	ErrWrongCredentials = errors.New("incorrect email address or password")
	// ErrUserDisabled: the login is suspended (hold turned back on).
	ErrUserDisabled = errors.New("the login is disabled")
	// ErrTemporaryPasswordExpired: the invitation's password is too old;
	// a manager must resend the invitation.
	ErrTemporaryPasswordExpired = errors.New("the temporary password has expired; ask a manager to resend the invitation")
	// ErrBadSession: the challenge session is unknown, used, expired, for
	// another email, or outdated by a newer invitation.
	ErrBadSession = errors.New("the sign-in session is invalid or has expired; sign in again")
	// ErrInUse: another process has the file open.
	ErrInUse = errors.New("the local logins file is in use by another opsos process")
)

// PolicyError is a new password that breaks the password policy; Rule
// says which rule, in words for the user.
type PolicyError struct {
	Rule string
}

func (e *PolicyError) Error() string { return e.Rule }

// Reasons of Provision's permanent failures, for the manager who reads
// them on the user.
const (
	ReasonEmail    = "the email address is not a valid email address; correct it, then resend the invitation"
	ReasonPassword = "the generated temporary password breaks the local login's password policy; an administrator must align the policies, then resend the invitation"
)

// Options configure an Identity. Zero fields take the defaults.
type Options struct {
	// Now is the clock (time.Now).
	Now func() time.Time
	// Policy is enforced on the passwords users choose and on temporary
	// passwords (password.Default(); a zero Policy means the default).
	Policy password.Policy
	// TemporaryPasswordValidity is how long a temporary password works
	// (DefaultTemporaryPasswordValidity).
	TemporaryPasswordValidity time.Duration
	// TokenTTL is the lifetime of tokens (DefaultTokenTTL).
	TokenTTL time.Duration
	// Rand makes subs, sessions and tokens (crypto/rand.Reader).
	Rand io.Reader
	// PostAuthentication is called once each time a user completes the
	// new-password challenge, as Cognito calls its post-authentication
	// trigger. Its failure is logged, not returned: the user has set their
	// password and is signed in either way.
	PostAuthentication func(ctx context.Context, userID, email string) error
	// HashCost is bcrypt's cost (bcrypt.DefaultCost); tests lower it.
	HashCost int
	// Logger receives the failures of PostAuthentication (discarded).
	Logger *slog.Logger
}

// Tokens are what a successful sign-in returns. They are opaque: Claims
// reads them.
type Tokens struct {
	IDToken     string `json:"idToken"`
	AccessToken string `json:"accessToken"`
	// ExpiresIn is the tokens' lifetime in seconds.
	ExpiresIn int `json:"expiresIn"`
}

// SignInResult is either a challenge (ChallengeName and Session set) or
// Tokens.
type SignInResult struct {
	ChallengeName string  `json:"challengeName,omitempty"`
	Session       string  `json:"session,omitempty"`
	Tokens        *Tokens `json:"tokens,omitempty"`
}

// Identity is the embedded login. It is safe for concurrent use.
type Identity struct {
	db   *bolt.DB
	opts Options
	// decoy is a hash compared against when there is no login, so that a
	// wrong address takes as long as a wrong password.
	decoy []byte

	randMu sync.Mutex

	mu       sync.Mutex
	sessions map[string]session
	tokens   map[string]token
	// signOuts counts each email's global sign-outs. A token remembers the
	// count at its sign-in and works only while it is unchanged, which
	// also kills tokens whose sign-in raced a Suspend.
	signOuts map[string]uint64
}

var _ release.Identity = (*Identity)(nil)

type session struct {
	email   string
	expires time.Time
	// hash is the temporary password's hash the session was opened with:
	// a newer invitation changes it and so outdates the session.
	hash []byte
}

type token struct {
	email   string
	expires time.Time
	signOut uint64
	claims  map[string]string
}

// record is a login as stored.
type record struct {
	Email     string              `json:"email"`
	Sub       string              `json:"sub"`
	UserID    string              `json:"userId,omitempty"`
	FirstName string              `json:"firstName,omitempty"`
	LastName  string              `json:"lastName,omitempty"`
	Group     string              `json:"group,omitempty"`
	Status    release.LoginStatus `json:"status"`
	Enabled   bool                `json:"enabled"`
	Created   time.Time           `json:"created"`
	Modified  time.Time           `json:"modified"`
	// PasswordHash is bcrypt's hash of the temporary password while Status
	// is FORCE_CHANGE_PASSWORD, of the user's own once CONFIRMED.
	PasswordHash []byte `json:"passwordHash"`
	// PasswordSet is when the password was set; a temporary one expires
	// TemporaryPasswordValidity later.
	PasswordSet time.Time `json:"passwordSet"`
}

// Open opens, or creates, the logins file at path, creating its directory
// (mode 0700) if needed. A file held by another process is reported after
// a second, with ErrInUse, not waited on.
func Open(path string, opts Options) (*Identity, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Policy == (password.Policy{}) {
		opts.Policy = password.Default()
	}
	if opts.TemporaryPasswordValidity <= 0 {
		opts.TemporaryPasswordValidity = DefaultTemporaryPasswordValidity
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.HashCost == 0 {
		opts.HashCost = bcrypt.DefaultCost
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w; stop it or set OPSOS_DATA_DIR to another directory (%w)", path, ErrInUse, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte(bucketLogins))
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare %s: %w", path, err)
	}
	i := &Identity{
		db: db, opts: opts,
		sessions: map[string]session{}, tokens: map[string]token{}, signOuts: map[string]uint64{},
	}
	secret, err := i.random()
	if err == nil {
		i.decoy, err = bcrypt.GenerateFromPassword([]byte(secret), opts.HashCost)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return i, nil
}

// Close closes the file; every committed write is already on disk.
func (i *Identity) Close() error { return i.db.Close() }

// key is the login name: email addresses are compared in the users' own
// stored form (lower-case, NFC, IDNA domain), so a sign-in typed as
// user@Bücher.example finds user@xn--bcher-kva.example.
func key(email string) string { return user.NormalizeEmail(email) }

func (i *Identity) get(email string) (*record, error) {
	var r *record
	err := i.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketLogins)).Get([]byte(key(email)))
		if b == nil {
			return nil
		}
		r = &record{}
		return json.Unmarshal(b, r)
	})
	if err != nil {
		return nil, fmt.Errorf("read login: %w", err)
	}
	return r, nil
}

// update applies change to the login of email in one transaction. change
// gets nil when there is none, and returns the record to store.
func (i *Identity) update(email string, change func(r *record) (*record, error)) (*record, error) {
	var out *record
	err := i.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketLogins))
		var cur *record
		if v := b.Get([]byte(key(email))); v != nil {
			cur = &record{}
			if err := json.Unmarshal(v, cur); err != nil {
				return fmt.Errorf("decode login: %w", err)
			}
		}
		next, err := change(cur)
		if err != nil {
			return err
		}
		v, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode login: %w", err)
		}
		out = next
		return b.Put([]byte(key(email)), v)
	})
	return out, err
}

// modify is update for a login that must exist.
func (i *Identity) modify(email string, change func(r *record)) error {
	_, err := i.update(email, func(r *record) (*record, error) {
		if r == nil {
			return nil, release.ErrNoLogin
		}
		change(r)
		r.Modified = i.opts.Now().UTC()
		return r, nil
	})
	return err
}

// Provision creates the login with temporaryPassword, or resets it to that
// password (FORCE_CHANGE_PASSWORD, enabled, details and group brought up to
// date). Any earlier password — temporary or the user's own — and any open
// challenge session stop working. An address that is not one bare email
// address, or a temporary password that breaks the policy, is a permanent
// failure, as Cognito refuses both.
func (i *Identity) Provision(ctx context.Context, l release.Login, temporaryPassword string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local provision: %w", err)
	}
	if a, err := mail.ParseAddress(l.Email); err != nil || a.Name != "" || a.Address != l.Email {
		return release.Permanent(ReasonEmail, fmt.Errorf("local provision: %q is not one bare email address", l.Email))
	}
	if err := i.checkPolicy(temporaryPassword); err != nil {
		return release.Permanent(ReasonPassword, fmt.Errorf("local provision: %w", err))
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(temporaryPassword), i.opts.HashCost)
	if err != nil {
		return fmt.Errorf("local provision: hash password: %w", err)
	}
	sub, err := i.sub()
	if err != nil {
		return fmt.Errorf("local provision: %w", err)
	}
	now := i.opts.Now().UTC()
	_, err = i.update(l.Email, func(r *record) (*record, error) {
		if r == nil {
			r = &record{Sub: sub, Created: now}
		}
		r.Email, r.UserID, r.FirstName, r.LastName, r.Group = key(l.Email), l.UserID, l.FirstName, l.LastName, l.Group
		r.Status, r.Enabled, r.Modified = release.LoginForceChangePassword, true, now
		r.PasswordHash, r.PasswordSet = hash, now
		return r, nil
	})
	if err != nil {
		return fmt.Errorf("local provision: %w", err)
	}
	return nil
}

// SetGroup puts the login in group, its one group.
func (i *Identity) SetGroup(ctx context.Context, email, group string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local set group: %w", err)
	}
	if group == "" {
		return errors.New("local set group: the group name is empty")
	}
	if err := i.modify(email, func(r *record) { r.Group = group }); err != nil {
		return fmt.Errorf("local set group: %w", err)
	}
	return nil
}

// Suspend disables the login and signs it out everywhere: its tokens stop
// working at once and its open challenge sessions are refused.
func (i *Identity) Suspend(ctx context.Context, email string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local suspend: %w", err)
	}
	if err := i.modify(email, func(r *record) { r.Enabled = false }); err != nil {
		return fmt.Errorf("local suspend: %w", err)
	}
	// After the write: a sign-in that read the login before it holds the
	// old count, so its tokens are dead on arrival.
	k := key(email)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.signOuts[k]++
	for t, tok := range i.tokens {
		if tok.email == k {
			delete(i.tokens, t)
		}
	}
	for s, sess := range i.sessions {
		if sess.email == k {
			delete(i.sessions, s)
		}
	}
	return nil
}

// Enable enables the login; its password and group are as they were.
// Tokens revoked by Suspend stay revoked.
func (i *Identity) Enable(ctx context.Context, email string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local enable: %w", err)
	}
	if err := i.modify(email, func(r *record) { r.Enabled = true }); err != nil {
		return fmt.Errorf("local enable: %w", err)
	}
	return nil
}

// State reports the login; no login is Status LoginNone and no error. An
// expired temporary password is still FORCE_CHANGE_PASSWORD, as in
// Cognito.
func (i *Identity) State(ctx context.Context, email string) (release.LoginState, error) {
	if err := ctx.Err(); err != nil {
		return release.LoginState{}, fmt.Errorf("local state: %w", err)
	}
	r, err := i.get(email)
	if err != nil {
		return release.LoginState{}, fmt.Errorf("local state: %w", err)
	}
	if r == nil {
		return release.LoginState{Status: release.LoginNone}, nil
	}
	return release.LoginState{Status: r.Status, Enabled: r.Enabled, Created: r.Created}, nil
}

// Groups returns the groups the login is in: its role's, or none.
func (i *Identity) Groups(ctx context.Context, email string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local groups: %w", err)
	}
	r, err := i.get(email)
	if err != nil {
		return nil, fmt.Errorf("local groups: %w", err)
	}
	if r == nil {
		return nil, fmt.Errorf("local groups: %w", release.ErrNoLogin)
	}
	if r.Group == "" {
		return nil, nil
	}
	return []string{r.Group}, nil
}

// SignIn checks email and pw as the managed login page does. A login with
// a temporary password gets the NEW_PASSWORD_REQUIRED challenge and a
// session for RespondNewPassword; a confirmed one gets tokens. The
// password is checked before anything else, so that only someone who
// knows it learns that the login is disabled or the password expired.
func (i *Identity) SignIn(ctx context.Context, email, pw string) (SignInResult, error) {
	if err := ctx.Err(); err != nil {
		return SignInResult{}, fmt.Errorf("local sign-in: %w", err)
	}
	k := key(email)
	i.mu.Lock()
	signOut := i.signOuts[k]
	i.mu.Unlock()
	r, err := i.get(k)
	if err != nil {
		return SignInResult{}, fmt.Errorf("local sign-in: %w", err)
	}
	if r == nil {
		_ = bcrypt.CompareHashAndPassword(i.decoy, []byte(pw)) // same time as a wrong password
		return SignInResult{}, ErrWrongCredentials
	}
	if bcrypt.CompareHashAndPassword(r.PasswordHash, []byte(pw)) != nil {
		return SignInResult{}, ErrWrongCredentials
	}
	if !r.Enabled {
		return SignInResult{}, ErrUserDisabled
	}
	if r.Status == release.LoginConfirmed {
		t, err := i.issue(r, signOut)
		if err != nil {
			return SignInResult{}, fmt.Errorf("local sign-in: %w", err)
		}
		return SignInResult{Tokens: &t}, nil
	}
	if i.expired(r) {
		return SignInResult{}, ErrTemporaryPasswordExpired
	}
	id, err := i.random()
	if err != nil {
		return SignInResult{}, fmt.Errorf("local sign-in: %w", err)
	}
	now := i.opts.Now()
	i.mu.Lock()
	for s, sess := range i.sessions {
		if now.After(sess.expires) {
			delete(i.sessions, s)
		}
	}
	i.sessions[id] = session{email: k, expires: now.Add(SessionValidity), hash: r.PasswordHash}
	i.mu.Unlock()
	return SignInResult{ChallengeName: ChallengeNewPasswordRequired, Session: id}, nil
}

// RespondNewPassword answers the NEW_PASSWORD_REQUIRED challenge of
// session with newPassword, which becomes the user's own, and signs the
// user in. A password that breaks the policy is a *PolicyError and leaves
// the session open for another try; otherwise the session is used up,
// whatever the outcome. On success PostAuthentication is called.
func (i *Identity) RespondNewPassword(ctx context.Context, email, sessionID, newPassword string) (Tokens, error) {
	if err := ctx.Err(); err != nil {
		return Tokens{}, fmt.Errorf("local respond: %w", err)
	}
	k := key(email)
	now := i.opts.Now()
	i.mu.Lock()
	sess, ok := i.sessions[sessionID]
	signOut := i.signOuts[k]
	i.mu.Unlock()
	if !ok || sess.email != k || now.After(sess.expires) {
		return Tokens{}, ErrBadSession
	}
	if err := i.checkPolicy(newPassword); err != nil {
		return Tokens{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(newPassword), i.opts.HashCost)
	if err != nil {
		return Tokens{}, fmt.Errorf("local respond: hash password: %w", err)
	}
	// Take the session now: of two answers racing with it, one wins.
	i.mu.Lock()
	_, ok = i.sessions[sessionID]
	delete(i.sessions, sessionID)
	i.mu.Unlock()
	if !ok {
		return Tokens{}, ErrBadSession
	}
	r, err := i.update(k, func(r *record) (*record, error) {
		switch {
		case r == nil, r.Status != release.LoginForceChangePassword, !bytes.Equal(r.PasswordHash, sess.hash):
			return nil, ErrBadSession // deleted, already confirmed, or invited anew meanwhile
		case !r.Enabled:
			return nil, ErrUserDisabled
		case i.expired(r):
			return nil, ErrTemporaryPasswordExpired
		}
		r.PasswordHash, r.PasswordSet = hash, now.UTC()
		r.Status, r.Modified = release.LoginConfirmed, now.UTC()
		return r, nil
	})
	if errors.Is(err, ErrBadSession) || errors.Is(err, ErrUserDisabled) || errors.Is(err, ErrTemporaryPasswordExpired) {
		return Tokens{}, err
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("local respond: %w", err)
	}
	t, err := i.issue(r, signOut)
	if err != nil {
		return Tokens{}, fmt.Errorf("local respond: %w", err)
	}
	if hook := i.opts.PostAuthentication; hook != nil {
		if err := hook(ctx, r.UserID, r.Email); err != nil {
			i.opts.Logger.ErrorContext(ctx, "post-authentication failed", "userId", r.UserID, "error", err.Error())
		}
	}
	return t, nil
}

// Claims returns the claims of a valid, unexpired token, as API Gateway's
// JWT authorizer passes them on (strings; groups as "[a b]"). ID tokens
// carry the user's attributes (email, custom:opsos_user_id); access tokens,
// as in Cognito, do not. Its signature is gateway.Authorizer's.
func (i *Identity) Claims(tok string) (map[string]string, bool) {
	now := i.opts.Now()
	i.mu.Lock()
	defer i.mu.Unlock()
	t, ok := i.tokens[tok]
	if !ok {
		return nil, false
	}
	if now.After(t.expires) {
		delete(i.tokens, tok)
		return nil, false
	}
	if t.signOut != i.signOuts[t.email] {
		return nil, false
	}
	return maps.Clone(t.claims), true
}

// issue makes an ID and an access token for r. signOut is the email's
// sign-out count when the sign-in began; a Suspend since then refuses it.
func (i *Identity) issue(r *record, signOut uint64) (Tokens, error) {
	idTok, err := i.random()
	if err != nil {
		return Tokens{}, err
	}
	accessTok, err := i.random()
	if err != nil {
		return Tokens{}, err
	}
	now := i.opts.Now()
	exp := now.Add(i.opts.TokenTTL)
	common := map[string]string{
		"sub":       r.Sub,
		"iss":       issuer,
		"iat":       strconv.FormatInt(now.Unix(), 10),
		"auth_time": strconv.FormatInt(now.Unix(), 10),
		"exp":       strconv.FormatInt(exp.Unix(), 10),
	}
	if r.Group != "" {
		common["cognito:groups"] = "[" + r.Group + "]"
	}
	id := maps.Clone(common)
	maps.Copy(id, map[string]string{
		"token_use": "id", "aud": clientID, "cognito:username": r.Sub,
		"email": r.Email, "email_verified": "true",
	})
	for k, v := range map[string]string{user.LoginAttrUserID: r.UserID, user.LoginAttrGivenName: r.FirstName, user.LoginAttrFamilyName: r.LastName} {
		if v != "" {
			id[k] = v
		}
	}
	access := maps.Clone(common)
	maps.Copy(access, map[string]string{
		"token_use": "access", "client_id": clientID, "username": r.Sub, "scope": "aws.cognito.signin.user.admin",
	})

	i.mu.Lock()
	defer i.mu.Unlock()
	if i.signOuts[r.Email] != signOut {
		return Tokens{}, ErrUserDisabled
	}
	for t, tok := range i.tokens {
		if now.After(tok.expires) {
			delete(i.tokens, t)
		}
	}
	i.tokens[idTok] = token{email: r.Email, expires: exp, signOut: signOut, claims: id}
	i.tokens[accessTok] = token{email: r.Email, expires: exp, signOut: signOut, claims: access}
	return Tokens{IDToken: idTok, AccessToken: accessTok, ExpiresIn: int(i.opts.TokenTTL / time.Second)}, nil
}

func (i *Identity) expired(r *record) bool {
	return r.Status == release.LoginForceChangePassword &&
		i.opts.Now().After(r.PasswordSet.Add(i.opts.TemporaryPasswordValidity))
}

// checkPolicy adds bcrypt's limit to the policy: a longer password could
// not be hashed (Cognito allows 256 characters).
func (i *Identity) checkPolicy(pw string) error {
	if err := i.opts.Policy.Check(pw); err != nil {
		return &PolicyError{Rule: err.Error()}
	}
	if len(pw) > maxPasswordBytes {
		return &PolicyError{Rule: fmt.Sprintf("the password must be at most %d bytes long (accented letters and symbols beyond ASCII count as two or more)", maxPasswordBytes)}
	}
	return nil
}

// random returns a fresh opaque identifier from Options.Rand, which need
// not be safe for concurrent use.
func (i *Identity) random() (string, error) {
	b := make([]byte, tokenBytes)
	i.randMu.Lock()
	_, err := io.ReadFull(i.opts.Rand, b)
	i.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sub returns a new login id, shaped like Cognito's (a UUID).
func (i *Identity) sub() (string, error) {
	i.randMu.Lock()
	u, err := uuid.NewRandomFromReader(i.opts.Rand)
	i.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("new sub: %w", err)
	}
	return u.String(), nil
}
