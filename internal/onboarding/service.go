// Package onboarding holds the use cases of adding system users: create in
// Introduction Mode, configure, release access, hold it again, and read the
// state and history. It authorizes the acting manager and records an audit
// entry for every change. It never calls Cognito or SES: releasing only
// writes the table, and the release worker acts on the table's stream.
package onboarding

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/user"
)

// Identity is who is calling, as the door they came through knows them:
// the JWT authorizer's claims, the Slack user, or the local CLI.
type Identity struct {
	// UserID is the OpsOS user id when the door knows it (the
	// custom:opsos_user_id claim); otherwise SlackUserID, then Email is
	// used.
	UserID string
	Email  string
	// SlackUserID is the Slack user who typed the command, when the door
	// is Slack. It finds the OpsOS user linked to it; Email, when Slack
	// also told it, must then be that user's.
	SlackUserID string
	Source      Source
}

// Actor is a manager that Authorize let in, acting through a source. Only
// Authorize makes one, so holding an Actor proves the check was done. An
// Actor is one request's: it carries the roles read when it was made, so
// the next request authorizes again and sees the roles as they are then.
// Every role write an Actor makes is conditioned on those roles still
// being the stored ones (Audit.RolesVersion): a role changed after
// Authorize refuses it with ErrRolesChanged.
type Actor struct {
	user   user.User
	source Source
	// slackUserID is the Slack user the actor came as, if any.
	slackUserID string
	// roles are the roles in force when the actor was authorized: one
	// read of the roles serves a whole request, its checks and its answer.
	roles *access.Catalogue
}

// User returns the acting manager.
func (a Actor) User() user.User { return a.user }

// Source returns the door the actor came through.
func (a Actor) Source() Source { return a.source }

// SlackUserID returns the Slack user the actor came as, "" when the actor
// did not come through Slack.
func (a Actor) SlackUserID() string { return a.slackUserID }

// Roles returns the roles in force when the actor was authorized, the
// ones every use case of the request decides by, so that an answer shows
// users as the request saw them without reading the roles again.
func (a Actor) Roles() *access.Catalogue { return a.roles }

// ErrSlackUserUnknown is the answer to a Slack user linked to no OpsOS user
// when Slack did not say who they are by email either, so that the Slack
// door can tell them how to get linked.
var ErrSlackUserUnknown = &user.Error{Code: user.CodeForbidden, Message: "your Slack account is not linked to an OpsOS user"}

// ErrSlackUserIDTaken is the answer to linking a Slack user who is already
// linked to another OpsOS user: one Slack user must map to one manager.
var ErrSlackUserIDTaken = &user.Error{Code: user.CodeConflict, Message: "the Slack account is already linked to another OpsOS user",
	Fields: []user.FieldError{{Field: "slackUserId", Message: "is already linked to another user"}}}

// Config holds the service's settings.
type Config struct {
	// PhoneRegion is the region assumed for phone numbers without a
	// country code.
	PhoneRegion string
	// IdempotencyTTL is how long a create's idempotency key is honoured.
	IdempotencyTTL time.Duration
	// Logins, when set, is asked about a user's login for the status
	// diagnosis.
	Logins Logins
	// TemporaryPasswordValidity is how long an emailed temporary password
	// works (the user pool's setting).
	TemporaryPasswordValidity time.Duration
}

// Logins reports what the identity provider knows of a login.
type Logins interface {
	LoginFacts(ctx context.Context, email string) (user.LoginFacts, error)
}

// Service runs the onboarding use cases.
type Service struct {
	logins   Logins
	validity time.Duration
	store    Store
	// base holds the product's permissions, the Planner Worker marker and
	// the default roles seeded into an empty store; the roles in force
	// are the stored ones (Catalogue).
	base        *access.Catalogue
	phoneRegion string
	now         func() time.Time
	newID       func() string
	idemTTL     time.Duration
}

