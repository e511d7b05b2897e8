package slackops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// Callback ids of the two forms.
const (
	callbackCreate = "opsos-user-create"
	callbackEdit   = "opsos-user-edit"
)

// Block ids of the form: the user field each input holds, so that the
// domain's field errors land on the right input.
const (
	blockFirstName = "firstName"
	blockLastName  = "lastName"
	blockEmail     = "email"
	blockPhone     = "phone"
	blockJobTitle  = "jobTitle"
	blockRole      = "role"
	blockType      = "type"
	blockExternal  = "externalAccess"
	blockHold      = "holdInvite"
	blockSlack     = "slackUserId"
	actionValue    = "value"
)

// blockOf returns the form block showing field, or "" when the form has
// none.
func blockOf(field string) string {
	switch field {
	case "externalPlannerAccess", "externalPurchasingAccess":
		return blockExternal
	case blockFirstName, blockLastName, blockEmail, blockPhone, blockJobTitle, blockRole, blockType, blockHold, blockSlack:
		return field
	}
	return ""
}

// metadata rides in the form's private_metadata from the command to the
// submission.
type metadata struct {
	UserID      string `json:"userId,omitempty"`
	Version     int64  `json:"version,omitempty"`
	ResponseURL string `json:"responseUrl,omitempty"`
}

// openModal opens the create or edit form. It returns the answer to show
// instead when there is no form to open.
func (h *Handler) openModal(ctx context.Context, actor onboarding.Actor, cmd Command, mode string, form url.Values) (*answer, string) {
	direct := createUsage
	if mode == "edit" {
		direct = editUsage
	}
	if h.api == nil {
		a := answer{text: "Forms need the Slack app's bot token, which is not configured here. Give the details directly:\n" + direct}
		a.blocks = []slack.Block{section(a.text)}
		return &a, "no-modal"
	}
	meta := metadata{ResponseURL: form.Get("response_url")}
	var current *user.User
	if mode == "edit" {
		u, err := h.target(ctx, actor, cmd, "edit")
		if err != nil {
			a := h.errorAnswer(ctx, err, atCommand)
			return &a, "not-found"
		}
		current, meta.UserID, meta.Version = &u, u.ID, u.Version
	}
	view, err := h.userForm(actor.Roles(), current, meta)
	if err == nil {
		_, err = h.api.OpenViewContext(ctx, form.Get("trigger_id"), view)
	}
	if err != nil {
		h.log.WarnContext(ctx, "slack views.open", "error", err.Error())
		a := answer{text: "I couldn't open the form just now. Give the details directly instead:\n" + direct}
		a.blocks = []slack.Block{section(a.text)}
		return &a, "modal-failed"
	}
	return nil, "modal"
}

// userForm builds the create form, or the edit form filled from u.
func (h *Handler) userForm(cat *access.Catalogue, u *user.User, meta metadata) (slack.ModalViewRequest, error) {
	md, err := json.Marshal(meta)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	shown := user.User{HoldInvite: true, Type: user.Internal} // a new user's form
	if u != nil {
		shown = *u
	}
	blocks := []slack.Block{
		textInput(blockFirstName, "First name", shown.FirstName, false, ""),
		textInput(blockLastName, "Last name", shown.LastName, false, ""),
		textInput(blockEmail, "Email", shown.Email, false, "Their login name; the invitation goes here"),
		roleInput(cat, shown.Role),
		typeInput(shown.Type),
		externalInput(shown),
		textInput(blockJobTitle, "Job title", shown.JobTitle, true, ""),
		textInput(blockPhone, "Phone", shown.Phone, true, "With the country code, e.g. +44 20 7946 0000"),
		slackInput(shown.SlackUserID),
		holdInput(shown.HoldInvite),
	}
	v := slack.ModalViewRequest{
		Type: slack.VTModal, Title: plainText("New OpsOS user"), Submit: plainText("Create"), Close: plainText("Cancel"),
		CallbackID: callbackCreate, PrivateMetadata: string(md), Blocks: slack.Blocks{BlockSet: blocks},
	}
	if u != nil {
		v.Title, v.Submit, v.CallbackID = plainText("Edit OpsOS user"), plainText("Save"), callbackEdit
	}
	return v, nil
}

