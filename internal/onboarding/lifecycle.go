package onboarding

import (
	"context"
	"strings"
	"time"

	"github.com/opsos/onboarding/internal/user"
)

// ReleaseWorkerID names the release worker in the audit entries of the
// outcomes it records, and as the user's UpdatedBy.
const ReleaseWorkerID = "release-worker"

// releaseWorker is who records the system's lifecycle transitions: what
// the release worker did, and first sign-ins.
func releaseWorker() Actor {
	return Actor{user: user.User{ID: ReleaseWorkerID, Email: ReleaseWorkerID}, source: SourceRelease}
}

// recordAttempts is how many times a system transition is read, applied
// and written when a manager writes the user in between: the worker's
// outcome stands whatever the manager changed, so it is applied to the
// user as they are then.
const recordAttempts = 5

// Invited records that the invitation asked for by the change that left
// the user as changed was emailed at sent: the user is invited.
func (s *Service) Invited(ctx context.Context, changed user.User, sent time.Time) error {
	return s.record(ctx, "invited", s.byID(changed.ID), func(u user.User, by string, now time.Time) (user.User, []user.Change) {
		return user.Invited(u, changed, sent, by, now)
	})
}

// ReleaseFailed records that the release asked for by the change that
// left the user as changed gave up for reason: the user is release_failed.
func (s *Service) ReleaseFailed(ctx context.Context, changed user.User, reason string) error {
	return s.record(ctx, "release_failed", s.byID(changed.ID), func(u user.User, by string, now time.Time) (user.User, []user.Change) {
		return user.ReleaseFailed(u, changed, reason, by, now)
	})
}

// ReEnabled records that a suspended user with their own password, whom
// the change that left them as changed released again, can sign in with
// it again: the user is active.
func (s *Service) ReEnabled(ctx context.Context, changed user.User) error {
	return s.record(ctx, "active", s.byID(changed.ID), func(u user.User, by string, now time.Time) (user.User, []user.Change) {
		return user.ReEnabled(u, changed, by, now)
	})
}

// Activate records a first sign-in with the user's own password, by the
// login that carries the OpsOS user id userID (found by email when the
// login has none) and email; see user.Activated for who becomes active.
// The Cognito post-authentication trigger and local mode's login call it.
func (s *Service) Activate(ctx context.Context, userID, email string) error {
	in := user.SignIn{UserID: userID, Email: email}
	read := func(ctx context.Context) (user.User, error) { return s.signedIn(ctx, in) }
	return s.record(ctx, "activated", read, func(u user.User, by string, now time.Time) (user.User, []user.Change) {
		return user.Activated(u, in, by, now)
	})
}

// signedIn finds the user of a sign-in: by OpsOS user id, else by email.
func (s *Service) signedIn(ctx context.Context, in user.SignIn) (user.User, error) {
	switch {
	case in.UserID != "":
		return s.store.GetUser(ctx, in.UserID)
	case strings.TrimSpace(in.Email) == "":
		// A login with neither: an email filter of "" would match anyone.
		return user.User{}, user.ErrNotFound
	}
	return s.userByEmail(ctx, in.Email)
}

// byID reads the user userID.
func (s *Service) byID(userID string) func(context.Context) (user.User, error) {
	return func(ctx context.Context) (user.User, error) { return s.store.GetUser(ctx, userID) }
}

// record applies t, a transition of the release worker, to the user read
// finds, as they are when it is written; t is told who writes it (the
// worker's actor, as the audit entry names it). A user who is gone, or whom t
// finds moved on, is left alone: nothing is written and nil returned.
func (s *Service) record(ctx context.Context, action string, read func(context.Context) (user.User, error),
	t func(u user.User, by string, now time.Time) (user.User, []user.Change)) error {
	_, err := s.update(ctx, update{
		actor: releaseWorker(), action: action, read: read, attempts: recordAttempts,
		apply: func(actor Actor, u user.User, now time.Time) (user.User, []user.Change, error) {
			n, changes := t(u, actor.user.Email, now)
			return n, changes, nil
		},
	})
	return user.IgnoreNotFound(err)
}
