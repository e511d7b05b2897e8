package slackops

import (
	"net/url"
	"slices"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/user"
)

// Workspace is the one Slack workspace (and, on Enterprise Grid, the one
// organisation) whose requests the handler serves. The signing secret
// belongs to the Slack app, and an app can be installed in more than one
// workspace: a correct signature alone does not say the request comes
// from ours.
type Workspace struct {
	// TeamID is the workspace's id (T…). Empty serves no workspace: every
	// request is refused.
	TeamID string
	// EnterpriseID is the Enterprise Grid organisation's id (E…), or empty
	// when the workspace is not on Grid or the organisation is not pinned.
	EnterpriseID string
}

// errOtherWorkspace refuses a request from a workspace other than ours.
var errOtherWorkspace = &user.Error{Code: user.CodeForbidden, Message: "this OpsOS serves one Slack workspace, and requests from any other are refused"}

// allows reports whether a request from team (and enterprise) is ours.
func (w Workspace) allows(team, enterprise string) bool {
	if w.TeamID == "" || team != w.TeamID {
		return false
	}
	return w.EnterpriseID == "" || enterprise == w.EnterpriseID
}

// command checks a slash command's team_id and enterprise_id.
func (w Workspace) command(form url.Values) error {
	if !w.allows(form.Get("team_id"), form.Get("enterprise_id")) {
		return errOtherWorkspace
	}
	return nil
}

// interaction checks an interaction's team and enterprise, and the team
// of the user who acted when Slack names it: in a channel shared with
// another organisation (Slack Connect), a user of theirs can click our
// buttons.
func (w Workspace) interaction(cb slack.InteractionCallback) error {
	if !w.allows(cb.Team.ID, cb.Enterprise.ID) {
		return errOtherWorkspace
	}
	if cb.User.TeamID != "" && cb.User.TeamID != w.TeamID {
		return errOtherWorkspace
	}
	return nil
}

// Why the email Slack has for a user may not stand for an OpsOS user.
// Each ends as "…; ask an administrator to link your Slack account".
const (
	notMemberBot        = "bots and apps cannot act through Slack"
	notMemberDeleted    = "deactivated Slack accounts cannot act through Slack"
	notMemberGuest      = "guests cannot act through Slack"
	notMemberExternal   = "people from other Slack organisations (Slack Connect) cannot act through Slack"
	notMemberUnverified = "a Slack account whose email address is not confirmed cannot act through Slack by email"
)

// fallbackRefusal says why the email Slack has for u may not identify an
// OpsOS manager, or "" when it may: only a full member of our workspace
// with a confirmed email is found by email. Anyone else must be linked
// by their Slack id, which a manager decides.
func (w Workspace) fallbackRefusal(u *slack.User) string {
	switch {
	case u.IsBot || u.IsAppUser || u.IsWorkflowBot || u.IsConnectorBot || u.Profile.BotID != "":
		return notMemberBot
	case u.Deleted:
		return notMemberDeleted
	case u.IsRestricted || u.IsUltraRestricted:
		return notMemberGuest
	case u.IsStranger || !w.member(u):
		return notMemberExternal
	case u.Profile.Email != "" && !u.IsEmailConfirmed:
		return notMemberUnverified
	}
	return ""
}

// member reports whether u belongs to our workspace: its home team, or,
// on Enterprise Grid, our organisation with our workspace among theirs.
func (w Workspace) member(u *slack.User) bool {
	if w.TeamID == "" {
		return false
	}
	if w.EnterpriseID != "" && u.Enterprise.EnterpriseID != "" && u.Enterprise.EnterpriseID != w.EnterpriseID {
		return false
	}
	if u.TeamID == w.TeamID {
		return true
	}
	return w.EnterpriseID != "" && u.Enterprise.EnterpriseID == w.EnterpriseID && slices.Contains(u.Enterprise.Teams, w.TeamID)
}