// New returns a service on store. base gives the permissions, the Planner
// Worker marker and the default roles (its roles are seeded, not used).
// now and newID are injected so that time and identifiers are exact in
// tests.
func New(store Store, base *access.Catalogue, cfg Config, now func() time.Time, newID func() string) *Service {
	ttl := cfg.IdempotencyTTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	validity := cfg.TemporaryPasswordValidity
	if validity <= 0 {
		validity = 7 * 24 * time.Hour
	}
	return &Service{
		logins: cfg.Logins, validity: validity,
		store: store, base: base, phoneRegion: cfg.PhoneRegion,
		now: func() time.Time { return now().UTC() }, newID: newID, idemTTL: ttl,
	}
}

// Catalogue returns the roles in force, as stored now, with the
// product's permissions. It reads the store every time: roles are not
// kept across use cases, so that a change to a role reaches every holder
// at once, on every instance. A store with no roles at all (a table made
// before roles were stored) gets the default roles first.
func (s *Service) Catalogue(ctx context.Context) (*access.Catalogue, error) {
	roles, version, err := s.store.ListRoles(ctx)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	if len(roles) == 0 {
		if _, err := s.store.SeedRoles(ctx, s.base.Roles(), s.now()); err != nil {
			return nil, fmt.Errorf("seed the default roles: %w", err)
		}
		if roles, version, err = s.store.ListRoles(ctx); err != nil {
			return nil, fmt.Errorf("read roles: %w", err)
		}
	}
	return s.base.WithRoles(roles, version), nil
}

// rolesOf returns the roles actor was authorized with, or reads them for
// an actor who was not authorized (the system's).
func (s *Service) rolesOf(ctx context.Context, actor Actor) (*access.Catalogue, error) {
	if actor.roles != nil {
		return actor.roles, nil
	}
	return s.Catalogue(ctx)
}

// rules returns the user rules with the roles of cat.
func (s *Service) rules(cat *access.Catalogue) user.Rules {
	return user.Rules{Catalogue: cat, PhoneRegion: s.phoneRegion}
}

// SeedRoles stores the default roles that were never stored, leaving an
// organisation's edits, renames and deletions as they are.
func (s *Service) SeedRoles(ctx context.Context) error {
	if _, err := s.store.SeedRoles(ctx, s.base.Roles(), s.now()); err != nil {
		return fmt.Errorf("seed the default roles: %w", err)
	}
	return nil
}

// Authorize resolves id to an OpsOS user allowed to manage users: by user
// id, else by the Slack user linked to a user (or, for a Slack user not
// linked to anyone, by email), else by email.
func (s *Service) Authorize(ctx context.Context, id Identity) (Actor, error) {
	var (
		u   user.User
		err error
	)
	slackID := user.NormalizeSlackUserID(id.SlackUserID)
	switch {
	case id.UserID != "":
		u, err = s.store.GetUser(ctx, id.UserID)
	case slackID != "":
		u, err = s.userBySlack(ctx, slackID, id.Email)
	case id.Email != "":
		u, err = s.userByEmail(ctx, id.Email)
	default:
		return Actor{}, user.Errorf(user.CodeUnauthorized, "sign in to use OpsOS")
	}
	var refused *user.Error
	switch {
	case errors.Is(err, user.ErrNotFound):
		return Actor{}, user.Errorf(user.CodeForbidden, "you are not an OpsOS user")
	case errors.As(err, &refused) && refused.Code == user.CodeForbidden:
		return Actor{}, err
	case err != nil:
		return Actor{}, fmt.Errorf("authorize: %w", err)
	}
	if id.UserID != "" && id.Email != "" && user.NormalizeEmail(id.Email) != u.Email {
		return Actor{}, user.Errorf(user.CodeForbidden, "your sign-in does not match your OpsOS user")
	}
	// Active, not merely invited: a manager acts once they have signed in
	// and set their own password, through every door (a Slack link alone
	// must not let a released but unused account act).
	if u.HoldInvite || u.Status != user.StatusActive {
		return Actor{}, user.Errorf(user.CodeForbidden, "your OpsOS access is not active (status %s)", u.Status)
	}
	cat, err := s.Catalogue(ctx)
	if err != nil {
		return Actor{}, fmt.Errorf("authorize: %w", err)
	}
	if !cat.Has(u, access.UsersManage) {
		return Actor{}, user.Errorf(user.CodeForbidden, "you need the %s permission to manage users", access.UsersManage)
	}
	return Actor{user: u, source: id.Source, slackUserID: slackID, roles: cat}, nil
}

