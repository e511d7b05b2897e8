package slackops

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// listShown is how many users a list answer shows; Slack messages are
// for reading, the API is for walking everything.
const listShown = 20

// historyShown is how many audit entries a history answer shows.
const historyShown = 15

// slackID matches a Slack user id, as Parse leaves a mention.
var slackID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// command answers a slash command. Slack shows the answer only to the
// manager who typed it.
func (h *Handler) command(ctx context.Context, form url.Values) (events.APIGatewayV2HTTPResponse, []any) {
	slackUser := form.Get("user_id")
	cmd, err := Parse(form.Get("text"))
	attrs := []any{"slackUserId", slackUser, "verb", cmd.Verb}
	if err != nil {
		return jsonResponse(ephemeral(usageAnswer(err))), append(attrs, "outcome", "usage")
	}
	if cmd.Verb == "help" {
		return jsonResponse(ephemeral(helpAnswer(h.api != nil))), append(attrs, "outcome", "help")
	}
	actor, err := h.authorize(ctx, slackUser)
	if err != nil {
		return jsonResponse(ephemeral(h.errorAnswer(ctx, err, atCommand))), append(attrs, "outcome", "refused")
	}
	if modal, ok := h.wantsModal(cmd); ok {
		msg, outcome := h.openModal(ctx, actor, cmd, modal, form)
		if msg == nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, append(attrs, "outcome", outcome)
		}
		return jsonResponse(ephemeral(*msg)), append(attrs, "outcome", outcome)
	}
	if cmd.Verb == "status" && h.deferrer != nil {
		job := h.seal(Job{Text: form.Get("text"), SlackUserID: slackUser, ResponseURL: form.Get("response_url"),
			TeamID: form.Get("team_id"), EnterpriseID: form.Get("enterprise_id")})
		if err := h.deferrer.Defer(ctx, job, h.RunJob); err == nil {
			return jsonResponse(ephemeral(answer{text: "Checking the login with the identity provider…"})), append(attrs, "outcome", "deferred")
		} else {
			h.log.WarnContext(ctx, "defer status, answering now", "error", err.Error())
		}
	}
	a := h.run(ctx, actor, cmd)
	return jsonResponse(ephemeral(a)), append(attrs, "outcome", a.outcome)
}

// RunJob runs a deferred command and posts its answer to the job's
// response_url. The request was verified when it was deferred; the job is
// checked again here (its MAC, expiry, workspace and response_url), since
// it may have travelled outside the process. A refused job runs nothing
// and posts nothing.
func (h *Handler) RunJob(ctx context.Context, job Job) {
	refuse := func(reason string) {
		h.log.WarnContext(ctx, "deferred job refused", "reason", reason, "slackUserId", job.SlackUserID, "teamId", job.TeamID)
	}
	if err := h.open(job); err != nil {
		refuse(err.Error())
		return
	}
	if !h.workspace.allows(job.TeamID, job.EnterpriseID) {
		refuse("another workspace")
		return
	}
	if err := checkResponseURL(job.ResponseURL, h.loopback); err != nil {
		refuse(err.Error())
		return
	}
	var a answer
	cmd, err := Parse(job.Text)
	if err != nil {
		a = usageAnswer(err)
	} else if actor, err := h.authorize(ctx, job.SlackUserID); err != nil {
		a = h.errorAnswer(ctx, err, atCommand)
	} else {
		a = h.run(ctx, actor, cmd)
	}
	msg := ephemeral(a)
	if err := h.post(ctx, job.ResponseURL, &msg); err != nil {
		h.log.ErrorContext(ctx, "deferred answer not delivered", "slackUserId", job.SlackUserID, "error", err.Error())
	}
}

// authorize resolves the Slack user to an OpsOS manager: by the Slack id
// stored on a user, else by the email Slack has for them.
func (h *Handler) authorize(ctx context.Context, slackUser string) (onboarding.Actor, error) {
	id := onboarding.Identity{SlackUserID: slackUser, Source: onboarding.SourceSlack}
	if slackUser == "" {
		return onboarding.Actor{}, user.Errorf(user.CodeUnauthorized, "Slack did not say who you are")
	}
	actor, err := h.svc.Authorize(ctx, id)
	if !errors.Is(err, onboarding.ErrSlackUserUnknown) || h.emails == nil {
		return actor, err
	}
	email, refusal, lerr := h.emails.lookup(ctx, slackUser)
	if lerr != nil {
		h.log.WarnContext(ctx, "slack users.info", "slackUserId", slackUser, "error", lerr.Error())
		return onboarding.Actor{}, err
	}
	if refusal != "" {
		// Decided here rather than in the service: only Slack knows who
		// is a guest, a bot or from another organisation.
		h.log.InfoContext(ctx, "slack email fallback refused", "slackUserId", slackUser, "reason", refusal)
		return onboarding.Actor{}, user.Errorf(user.CodeForbidden, "%s; ask an administrator to link your Slack account", refusal)
	}
	if email == "" {
		return onboarding.Actor{}, err
	}
	id.Email = email
	return h.svc.Authorize(ctx, id)
}

