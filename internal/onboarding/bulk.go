package onboarding

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/user"
)

// CheckCreate runs every check Create would, the store's included (a
// taken email, a taken Slack account), and writes nothing: the dry run of
// a bulk import, so that all of a file's problems are known before any
// row is written. It returns the user as Create would make it.
func (s *Service) CheckCreate(ctx context.Context, actor Actor, d user.Draft) (user.User, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return user.User{}, fmt.Errorf("check user: %w", err)
	}
	u, err := s.rules(cat).New(d, "", actor.user.Email, s.now())
	if err != nil {
		return user.User{}, err
	}
	if err := s.checkAuthority(ctx, cat, actor, user.User{}, u, "create"); err != nil {
		return user.User{}, err
	}
	switch _, err := s.userByEmail(ctx, u.Email); {
	case err == nil:
		return user.User{}, user.ErrEmailTaken
	case !errors.Is(err, user.ErrNotFound):
		return user.User{}, fmt.Errorf("check user %s: %w", u.Email, err)
	}
	if err := s.checkSlackFree(ctx, u); err != nil {
		return user.User{}, err
	}
	return u, nil
}

// MaxBulk bounds one bulk release: a site's worth of people, small enough
// to answer within an API Gateway request.
const MaxBulk = 500

// BulkSelection chooses the users a bulk release is about: users in
// Introduction Mode (or another status with Hold Invite on) that match.
type BulkSelection struct {
	Role   string
	Type   user.Type
	Q      string
	Status user.Status // introduction when empty
}

// BulkPreview is what a bulk release would do: how many users, and the
// first of them to show.
type BulkPreview struct {
	Count int
	Users []user.User
	// Beyond counts the users on hold who match but whom the actor may not
	// release (containment, or their own account): they are left out.
	Beyond int
}

// BulkResult says what a bulk release did, user by user.
type BulkResult struct {
	Released []user.User
	Failed   []BulkFailure
}

// BulkFailure is one user a bulk release could not release.
type BulkFailure struct {
	User user.User
	Err  error
}

// selectBulk lists every user sel matches that a release would change and
// the actor may release, and counts those it leaves out for the actor's
// want of authority.
func (s *Service) selectBulk(ctx context.Context, cat *access.Catalogue, sel BulkSelection, actor Actor) (out []user.User, beyond int, err error) {
	status := sel.Status
	if status == "" {
		status = user.StatusIntroduction
	}
	if status != user.StatusIntroduction && status != user.StatusSuspended {
		return nil, 0, user.InvalidField("status", "must be introduction or suspended: only users on hold can be released")
	}
	q := ListQuery{Status: status, Role: sel.Role, Type: sel.Type, Q: sel.Q, Limit: MaxLimit}
	for {
		p, err := s.list(ctx, cat, q)
		if err != nil {
			return nil, 0, err
		}
		for _, u := range p.Users {
			switch {
			case !u.HoldInvite:
			case !reaches(cat, actor, u):
				beyond++
			default:
				out = append(out, u)
			}
		}
		if len(out) > MaxBulk {
			return nil, 0, user.Errorf(user.CodeUnprocessable, "more than %d users match: narrow the selection (role, type or q) and release them in parts", MaxBulk)
		}
		if p.NextCursor == "" {
			return out, beyond, nil
		}
		q.Cursor = p.NextCursor
	}
}

// PreviewRelease says how many users ReleaseMany would release, so that
// the manager confirms the count before anyone is emailed.
func (s *Service) PreviewRelease(ctx context.Context, actor Actor, sel BulkSelection, show int) (BulkPreview, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return BulkPreview{}, fmt.Errorf("preview release: %w", err)
	}
	us, beyond, err := s.selectBulk(ctx, cat, sel, actor)
	if err != nil {
		return BulkPreview{}, err
	}
	return BulkPreview{Count: len(us), Users: us[:min(show, len(us))], Beyond: beyond}, nil
}

// ReleaseMany releases every user sel matches, provided they are still
// the expectedCount users the manager confirmed: if the selection has
// changed since the preview, nothing is released and the answer says so.
// Each user is its own write; one that fails does not stop the others,
// and the release worker paces the emails.
func (s *Service) ReleaseMany(ctx context.Context, actor Actor, sel BulkSelection, expectedCount int) (BulkResult, error) {
	cat, err := s.rolesOf(ctx, actor)
	if err != nil {
		return BulkResult{}, fmt.Errorf("release: %w", err)
	}
	us, _, err := s.selectBulk(ctx, cat, sel, actor)
	if err != nil {
		return BulkResult{}, err
	}
	if len(us) != expectedCount {
		return BulkResult{}, user.Errorf(user.CodeConflict,
			"%d users match now, not the %d you confirmed: nothing was released; look again and confirm the new count", len(us), expectedCount)
	}
	var res BulkResult
	rolesChanged := false
	for _, u := range us {
		if rolesChanged {
			// The roles only move on: every write left would be refused.
			res.Failed = append(res.Failed, BulkFailure{User: u, Err: fmt.Errorf("release user %s: %w", u.ID, ErrRolesChanged)})
			continue
		}
		n, err := s.changeIn(ctx, cat, actor, u.ID, u.Version, "release", releaseTransition)
		rolesChanged = errors.Is(err, ErrRolesChanged)
		if err != nil {
			res.Failed = append(res.Failed, BulkFailure{User: u, Err: err})
			continue
		}
		res.Released = append(res.Released, n)
	}
	return res, nil
}