// userBySlack finds the user linked to the Slack user slackID. A Slack
// user linked to nobody is found by email, when Slack told it, unless that
// user is linked to another Slack user.
func (s *Service) userBySlack(ctx context.Context, slackID, email string) (user.User, error) {
	// Two, not one: a link is checked before it is written, not guarded,
	// so a race can leave two users with one Slack user; that must be
	// noticed, not resolved by picking one.
	p, err := s.store.ListUsers(ctx, ListQuery{SlackUserID: slackID, Limit: 2})
	if err != nil {
		return user.User{}, err
	}
	switch len(p.Users) {
	case 0:
	case 1:
		u := p.Users[0]
		if email != "" && user.NormalizeEmail(email) != u.Email {
			return user.User{}, user.Errorf(user.CodeForbidden, "your Slack account is linked to another OpsOS user")
		}
		return u, nil
	default:
		return user.User{}, user.Errorf(user.CodeForbidden,
			"your Slack account is linked to more than one OpsOS user, so it is not clear who you are: ask an administrator to unlink it from all but one")
	}
	if email == "" {
		return user.User{}, ErrSlackUserUnknown
	}
	u, err := s.userByEmail(ctx, email)
	if err != nil {
		return user.User{}, err
	}
	if u.SlackUserID != "" && u.SlackUserID != slackID {
		return user.User{}, user.Errorf(user.CodeForbidden, "your OpsOS user is linked to another Slack account")
	}
	return u, nil
}

// checkSlackFree refuses u's Slack user when another user is linked to it.
func (s *Service) checkSlackFree(ctx context.Context, u user.User) error {
	if u.SlackUserID == "" {
		return nil
	}
	p, err := s.store.ListUsers(ctx, ListQuery{SlackUserID: u.SlackUserID, Limit: 2})
	if err != nil {
		return fmt.Errorf("find users linked to Slack user %s: %w", u.SlackUserID, err)
	}
	for _, o := range p.Users {
		if o.ID != u.ID {
			return ErrSlackUserIDTaken
		}
	}
	return nil
}

func (s *Service) userByEmail(ctx context.Context, email string) (user.User, error) {
	p, err := s.store.ListUsers(ctx, ListQuery{Email: user.NormalizeEmail(email), Limit: 1})
	if err != nil {
		return user.User{}, err
	}
	if len(p.Users) == 0 {
		return user.User{}, user.ErrNotFound
	}
	return p.Users[0], nil
}