// run carries out a command that needs no modal.
func (h *Handler) run(ctx context.Context, actor onboarding.Actor, cmd Command) answer {
	var (
		a   answer
		err error
	)
	switch cmd.Verb {
	case "create":
		a, err = h.create(ctx, actor, cmd)
	case "edit":
		a, err = h.edit(ctx, actor, cmd)
	case "release":
		if sel, ok, serr := bulkSelection(cmd); serr != nil {
			err = serr
		} else if ok {
			a, err = h.previewRelease(ctx, actor, sel)
		} else {
			a, err = h.transition(ctx, actor, cmd, h.svc.Release, "Access released")
		}
	case "hold":
		a, err = h.transition(ctx, actor, cmd, h.svc.Hold, "Access on hold")
	case "resend":
		a, err = h.transition(ctx, actor, cmd, h.svc.Resend, "Invitation resent")
	case "show":
		a, err = h.show(ctx, actor, cmd)
	case "status":
		a, err = h.status(ctx, actor, cmd)
	case "list":
		a, err = h.list(ctx, actor, cmd)
	case "history":
		a, err = h.history(ctx, actor, cmd)
	case "roles":
		a, err = rolesAnswer(actor.Roles(), cmd)
	default:
		return helpAnswer(h.api != nil)
	}
	if err != nil {
		return h.errorAnswer(ctx, err, atCommand)
	}
	a.outcome = "ok"
	return a
}

func (h *Handler) create(ctx context.Context, actor onboarding.Actor, cmd Command) (answer, error) {
	if len(cmd.Words) > 0 {
		return answer{}, &UsageError{Message: fmt.Sprintf("I can't tell what %q is for: write every detail as key=value.\n%s", cmd.Words[0], createUsage)}
	}
	f, err := readFields(cmd.Args)
	if err != nil {
		return answer{}, err
	}
	u, _, err := h.svc.Create(ctx, actor, f.p.Draft(), "")
	if err != nil {
		return answer{}, err
	}
	return card(actor.Roles(), u, "User created"), nil
}

func (h *Handler) edit(ctx context.Context, actor onboarding.Actor, cmd Command) (answer, error) {
	target, err := h.target(ctx, actor, cmd, "edit")
	if err != nil {
		return answer{}, err
	}
	f, err := readFields(cmd.Args)
	if err != nil {
		return answer{}, err
	}
	u, err := h.svc.Edit(ctx, actor, target.ID, 0, f.patch())
	if err != nil {
		return answer{}, err
	}
	return card(actor.Roles(), u, "User updated"), nil
}

type versioned func(ctx context.Context, actor onboarding.Actor, userID string, version int64) (user.User, error)

func (h *Handler) transition(ctx context.Context, actor onboarding.Actor, cmd Command, change versioned, title string) (answer, error) {
	target, err := h.target(ctx, actor, cmd, cmd.Verb)
	if err != nil {
		return answer{}, err
	}
	u, err := change(ctx, actor, target.ID, 0)
	if err != nil {
		return answer{}, err
	}
	return card(actor.Roles(), u, title), nil
}

func (h *Handler) show(ctx context.Context, actor onboarding.Actor, cmd Command) (answer, error) {
	u, err := h.target(ctx, actor, cmd, "show")
	if err != nil {
		return answer{}, err
	}
	return card(actor.Roles(), u, ""), nil
}

// rolesAnswer lists the roles in force and their permissions, as Roles and
// Permissions would show them: what managers check before releasing.
func rolesAnswer(cat *access.Catalogue, cmd Command) (answer, error) {
	if len(cmd.Words) > 0 || len(cmd.Args) > 0 {
		return answer{}, &UsageError{Message: "`roles` takes nothing after it: `/opsos-user roles` lists every role and its permissions."}
	}
	lines := []string{"*Roles and Permissions*"}
	for _, r := range cat.Roles() {
		perms := "no permissions"
		if len(r.Permissions) > 0 {
			perms = "`" + strings.Join(r.Permissions, "`, `") + "`"
		}
		lines = append(lines, fmt.Sprintf("• *%s* (`role=%s`): %s", escape(r.Name), r.ID, perms))
	}
	lines = append(lines, "Use a role by its name or id: `role=\"Night Supervisor\"` or `role=night-supervisor`.")
	text := strings.Join(lines, "\n")
	return answer{text: text, blocks: []slack.Block{section(text)}}, nil
}

