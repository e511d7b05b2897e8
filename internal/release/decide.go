package release

import "github.com/opsos/onboarding/internal/user"

// action is what a change of a user asks of the worker.
type action int

const (
	// none: nothing outside the table changes; this includes the worker's
	// own status writes.
	none action = iota
	// invite: create (or reset) the login with a new temporary password
	// and email it — a first release, or a resend.
	invite
	// reenable: hold turned off again on a suspended user.
	reenable
	// suspend: hold turned back on after release.
	suspend
	// moveGroup: the role of a user who may have a login changed.
	moveGroup
)

func (a action) String() string {
	return [...]string{"none", "invite", "re-enable", "suspend", "move group"}[a]
}

// decide reads a change (old nil on create, new nil on delete) the way the
// lifecycle of DESIGN.md §2 defines it.
func decide(old, cur *user.User) action {
	switch {
	case cur == nil:
		return none
	case cur.Status == user.StatusReleasing:
		switch {
		case old == nil:
			return invite // created with Hold Invite = No
		case old.Status == user.StatusSuspended:
			return reenable
		case old.Status != user.StatusReleasing || old.InviteGeneration != cur.InviteGeneration:
			return invite // released, or a resend bumped the generation
		}
		// Still releasing: the invitation reads the user as it is then.
		return none
	case old == nil:
		return none
	case cur.Status == user.StatusSuspended && old.Status != user.StatusSuspended:
		return suspend
	case cur.Role != old.Role && cur.Status != user.StatusIntroduction:
		return moveGroup
	}
	return none
}