// Create adds a user, in Introduction Mode unless the draft turns Hold
// Invite off. With an idempotency key, a repeat of the same request returns
// the user first created; a different request under the same key fails.
func (s *Service) Create(ctx context.Context, actor Actor, d user.Draft, idemKey string) (u user.User, replayed bool, err error) {
	var idem *Idempotency
	if idemKey != "" {
		// Keys are per actor: one manager's key never replays another's user.
		key := actor.user.ID + ":" + idemKey
		fp := fingerprint(d)
		if rec, ok, err := s.store.Idempotency(ctx, key, s.now()); err != nil {
			return user.User{}, false, fmt.Errorf("create: %w", err)
		} else if ok {
			return replay(rec, fp)
		}
		idem = &Idempotency{Key: key, Fingerprint: fp}
	}
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return user.User{}, false, fmt.Errorf("create: %w", err)
	}
	now := s.now()
	u, err = s.rules(cat).New(d, s.newID(), actor.user.Email, now)
	if err != nil {
		return user.User{}, false, err
	}
	if err := s.checkAuthority(ctx, cat, actor, user.User{}, u, "create"); err != nil {
		return user.User{}, false, err
	}
	if idem != nil {
		idem.User, idem.CreatedAt, idem.ExpiresAt = u, now, now.Add(s.idemTTL)
	}
	action := "create"
	if !u.HoldInvite {
		action = "create+release"
	}
	err = s.checkSlackFree(ctx, u)
	if err == nil {
		err = s.store.CreateUser(ctx, u, s.audit(actor, u, action, initialChanges(u), now), idem)
	}
	if idem != nil && (errors.Is(err, ErrIdempotencyKeyUsed) || errors.Is(err, user.ErrEmailTaken) ||
		errors.Is(err, ErrSlackUserIDTaken) || errors.Is(err, ErrWriteConflict)) {
		// A concurrent request with the same key won the race.
		rec, ok, gerr := s.store.Idempotency(ctx, idem.Key, now)
		if gerr == nil && ok {
			return replay(rec, idem.Fingerprint)
		}
	}
	if err != nil {
		return user.User{}, false, fmt.Errorf("create user %s: %w", u.Email, err)
	}
	return u, false, nil
}

func replay(rec Idempotency, fp string) (user.User, bool, error) {
	if rec.Fingerprint != fp {
		return user.User{}, false, user.Errorf(user.CodeUnprocessable,
			"this Idempotency-Key was already used with a different request; use a new key for a new user")
	}
	return rec.User, true, nil
}

// fingerprint identifies a create request by its meaning, so that the same
// request sent again (in any JSON key order) matches.
func fingerprint(d user.Draft) string {
	b, _ := json.Marshal(d) // a Draft always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Get returns one user.
func (s *Service) Get(ctx context.Context, actor Actor, userID string) (user.User, error) {
	return s.store.GetUser(ctx, userID)
}

// Status explains why the user can or cannot log in, from the user's
// record and, when the service knows the identity provider, its login.
func (s *Service) Status(ctx context.Context, actor Actor, userID string) (user.User, user.Diagnosis, error) {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return user.User{}, user.Diagnosis{}, err
	}
	var login *user.LoginFacts
	if s.logins != nil && u.Status != user.StatusIntroduction {
		f, err := s.logins.LoginFacts(ctx, u.Email)
		if err != nil {
			return user.User{}, user.Diagnosis{}, fmt.Errorf("login of %s: %w", userID, err)
		}
		login = &f
	}
	return u, user.Diagnose(u, s.now(), s.validity, login), nil
}

// Limits of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// List returns users matching q, a page at a time.
func (s *Service) List(ctx context.Context, actor Actor, q ListQuery) (Page, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return Page{}, fmt.Errorf("list users: %w", err)
	}
	return s.list(ctx, cat, q)
}

func (s *Service) list(ctx context.Context, cat *access.Catalogue, q ListQuery) (Page, error) {
	var fe []user.FieldError
	if q.Status != "" && !q.Status.Valid() {
		fe = append(fe, user.FieldError{Field: "status", Message: fmt.Sprintf("must be one of %s", joinStatuses())})
	}
	if q.Type != "" && !q.Type.Valid() {
		fe = append(fe, user.FieldError{Field: "type", Message: `must be "internal" or "external"`})
	}
	if q.Role != "" {
		rid, _, ok := cat.ResolveRole(q.Role)
		if !ok {
			fe = append(fe, user.FieldError{Field: "role", Message: fmt.Sprintf("%q is not a role", q.Role)})
		}
		q.Role = rid
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultLimit
	case q.Limit < 0 || q.Limit > MaxLimit:
		fe = append(fe, user.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxLimit)})
	}
	if len(fe) > 0 {
		return Page{}, user.InvalidFields(fe...)
	}
	q.Email = user.NormalizeEmail(q.Email)
	q.SlackUserID = user.NormalizeSlackUserID(q.SlackUserID)
	q.Q = strings.TrimSpace(q.Q)
	return s.store.ListUsers(ctx, q)
}