func (h *Handler) status(ctx context.Context, actor onboarding.Actor, cmd Command) (answer, error) {
	target, err := h.target(ctx, actor, cmd, "status")
	if err != nil {
		return answer{}, err
	}
	u, d, err := h.svc.Status(ctx, actor, target.ID)
	if err != nil {
		return answer{}, err
	}
	return statusCard(actor.Roles(), u, d), nil
}

func (h *Handler) list(ctx context.Context, actor onboarding.Actor, cmd Command) (answer, error) {
	q := onboarding.ListQuery{Limit: listShown}
	for k, v := range cmd.Args {
		switch k {
		case "status":
			q.Status = user.Status(strings.ToLower(v))
		case "role":
			q.Role = v
		case "type":
			q.Type = user.Type(strings.ToLower(v))
		case "q", "search", "name":
			q.Q = v
		default:
			return answer{}, &UsageError{Message: fmt.Sprintf("list filters by status, role, type or q, not %s.\n%s", k, listUsage)}
		}
	}
	// A bare word is a status (`list introduction`) or a search.
	for _, w := range cmd.Words {
		switch {
		case user.Status(strings.ToLower(w)).Valid() && q.Status == "":
			q.Status = user.Status(strings.ToLower(w))
		case q.Q == "":
			q.Q = w
		default:
			return answer{}, &UsageError{Message: listUsage}
		}
	}
	p, err := h.svc.List(ctx, actor, q)
	if err != nil {
		return answer{}, err
	}
	return listAnswer(actor.Roles(), q, p), nil
}

func (h *Handler) history(ctx context.Context, actor onboarding.Actor, cmd Command) (answer, error) {
	target, err := h.target(ctx, actor, cmd, "history")
	if err != nil {
		return answer{}, err
	}
	p, err := h.svc.History(ctx, actor, target.ID, historyShown, "")
	if err != nil {
		return answer{}, err
	}
	return historyAnswer(target, p), nil
}

// target finds the user a command is about: by email, by a mention of a
// linked Slack user, or by OpsOS user id.
func (h *Handler) target(ctx context.Context, actor onboarding.Actor, cmd Command, verb string) (user.User, error) {
	who := cmd.Args["user"]
	switch {
	case who != "":
	case verb == "edit" && len(cmd.Words) == 1:
		// edit ann@example.com email=new@example.com: the word is whom, the
		// email= is the change.
		who = cmd.Words[0]
	default:
		who = cmd.Args["email"]
	}
	if verb != "edit" && len(cmd.Args) > 0 && who == "" {
		return user.User{}, &UsageError{Message: fmt.Sprintf("%s takes only the user: `/opsos-user %s ada@example.com`.", verb, verb)}
	}
	if who == "" && len(cmd.Words) > 0 {
		who = cmd.Words[0]
	}
	if who == "" || len(cmd.Words) > 1 {
		return user.User{}, &UsageError{Message: fmt.Sprintf("Say which user: `/opsos-user %s ada@example.com`.", verb)}
	}
	var q onboarding.ListQuery
	switch {
	case strings.Contains(who, "@"):
		q = onboarding.ListQuery{Email: who, Limit: 1}
	case slackID.MatchString(who):
		q = onboarding.ListQuery{SlackUserID: who, Limit: 1}
	default:
		return h.svc.Get(ctx, actor, who)
	}
	p, err := h.svc.List(ctx, actor, q)
	if err != nil {
		return user.User{}, err
	}
	if len(p.Users) == 0 {
		if q.Email != "" {
			return user.User{}, user.Errorf(user.CodeNotFound, "No OpsOS user has the email %s.", who)
		}
		return user.User{}, user.Errorf(user.CodeNotFound, "No OpsOS user is linked to <@%s>.", who)
	}
	return p.Users[0], nil
}

// wantsModal tells whether cmd asks for a form: create or edit with no
// details.
func (h *Handler) wantsModal(cmd Command) (string, bool) {
	switch {
	case cmd.Verb == "create" && len(cmd.Args) == 0 && len(cmd.Words) == 0:
		return "create", true
	case cmd.Verb == "edit" && len(cmd.Args) == 0 && len(cmd.Words) == 1:
		return "edit", true
	}
	return "", false
}

// Usage lines, shown with mistakes and in help.
const (
	createUsage = "`/opsos-user create first=Ada last=Lovelace email=ada@example.com role=supervisor type=internal` " +
		"(also: phone=, title=, planner=yes, purchasing=yes, hold=no, slack=@someone)"
	editUsage = "`/opsos-user edit ada@example.com role=planner title=\"Shift lead\"`"
	listUsage = "`/opsos-user list [status] [role=…] [type=…] [q=…]`, e.g. `/opsos-user list introduction role=staff`"
)

