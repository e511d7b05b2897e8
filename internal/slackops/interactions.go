package slackops

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/jsoncheck"
	"github.com/opsos/onboarding/internal/user"
)

// interaction handles what Slack posts to the interactivity URL: a form
// submitted, or a button clicked.
func (h *Handler) interaction(ctx context.Context, form url.Values) (events.APIGatewayV2HTTPResponse, []any) {
	var cb slack.InteractionCallback
	payload := []byte(form.Get("payload"))
	if err := json.Unmarshal(payload, &cb); err != nil {
		return plain(http.StatusBadRequest, "the payload is not an interaction"), []any{"outcome", "bad-payload"}
	}
	attrs := []any{"slackUserId", cb.User.ID, "interaction", string(cb.Type)}
	// encoding/json (in slack-go) repaired any text that is not UTF-8 on
	// the way in; find it in the raw payload and refuse it instead.
	if path, invalid := jsoncheck.InvalidText(payload); invalid {
		if block := invalidBlock(path); cb.Type == slack.InteractionTypeViewSubmission && block != "" {
			return jsonResponse(slack.NewErrorsViewSubmissionResponse(map[string]string{block: sentence(user.InvalidTextMessage)})),
				append(attrs, "form", cb.View.CallbackID, "outcome", "invalid")
		}
		return plain(http.StatusBadRequest, "the payload "+user.InvalidTextMessage), append(attrs, "outcome", "bad-payload")
	}
	switch cb.Type {
	case slack.InteractionTypeViewSubmission:
		resp, outcome := h.submission(ctx, cb)
		attrs = append(attrs, "form", cb.View.CallbackID, "outcome", outcome)
		if resp == nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK}, attrs
		}
		return jsonResponse(resp), attrs
	case slack.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			switch a.ActionID {
			case actionRelease:
				return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK},
					append(attrs, "action", a.ActionID, "outcome", h.releaseClicked(ctx, cb, a.Value))
			case actionReleaseMany:
				return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK},
					append(attrs, "action", a.ActionID, "outcome", h.releaseManyClicked(ctx, cb, a.Value))
			}
		}
	}
	// Other interactions (a form closed, a link clicked) need nothing.
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK}, append(attrs, "outcome", "ignored")
}

// releaseClicked releases the user on a card's Release access button and
// answers through the response_url: the card is replaced by the new one,
// or a note says why nothing happened.
func (h *Handler) releaseClicked(ctx context.Context, cb slack.InteractionCallback, value string) string {
	respond := func(a answer, replace bool) { h.respond(ctx, cb.ResponseURL, a, replace) }
	actor, err := h.authorize(ctx, cb.User.ID)
	if err != nil {
		respond(h.errorAnswer(ctx, err, atCommand), false)
		return "refused"
	}
	id, version, ok := parseReleaseValue(value)
	if !ok {
		respond(answer{text: "That button is broken; use `/opsos-user release <email>` instead."}, false)
		return "bad-value"
	}
	u, err := h.svc.Release(ctx, actor, id, version)
	if err != nil {
		a := h.errorAnswer(ctx, err, atCardRelease)
		if a.fresh != "" {
			if cur, gerr := h.svc.Get(ctx, actor, id); gerr == nil {
				respond(card(actor.Roles(), cur, a.fresh), true)
				return a.outcome
			}
		}
		respond(a, false)
		return a.outcome
	}
	respond(card(actor.Roles(), u, "Access released"), true)
	return "released"
}

// respond answers a button click through its response_url: replacing the
// message clicked, or adding a note beside it.
func (h *Handler) respond(ctx context.Context, responseURL string, a answer, replace bool) {
	msg := ephemeral(a)
	msg.ReplaceOriginal = replace
	if err := h.post(ctx, responseURL, &msg); err != nil {
		h.log.WarnContext(ctx, "slack response_url", "error", err.Error())
	}
}

// invalidBlock returns the form block holding the value at path (as
// jsoncheck.InvalidText gives it) in a view submission, or "" when it is
// not a form value.
func invalidBlock(path []string) string {
	if len(path) < 4 || path[0] != "view" || path[1] != "state" || path[2] != "values" {
		return ""
	}
	if blockOf(path[3]) == "" && path[3] != blockExternal {
		return ""
	}
	return path[3]
}