func joinStatuses() string {
	parts := make([]string, len(user.Statuses))
	for i, st := range user.Statuses {
		parts[i] = string(st)
	}
	return strings.Join(parts, ", ")
}

// Edit applies p to a user. expectedVersion, when not zero, must be the
// user's current version (the ETag the caller read).
func (s *Service) Edit(ctx context.Context, actor Actor, userID string, expectedVersion int64, p user.Patch) (user.User, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return user.User{}, fmt.Errorf("edit user %s: %w", userID, err)
	}
	rules := s.rules(cat)
	return s.changeIn(ctx, cat, actor, userID, expectedVersion, "edit", func(actor Actor, u user.User, now time.Time) (user.User, []user.Change, error) {
		n, changes, err := rules.Apply(u, p, actor.user.Email, now)
		if err != nil || n.SlackUserID == u.SlackUserID {
			return n, changes, err
		}
		if err := s.checkSlackFree(ctx, n); err != nil {
			return u, nil, err
		}
		return n, changes, nil
	})
}

// Release turns Hold Invite off; the release worker then creates the login
// and sends the invitation.
func (s *Service) Release(ctx context.Context, actor Actor, userID string, expectedVersion int64) (user.User, error) {
	return s.change(ctx, actor, userID, expectedVersion, "release", releaseTransition)
}

func releaseTransition(actor Actor, u user.User, now time.Time) (user.User, []user.Change, error) {
	return user.Release(u, actor.user.Email, now)
}

// Hold turns Hold Invite back on; after release this suspends the login.
func (s *Service) Hold(ctx context.Context, actor Actor, userID string, expectedVersion int64) (user.User, error) {
	return s.change(ctx, actor, userID, expectedVersion, "hold", func(actor Actor, u user.User, now time.Time) (user.User, []user.Change, error) {
		return user.Hold(u, actor.user.Email, now)
	})
}

// Resend asks for a new temporary password and invitation email.
func (s *Service) Resend(ctx context.Context, actor Actor, userID string, expectedVersion int64) (user.User, error) {
	return s.change(ctx, actor, userID, expectedVersion, "resend", func(actor Actor, u user.User, now time.Time) (user.User, []user.Change, error) {
		return user.Resend(u, actor.user.Email, now)
	})
}

type transition func(actor Actor, u user.User, now time.Time) (user.User, []user.Change, error)

// change reads a user, applies t and writes the result with its audit
// entry, on the condition that nobody wrote the user in between. It is
// tried once: a manager decided on the user they saw, so a write in
// between goes back to them as a conflict ("reload it and try again"),
// not applied over.
func (s *Service) change(ctx context.Context, actor Actor, userID string, expectedVersion int64, action string, t transition) (user.User, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return user.User{}, fmt.Errorf("%s user %s: %w", action, userID, err)
	}
	return s.changeIn(ctx, cat, actor, userID, expectedVersion, action, t)
}

// changeIn is change with the roles of cat, read once for the use case.
func (s *Service) changeIn(ctx context.Context, cat *access.Catalogue, actor Actor, userID string, expectedVersion int64, action string, t transition) (user.User, error) {
	return s.update(ctx, update{
		actor: actor, action: action, apply: t, attempts: 1,
		read: func(ctx context.Context) (user.User, error) {
			u, err := s.store.GetUser(ctx, userID)
			if err == nil && expectedVersion != 0 && expectedVersion != u.Version {
				return user.User{}, user.ErrVersionConflict
			}
			return u, err
		},
		check: func(before, after user.User) error { return s.checkAuthority(ctx, cat, actor, before, after, action) },
	})
}