func textInput(block, label, initial string, optional bool, hint string) *slack.InputBlock {
	el := slack.NewPlainTextInputBlockElement(nil, actionValue)
	el.InitialValue = initial
	var hintObj *slack.TextBlockObject
	if hint != "" {
		hintObj = plainText(hint)
	}
	b := slack.NewInputBlock(block, plainText(label), hintObj, el)
	b.Optional = optional
	return b
}

// roleInput offers the roles a system user can have, role chosen.
func roleInput(cat *access.Catalogue, role string) *slack.InputBlock {
	var opts []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for _, r := range cat.Roles() {
		if r.PlannerWorker {
			continue // Planner workers are onboarded in Planner, not here
		}
		o := slack.NewOptionBlockObject(r.ID, plainText(r.Name), plainText(truncate(r.Description, 75)))
		opts = append(opts, o)
		if role == r.ID {
			initial = o
		}
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Choose the one role"), actionValue, opts...)
	sel.InitialOption = initial
	return slack.NewInputBlock(blockRole, plainText("Role"), nil, sel)
}

func typeInput(t user.Type) *slack.InputBlock {
	internal := slack.NewOptionBlockObject(string(user.Internal), plainText("Internal"), plainText("Part of your organisation"))
	external := slack.NewOptionBlockObject(string(user.External), plainText("External"), plainText("A contractor, supplier or partner"))
	el := slack.NewRadioButtonsBlockElement(actionValue, internal, external)
	el.InitialOption = internal
	if t == user.External {
		el.InitialOption = external
	}
	return slack.NewInputBlock(blockType, plainText("Type"), nil, el)
}

func externalInput(u user.User) *slack.InputBlock {
	planner := slack.NewOptionBlockObject("planner", plainText("External Planner Access"), nil)
	purchasing := slack.NewOptionBlockObject("purchasing", plainText("External Purchasing Access"), nil)
	el := slack.NewCheckboxGroupsBlockElement(actionValue, planner, purchasing)
	if u.ExternalPlannerAccess {
		el.InitialOptions = append(el.InitialOptions, planner)
	}
	if u.ExternalPurchasingAccess {
		el.InitialOptions = append(el.InitialOptions, purchasing)
	}
	b := slack.NewInputBlock(blockExternal, plainText("External access"), plainText("Only for external users"), el)
	b.Optional = true
	return b
}

func holdInput(on bool) *slack.InputBlock {
	hold := slack.NewOptionBlockObject("hold", plainText("Hold Invite (Introduction Mode)"),
		plainText("Keep the account without a login; nobody is told until you release access"))
	el := slack.NewCheckboxGroupsBlockElement(actionValue, hold)
	if on {
		el.InitialOptions = []*slack.OptionBlockObject{hold}
	}
	b := slack.NewInputBlock(blockHold, plainText("Access"), nil, el)
	b.Optional = true
	return b
}

func slackInput(slackUserID string) *slack.InputBlock {
	el := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plainText("Their Slack account"), actionValue)
	el.InitialUser = slackUserID
	b := slack.NewInputBlock(blockSlack, plainText("Slack account (optional)"),
		plainText("Lets them use /opsos-user if they manage users"), el)
	b.Optional = true
	return b
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// formInput is what a submitted form says.
type formInput struct {
	firstName, lastName, email, phone, jobTitle, role, slackUser string
	typ                                                          user.Type
	planner, purchasing, hold                                    bool
}

func readForm(state *slack.ViewState) formInput {
	get := func(block string) slack.BlockAction {
		if state == nil {
			return slack.BlockAction{}
		}
		return state.Values[block][actionValue]
	}
	selected := func(block string) []string {
		var out []string
		for _, o := range get(block).SelectedOptions {
			out = append(out, o.Value)
		}
		return out
	}
	ext := selected(blockExternal)
	return formInput{
		firstName: get(blockFirstName).Value, lastName: get(blockLastName).Value, email: get(blockEmail).Value,
		phone: get(blockPhone).Value, jobTitle: get(blockJobTitle).Value, role: get(blockRole).SelectedOption.Value,
		typ: user.Type(get(blockType).SelectedOption.Value), slackUser: get(blockSlack).SelectedUser,
		planner: slices.Contains(ext, "planner"), purchasing: slices.Contains(ext, "purchasing"),
		hold: slices.Contains(selected(blockHold), "hold"),
	}
}

// patch is the whole form as a patch: every field it shows is set. A
// create takes its Draft; an edit takes it Against the user, so that only
// what the manager changed is written.
func (in formInput) patch() user.Patch {
	typ, hold := in.typ, in.hold
	return user.Patch{
		Type: &typ, FirstName: &in.firstName, LastName: &in.lastName, Email: &in.email, Phone: &in.phone,
		JobTitle: &in.jobTitle, Role: &in.role, SlackUserID: &in.slackUser,
		ExternalPlannerAccess: &in.planner, ExternalPurchasingAccess: &in.purchasing, HoldInvite: &hold,
	}
}

// submission handles a submitted form. Field errors go back onto the form
// (response_action errors); other refusals are pushed on top of it, so
// that what the manager typed is still there when they go back.
func (h *Handler) submission(ctx context.Context, cb slack.InteractionCallback) (any, string) {
	var meta metadata
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil && cb.View.PrivateMetadata != "" {
		return h.refusal(ctx, fmt.Errorf("form metadata: %w", err)), "bad-metadata"
	}
	if h.foreignResponseURL(ctx, meta.ResponseURL) {
		return h.refusal(ctx, fmt.Errorf("form metadata: %w", errForeignResponseURL)), "foreign-response-url"
	}
	actor, err := h.authorize(ctx, cb.User.ID)
	if err != nil {
		return h.refusal(ctx, err), "refused"
	}
	in := readForm(cb.View.State)
	var u user.User
	title := "User created"
	switch cb.View.CallbackID {
	case callbackCreate:
		u, _, err = h.svc.Create(ctx, actor, in.patch().Draft(), "slack-view:"+cb.View.ID)
	case callbackEdit:
		title = "User updated"
		var cur user.User
		if cur, err = h.svc.Get(ctx, actor, meta.UserID); err == nil {
			if cur.Version != meta.Version {
				err = user.ErrVersionConflict
			} else if p := in.patch().Against(cur); p.Empty() {
				u = cur
				title = "Nothing changed"
			} else {
				u, err = h.svc.Edit(ctx, actor, meta.UserID, meta.Version, p)
			}
		}
	default:
		return nil, "unknown-form"
	}
	if err != nil {
		a := h.errorAnswer(ctx, err, atForm)
		if a.onInputs != nil {
			return slack.NewErrorsViewSubmissionResponse(a.onInputs), a.outcome
		}
		return refusalView(a), a.outcome
	}
	if meta.ResponseURL != "" {
		msg := ephemeral(card(actor.Roles(), u, title))
		if rerr := h.post(ctx, meta.ResponseURL, &msg); rerr != nil {
			h.log.WarnContext(ctx, "slack response_url", "error", rerr.Error())
		}
	}
	return nil, "ok"
}

// formErrors maps field errors onto the form's blocks. It returns nothing
// unless every field error has a block to go on.
func formErrors(err error) map[string]string {
	fe := user.ErrorFields(err)
	errs := map[string]string{}
	for _, f := range fe {
		b := blockOf(f.Field)
		if b == "" {
			return nil
		}
		msg := f.Message
		if prev, ok := errs[b]; ok {
			msg = prev + "; " + msg
		}
		errs[b] = sentence(msg)
	}
	return errs
}

// refusal pushes a small view that says why the form was not saved.
func (h *Handler) refusal(ctx context.Context, err error) *slack.ViewSubmissionResponse {
	return refusalView(h.errorAnswer(ctx, err, atForm))
}

// refusalView pushes a small view with a's text.
func refusalView(a answer) *slack.ViewSubmissionResponse {
	v := &slack.ModalViewRequest{
		Type: slack.VTModal, Title: plainText("Not saved"), Close: plainText("Back"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(a.text)}},
	}
	return &slack.ViewSubmissionResponse{ResponseAction: slack.RAPush, View: v}
}
