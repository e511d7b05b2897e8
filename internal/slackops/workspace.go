package slackops

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"

	"github.com/aws/aws-lambda-go/events"
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

// gate refuses a verified request from another workspace, or naming a
// response_url that is not Slack's, before anything is remembered, looked
// up or run. It reports the answer and true when it refuses.
func (h *Handler) gate(ctx context.Context, path string, form url.Values) (events.APIGatewayV2HTTPResponse, []any, bool) {
	var (
		err         error
		responseURL string
		attrs       []any
		isForm      bool
	)
	if path == PathCommands {
		err, responseURL = h.workspace.command(form), form.Get("response_url")
		attrs = []any{"slackUserId", form.Get("user_id"), "teamId", form.Get("team_id"), "enterpriseId", form.Get("enterprise_id")}
	} else {
		var cb slack.InteractionCallback
		if jerr := json.Unmarshal([]byte(form.Get("payload")), &cb); jerr != nil {
			return plain(http.StatusBadRequest, "the payload is not an interaction"), []any{"outcome", "bad-payload"}, true
		}
		err, responseURL = h.workspace.interaction(cb), cb.ResponseURL
		isForm = cb.Type == slack.InteractionTypeViewSubmission
		attrs = []any{"slackUserId", cb.User.ID, "teamId", cb.Team.ID, "userTeamId", cb.User.TeamID,
			"enterpriseId", cb.Enterprise.ID, "interaction", string(cb.Type)}
	}
	switch {
	case err != nil:
		h.log.WarnContext(ctx, "slack request refused", append([]any{"reason", "another workspace"}, attrs...)...)
		attrs = append(attrs, "outcome", "other-workspace")
		switch {
		case path == PathCommands:
			// A 200 with a line saying why: Slack shows any other status
			// as "failed with the error http_client_error", which tells
			// the person typing nothing.
			return jsonResponse(ephemeral(h.errorAnswer(ctx, err, atCommand))), attrs, true
		case isForm:
			// A form is answered on the form, which Slack shows.
			return jsonResponse(h.refusal(ctx, err)), attrs, true
		default:
			// A click has no answer Slack would show (posting to its
			// response_url would answer the other workspace): a 403.
			return plain(http.StatusForbidden, "this Slack workspace is not served here"), attrs, true
		}
	case h.foreignResponseURL(ctx, responseURL):
		// Slack never hands out another host: the request is refused
		// whole, before anything runs.
		return plain(http.StatusBadRequest, "the response_url is not Slack's"), append(attrs, "outcome", "foreign-response-url"), true
	}
	return events.APIGatewayV2HTTPResponse{}, nil, false
}