// An update is one read-modify-write of a user: managers' changes and the
// release worker's records alike go through update.
type update struct {
	actor Actor
	// action names the change in the audit trail.
	action string
	// read returns the user as stored.
	read func(ctx context.Context) (user.User, error)
	// apply is the transition; no changes means nothing to write.
	apply transition
	// check, when set, vets the user as read (before == after), so that
	// whom the actor may not reach learns nothing of what the change
	// would have been, and then the result.
	check func(before, after user.User) error
	// attempts is how many times the update is read, applied and written
	// when another write of the user comes in between (once when < 2).
	attempts int
}

// update runs up: read, apply, write with the audit entry on the
// condition that the user is still the version read; on a write in
// between, again, up to up.attempts times in all. It returns the user as
// written, or as read when there was nothing to write.
func (s *Service) update(ctx context.Context, up update) (user.User, error) {
	for attempt := 1; ; attempt++ {
		u, err := up.read(ctx)
		if err != nil {
			return user.User{}, err
		}
		if up.check != nil {
			if err := up.check(u, u); err != nil {
				return user.User{}, err
			}
		}
		now := s.now()
		n, changes, err := up.apply(up.actor, u, now)
		if err != nil {
			return user.User{}, err
		}
		if len(changes) == 0 {
			return u, nil
		}
		if up.check != nil {
			if err := up.check(u, n); err != nil {
				return user.User{}, err
			}
		}
		err = s.store.UpdateUser(ctx, n, u.Version, s.audit(up.actor, n, up.action, changes, now))
		conflict := errors.Is(err, user.ErrVersionConflict)
		switch {
		case err == nil:
			return n, nil
		case conflict && attempt < up.attempts:
			continue // again, on the user as the other write left them
		case conflict && attempt > 1:
			return user.User{}, fmt.Errorf("%s user %s: the user kept changing (%d attempts): %w", up.action, u.ID, attempt, err)
		}
		return user.User{}, fmt.Errorf("%s user %s: %w", up.action, u.ID, err)
	}
}

// History returns the audit trail of a user, oldest first.
func (s *Service) History(ctx context.Context, actor Actor, userID string, limit int, cursor string) (HistoryPage, error) {
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return HistoryPage{}, user.InvalidField("limit", "must be between 1 and %d", MaxLimit)
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		return HistoryPage{}, err
	}
	return s.store.History(ctx, userID, limit, cursor)
}

func (s *Service) audit(actor Actor, u user.User, action string, changes []user.Change, now time.Time) AuditEntry {
	return AuditEntry{UserID: u.ID, Audit: actor.audit(u.Version, action, changes, now)}
}

// systemActor is who the command line acts as when it sets up OpsOS.
func systemActor() Actor {
	return Actor{user: user.User{ID: systemID, Email: systemID}, source: SourceCLI}
}

const systemID = "system"

// Bootstrap makes sure the first administrator exists in local mode: on
// an empty store it creates an active Administrator with email, who signs
// in with the local token. On a store with users it returns the user with
// that email, who must exist, linking them to slackUserID if given.
func (s *Service) Bootstrap(ctx context.Context, email, slackUserID string) (u user.User, created bool, err error) {
	return s.firstAdministrator(ctx, FirstAdministrator{Email: email, SlackUserID: slackUserID})
}

// FirstAdministrator is the administrator a deployment starts with.
type FirstAdministrator struct {
	Email, FirstName, LastName, SlackUserID string
	// Invite releases them: the release worker creates their login and
	// emails a temporary password, as for anyone else. Otherwise they are
	// made active at once (local mode, where the token signs them in).
	Invite bool
}

// InviteFirstAdministrator creates the first administrator of a deployed,
// empty table with Hold Invite off, so that the stream invites them. Run
// again with the same email, it returns the administrator, unchanged.
func (s *Service) InviteFirstAdministrator(ctx context.Context, a FirstAdministrator) (user.User, bool, error) {
	a.Invite = true
	return s.firstAdministrator(ctx, a)
}