// fields are the user details a command gives as key=value.
type fields struct{ p user.Patch }

// fieldKeys maps what managers may type to user fields; keys are compared
// without case, '-', '_' or '.'.
var fieldKeys = map[string]string{
	"first": "firstName", "firstname": "firstName", "given": "firstName",
	"last": "lastName", "lastname": "lastName", "surname": "lastName", "family": "lastName",
	"email": "email", "mail": "email",
	"phone": "phone", "mobile": "phone",
	"title": "jobTitle", "jobtitle": "jobTitle", "job": "jobTitle",
	"role":    "role",
	"type":    "type",
	"planner": "externalPlannerAccess", "externalplanner": "externalPlannerAccess", "externalplanneraccess": "externalPlannerAccess",
	"purchasing": "externalPurchasingAccess", "externalpurchasing": "externalPurchasingAccess", "externalpurchasingaccess": "externalPurchasingAccess",
	"hold": "holdInvite", "holdinvite": "holdInvite",
	"slack": "slackUserId", "slackuser": "slackUserId", "slackid": "slackUserId", "slackuserid": "slackUserId",
	"grant": "grant", "grants": "grant",
	"revoke": "revoke", "revokes": "revoke",
}

// argNames is the key each field is written with in Slack, for answers.
var argNames = map[string]string{
	"firstName": "first", "lastName": "last", "email": "email", "phone": "phone", "jobTitle": "title",
	"role": "role", "type": "type", "externalPlannerAccess": "planner", "externalPurchasingAccess": "purchasing",
	"holdInvite": "hold", "slackUserId": "slack", "grants": "grant", "revokes": "revoke",
}

func fieldKey(k string) string {
	return fieldKeys[strings.NewReplacer("-", "", "_", "", ".", "").Replace(strings.ToLower(k))]
}

// readFields reads key=value details; every unknown key or unreadable
// value is reported at once.
func readFields(args map[string]string) (fields, error) {
	var f fields
	var problems []string
	var invalid []user.FieldError
	for _, k := range slices.Sorted(maps.Keys(args)) {
		v := args[k]
		s := v
		if field := fieldKey(k); field != "" && !user.ValidText(v) {
			// Form values are URL-decoded bytes: refuse what is not
			// text before anything (strings.ToLower, say) repairs it.
			if field == "grant" || field == "revoke" {
				field = "permissions." + field
			}
			invalid = append(invalid, user.FieldError{Field: field, Message: user.InvalidTextMessage})
			continue
		}
		switch fieldKey(k) {
		case "firstName":
			f.p.FirstName = &s
		case "lastName":
			f.p.LastName = &s
		case "email":
			f.p.Email = &s
		case "phone":
			f.p.Phone = &s
		case "jobTitle":
			f.p.JobTitle = &s
		case "role":
			f.p.Role = &s
		case "type":
			t := user.Type(strings.ToLower(s))
			f.p.Type = &t
		case "slackUserId":
			s = strings.TrimPrefix(s, "@")
			f.p.SlackUserID = &s
		case "externalPlannerAccess", "externalPurchasingAccess", "holdInvite":
			b, ok := yesNo(v)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s must be yes or no, not %q", k, v))
				continue
			}
			switch fieldKey(k) {
			case "externalPlannerAccess":
				f.p.ExternalPlannerAccess = &b
			case "externalPurchasingAccess":
				f.p.ExternalPurchasingAccess = &b
			default:
				f.p.HoldInvite = &b
			}
		case "grant", "revoke":
			list := splitList(v)
			if fieldKey(k) == "grant" {
				f.p.Grants = &list
			} else {
				f.p.Revokes = &list
			}
		default:
			problems = append(problems, fmt.Sprintf("%s is not a user detail", k))
		}
	}
	if len(invalid) > 0 {
		return fields{}, user.InvalidFields(invalid...)
	}
	if len(problems) > 0 {
		return fields{}, &UsageError{Message: strings.Join(problems, "; ") + ".\n" + createUsage}
	}
	return f, nil
}

func (f fields) patch() user.Patch { return f.p }

func yesNo(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "y", "true", "on", "1":
		return true, true
	case "no", "n", "false", "off", "0":
		return false, true
	}
	return false, false
}

func splitList(v string) []string {
	out := []string{}
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, p)
	}
	return out
}

// ephemeral wraps an answer as a message only its reader sees.
func ephemeral(a answer) slack.WebhookMessage {
	msg := slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: a.text}
	if len(a.blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: a.blocks}
	}
	return msg
}
