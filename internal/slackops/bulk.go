package slackops

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// actionReleaseMany is the action id of the bulk release's confirm button.
const actionReleaseMany = "release-many"

// bulkShown is how many of the users a bulk release preview names.
const bulkShown = 10

// bulkSelection reads `release role=… type=… q=… status=…` or `release
// all`: a release of many users. It reports false for a release of one.
func bulkSelection(cmd Command) (onboarding.BulkSelection, bool, error) {
	var sel onboarding.BulkSelection
	if len(cmd.Words) == 1 && strings.EqualFold(cmd.Words[0], "all") && len(cmd.Args) == 0 {
		return sel, true, nil
	}
	if len(cmd.Args) == 0 || cmd.Args["user"] != "" || cmd.Args["email"] != "" {
		return sel, false, nil
	}
	if len(cmd.Words) > 0 {
		return sel, false, &UsageError{Message: "Release one user (`/opsos-user release ada@example.com`) or everyone on hold who matches (`/opsos-user release role=staff`), not both."}
	}
	for k, v := range cmd.Args {
		switch k {
		case "role":
			sel.Role = v
		case "type":
			sel.Type = user.Type(strings.ToLower(v))
		case "q", "search", "name":
			sel.Q = v
		case "status":
			sel.Status = user.Status(strings.ToLower(v))
		default:
			return sel, false, &UsageError{Message: fmt.Sprintf("release selects users by role, type, q or status, not %s: `/opsos-user release role=staff`.", k)}
		}
	}
	return sel, true, nil
}

// bulkValue is what the confirm button carries: the selection and the
// count the manager saw.
type bulkValue struct {
	Role   string `json:"r,omitempty"`
	Type   string `json:"t,omitempty"`
	Q      string `json:"q,omitempty"`
	Status string `json:"s,omitempty"`
	Count  int    `json:"n"`
}

// previewRelease answers a bulk release with how many users it would
// release and a button to confirm that count.
func (h *Handler) previewRelease(ctx context.Context, actor onboarding.Actor, sel onboarding.BulkSelection) (answer, error) {
	p, err := h.svc.PreviewRelease(ctx, actor, sel, bulkShown)
	if err != nil {
		return answer{}, err
	}
	what := describeSelection(actor.Roles(), sel)
	left := ""
	if p.Beyond > 0 {
		left = fmt.Sprintf(" %d more on hold %s permissions beyond yours and will stay on hold: another manager who holds them can release %s.",
			p.Beyond, plural(p.Beyond, "has", "have"), plural(p.Beyond, "that user", "them"))
	}
	if p.Count == 0 {
		text := fmt.Sprintf("Nobody on hold matches %s: nothing to release.", what)
		if left != "" {
			text = fmt.Sprintf("Nobody on hold that you may release matches %s.%s", what, left)
		}
		return answer{text: text, blocks: []slack.Block{section(text)}}, nil
	}
	lines := []string{fmt.Sprintf("*%d %s* on hold match %s. Releasing them emails each a temporary password:", p.Count, plural(p.Count, "user", "users"), escape(what))}
	for _, u := range p.Users {
		lines = append(lines, fmt.Sprintf("• %s · %s", escape(u.Name()), escape(u.Email)))
	}
	if p.Count > len(p.Users) {
		lines = append(lines, fmt.Sprintf("• … and %d more", p.Count-len(p.Users)))
	}
	if left != "" {
		lines = append(lines, strings.TrimSpace(left))
	}
	raw, err := json.Marshal(bulkValue{Role: sel.Role, Type: string(sel.Type), Q: sel.Q, Status: string(sel.Status), Count: p.Count})
	if err != nil {
		return answer{}, err
	}
	label := fmt.Sprintf("Release %d %s", p.Count, plural(p.Count, "user", "users"))
	b := slack.NewButtonBlockElement(actionReleaseMany, string(raw), plainText(label))
	b.Style = slack.StylePrimary
	b.Confirm = slack.NewConfirmationBlockObject(plainText("Release access?"),
		mrkdwn(fmt.Sprintf("%d %s will be emailed a temporary password and can log in to OpsOS.", p.Count, plural(p.Count, "person", "people"))),
		plainText(label), plainText("Not yet"))
	text := strings.Join(lines, "\n")
	return answer{text: text, blocks: []slack.Block{section(text), slack.NewActionBlock("bulk-actions", b)}}, nil
}

func describeSelection(roles *access.Catalogue, sel onboarding.BulkSelection) string {
	var parts []string
	status := "Introduction Mode"
	if sel.Status != "" {
		status = statusLabels[sel.Status]
	}
	parts = append(parts, status)
	if sel.Role != "" {
		role := sel.Role
		if id, _, ok := roles.ResolveRole(sel.Role); ok {
			role = roleName(roles, id)
		}
		parts = append(parts, "role "+role)
	}
	if sel.Type != "" {
		parts = append(parts, string(sel.Type))
	}
	if sel.Q != "" {
		parts = append(parts, fmt.Sprintf("%q", sel.Q))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// releaseManyClicked releases the confirmed selection and replaces the
// preview with what happened.
func (h *Handler) releaseManyClicked(ctx context.Context, cb slack.InteractionCallback, value string) string {
	respond := func(a answer, replace bool) { h.respond(ctx, cb.ResponseURL, a, replace) }
	actor, err := h.authorize(ctx, cb.User.ID)
	if err != nil {
		respond(h.errorAnswer(ctx, err, atCommand), false)
		return "refused"
	}
	var v bulkValue
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		respond(answer{text: "That button is broken; run `/opsos-user release role=…` again."}, false)
		return "bad-value"
	}
	sel := onboarding.BulkSelection{Role: v.Role, Type: user.Type(v.Type), Q: v.Q, Status: user.Status(v.Status)}
	res, err := h.svc.ReleaseMany(ctx, actor, sel, v.Count)
	if err != nil {
		a := h.errorAnswer(ctx, err, atBulkRelease)
		respond(a, true)
		return a.outcome
	}
	lines := []string{fmt.Sprintf("*Access released for %d %s.* Their invitations are on their way.", len(res.Released), plural(len(res.Released), "user", "users"))}
	for _, f := range res.Failed {
		lines = append(lines, fmt.Sprintf("• Not released: %s · %s: %s", escape(f.User.Name()), escape(f.User.Email), failureReason(f.Err)))
	}
	text := strings.Join(lines, "\n")
	respond(answer{text: text, blocks: []slack.Block{section(text)}}, true)
	return "released-many"
}