func (s *Service) firstAdministrator(ctx context.Context, a FirstAdministrator) (u user.User, created bool, err error) {
	// A deployment's roles start with the defaults, the first
	// administrator's among them; seeding keeps an organisation's edits.
	if err := s.SeedRoles(ctx); err != nil {
		return user.User{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	email := user.NormalizeEmail(a.Email)
	u, err = s.userByEmail(ctx, email)
	if err == nil {
		u, err = s.linkSlack(ctx, u, a.SlackUserID)
		return u, false, err
	}
	if !errors.Is(err, user.ErrNotFound) {
		return user.User{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	p, err := s.store.ListUsers(ctx, ListQuery{Limit: 1})
	if err != nil {
		return user.User{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	if len(p.Users) > 0 {
		return user.User{}, false, fmt.Errorf("bootstrap: the store has users but none with email %s: set the administrator email to an existing manager, or add administrators through the API", email)
	}
	first, last := a.FirstName, a.LastName
	if first == "" && last == "" {
		first, last = "OpsOS", "Administrator"
	}
	cat, err := s.Catalogue(ctx)
	if err != nil {
		return user.User{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	hold := false
	now := s.now()
	u, err = s.rules(cat).New(user.Draft{
		Type: user.Internal, FirstName: first, LastName: last, Email: email,
		JobTitle: "Administrator", Role: "administrator", HoldInvite: &hold, SlackUserID: a.SlackUserID,
	}, s.newID(), systemID, now)
	if err != nil {
		return user.User{}, false, fmt.Errorf("bootstrap administrator %s: %w", email, err)
	}
	if !a.Invite {
		// The local administrator signs in with the local token, not an
		// invitation: there is nobody to invite them.
		u.Status, u.InvitedAt, u.ActivatedAt = user.StatusActive, now, now
	}
	actor := systemActor()
	if err := s.store.CreateUser(ctx, u, s.audit(actor, u, "bootstrap", initialChanges(u), now), nil); err != nil {
		return user.User{}, false, fmt.Errorf("bootstrap administrator %s: %w", email, err)
	}
	return u, true, nil
}

// linkSlack links the administrator u to the Slack user slackUserID, unless
// that is empty or already u's: an administrator created before the Slack
// id was configured gets it at the next start.
func (s *Service) linkSlack(ctx context.Context, u user.User, slackUserID string) (user.User, error) {
	if user.NormalizeSlackUserID(slackUserID) == "" {
		return u, nil
	}
	cat, err := s.Catalogue(ctx)
	if err != nil {
		return user.User{}, fmt.Errorf("link administrator %s to Slack: %w", u.Email, err)
	}
	now := s.now()
	n, changes, err := s.rules(cat).Apply(u, user.Patch{SlackUserID: &slackUserID}, systemID, now)
	if err != nil {
		return user.User{}, fmt.Errorf("link administrator %s to Slack: %w", u.Email, err)
	}
	if len(changes) == 0 {
		return u, nil
	}
	if err := s.checkSlackFree(ctx, n); err != nil {
		return user.User{}, fmt.Errorf("link administrator %s to Slack user %s: %w", u.Email, n.SlackUserID, err)
	}
	if err := s.store.UpdateUser(ctx, n, u.Version, s.audit(systemActor(), n, "link-slack", changes, now)); err != nil {
		return user.User{}, fmt.Errorf("link administrator %s to Slack: %w", u.Email, err)
	}
	return n, nil
}

// initialChanges lists the fields a new user was given, for its first audit
// entry: no "from" values, and Hold Invite always, whichever way it was set.
func initialChanges(u user.User) []user.Change {
	cs := user.Diff(user.User{}, u)
	hold := false
	for i := range cs {
		cs[i].From = nil
		hold = hold || cs[i].Field == "holdInvite"
	}
	if !hold {
		cs = append(cs, user.Change{Field: "holdInvite", To: u.HoldInvite})
	}
	return cs
}
