package slackops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// answer is what a command says back: Block Kit, with a plain-text
// version for notifications and screen readers.
type answer struct {
	text    string
	blocks  []slack.Block
	outcome string // for the log
	// Set by errorAnswer where it applies (see there): the title of a
	// card showing the user as they are now, to answer with instead, and
	// the error of each form input, to show on the form instead.
	fresh    string
	onInputs map[string]string
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}
func section(s string) slack.Block { return slack.NewSectionBlock(mrkdwn(s), nil, nil) }

// escape keeps user-entered text from being read as Slack markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func usageAnswer(err error) answer {
	var ue *UsageError
	msg := "I couldn't read that command."
	if errors.As(err, &ue) {
		msg = ue.Message
	}
	return answer{text: msg, blocks: []slack.Block{section(msg)}, outcome: "usage"}
}

func helpAnswer(modals bool) answer {
	formNote := "With no details, `create` and `edit <email>` open a form."
	if !modals {
		formNote = "Forms need the Slack app's bot token, which is not set here: give the details as key=value."
	}
	text := strings.Join([]string{
		"*/opsos-user* adds and manages OpsOS system users.",
		"• `create first=Ada last=Lovelace email=ada@example.com role=supervisor type=internal` (also: phone=, title=, planner=yes, purchasing=yes, hold=no, slack=@someone)",
		"  New users start in *Introduction Mode* (hold=yes): they exist and can be scheduled, but cannot log in and are not told.",
		"• `release <email>` gives them access: they get an email with a temporary password. `release role=staff` (or `release all`) releases everyone on hold who matches, after you confirm the count.",
		"• `hold <email>` takes access away again; `resend <email>` sends a fresh invitation.",
		"• `edit <email> key=value…` — e.g. " + editUsage,
		"• `show <email>`, `status <email>` (can they log in, and if not, why), `history <email>`",
		"• `list` — " + listUsage,
		"• `roles` lists the roles and their permissions: check the role before you release access.",
		formNote,
	}, "\n")
	return answer{text: text, blocks: []slack.Block{section(text)}, outcome: "help"}
}

// errorSite is where an error is answered. Most codes read the same at
// every site; a few read differently where the manager can act on them.
type errorSite int

const (
	atCommand     errorSite = iota // a command's reply; also a sign-in refused anywhere
	atCardRelease                  // a card's Release access button
	atBulkRelease                  // a bulk release's confirm button
	atForm                         // a create or edit form submitted
)

// errorAnswer is Slack's one mapping from an error to an answer, as
// httpapi's statusOf is HTTP's: the words the manager sees and the outcome
// logged, string(code) unless said otherwise. Internal errors are logged
// and answered without detail. Where the manager can act on it:
//   - a stale card offers the user as they are now (fresh);
//   - a stale form says to open it again;
//   - a bulk release whose selection changed says to run it again;
//   - a form's field errors go on its inputs (onInputs), outcome "invalid".
func (h *Handler) errorAnswer(ctx context.Context, err error, at errorSite) answer {
	var ue *UsageError
	if errors.As(err, &ue) {
		return usageAnswer(err)
	}
	if at == atForm {
		if fe := formErrors(err); len(fe) > 0 {
			text := fieldsText(user.ErrorFields(err))
			return answer{text: text, blocks: []slack.Block{section(text)}, outcome: "invalid", onInputs: fe}
		}
	}
	code := user.ErrorCode(err)
	a := answer{outcome: string(code)}
	switch {
	case code == user.CodeInternal:
		h.log.ErrorContext(ctx, "slack command failed", "error", err.Error())
		a.text = "Something went wrong on our side and nothing was changed. Please try again in a minute."
	case code == user.CodeUnauthorized, code == user.CodeForbidden:
		// The message as it is: a refusal by an authority rule ends with
		// the rule's name, "(rule: containment)", for the manager to quote.
		a.text = "Sorry, you can't do that: " + user.ErrorMessage(err) + ". Nothing was changed. Ask an OpsOS administrator if you need to manage users."
	case code == user.CodeStale && at == atForm:
		a.text = "Someone changed this user after you opened the form, so nothing was saved. Close the form and run `/opsos-user edit` again to see their changes."
	case code == user.CodeConflict && at == atBulkRelease:
		a.text = user.ErrorMessage(err) + ". Run the command again to see who matches now."
	case len(user.ErrorFields(err)) > 0:
		a.text = fieldsText(user.ErrorFields(err))
	default:
		a.text = sentence(user.ErrorMessage(err))
	}
	a.blocks = []slack.Block{section(a.text)}
	if code == user.CodeStale && at == atCardRelease {
		// The text stays for when the user cannot be read again.
		a.fresh = "This card was out of date, so nothing was released. Here is the user now"
	}
	return a
}

// fieldsText lists the fields to fix, by the names the manager types.
func fieldsText(fe []user.FieldError) string {
	lines := make([]string, 0, len(fe))
	for _, f := range fe {
		lines = append(lines, fmt.Sprintf("• *%s* %s", argName(f.Field), escape(f.Message)))
	}
	return "Nothing was changed; please fix:\n" + strings.Join(lines, "\n")
}

// failureReason is why one user of a bulk release was not released, for a
// line of its answer: the error's own message, as the API gives it.
func failureReason(err error) string { return escape(user.ErrorMessage(err)) }

// argName is the key a manager types for a field.
func argName(field string) string {
	if n, ok := argNames[field]; ok {
		return n
	}
	return field
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// statusLabels are the statuses in words.
var statusLabels = map[user.Status]string{
	user.StatusIntroduction:  "Introduction Mode",
	user.StatusReleasing:     "Releasing access",
	user.StatusInvited:       "Invited",
	user.StatusActive:        "Active",
	user.StatusSuspended:     "On hold (suspended)",
	user.StatusReleaseFailed: "Release failed",
}

// next says what happens next for u, in plain words.
func next(u user.User) string {
	first := escape(u.FirstName)
	switch u.Status {
	case user.StatusIntroduction:
		return fmt.Sprintf("%s exists and can be scheduled in Planner, but cannot log in and has not been told. Release access when you are ready.", first)
	case user.StatusReleasing:
		return fmt.Sprintf("The login is being created; %s will get an email with a temporary password in a moment.", first)
	case user.StatusInvited:
		return fmt.Sprintf("%s was emailed a temporary password and must set their own at first login.", first)
	case user.StatusActive:
		return fmt.Sprintf("%s has logged in and set their own password.", first)
	case user.StatusSuspended:
		return fmt.Sprintf("Access is on hold: %s cannot log in. Release access to give it back.", first)
	case user.StatusReleaseFailed:
		return fmt.Sprintf("The release failed: %s. Fix it, then release access again.", escape(u.StatusReason))
	}
	return ""
}

// card is the summary of one user: name, role, type, status and what
// happens next, with a Release access button while they have no access.
func card(roles *access.Catalogue, u user.User, title string) answer {
	role := roleName(roles, u.Role)
	typ := "Internal"
	if u.Type == user.External {
		typ = "External"
	}
	hold := "No"
	if u.HoldInvite {
		hold = "Yes"
	}
	heading := fmt.Sprintf("*%s* · %s", escape(u.Name()), escape(u.Email))
	if title != "" {
		heading = fmt.Sprintf("%s: %s", title, heading)
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Role*\n" + escape(role)), mrkdwn("*Type*\n" + typ),
		mrkdwn("*Status*\n" + statusLabels[u.Status]), mrkdwn("*Hold Invite*\n" + hold),
	}
	if u.JobTitle != "" {
		fields = append(fields, mrkdwn("*Job title*\n"+escape(u.JobTitle)))
	}
	if u.SlackUserID != "" {
		fields = append(fields, mrkdwn("*Slack*\n<@"+u.SlackUserID+">"))
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(heading), fields, nil),
		slack.NewContextBlock("", mrkdwn(next(u))),
	}
	if canRelease(u) {
		blocks = append(blocks, slack.NewActionBlock("user-actions", releaseButton(u)))
	}
	text := fmt.Sprintf("%s (%s): %s, %s. %s", u.Name(), u.Email, role, statusLabels[u.Status], next(u))
	if title != "" {
		text = title + ": " + text
	}
	return answer{text: text, blocks: blocks}
}

func canRelease(u user.User) bool {
	return u.HoldInvite && (u.Status == user.StatusIntroduction || u.Status == user.StatusSuspended) ||
		u.Status == user.StatusReleaseFailed
}

// actionRelease is the action id of the Release access button.
const actionRelease = "release"

func releaseButton(u user.User) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(actionRelease, releaseValue(u), plainText("Release access"))
	b.Style = slack.StylePrimary
	b.Confirm = slack.NewConfirmationBlockObject(
		plainText("Release access?"),
		mrkdwn(fmt.Sprintf("%s will get an email at %s with a temporary password and can log in to OpsOS.", escape(u.Name()), escape(u.Email))),
		plainText("Release access"), plainText("Not yet"))
	return b
}

// releaseValue is the button's value: the user and the version the card
// showed, so a click on an outdated card is caught.
func releaseValue(u user.User) string { return u.ID + ":" + strconv.FormatInt(u.Version, 10) }

func parseReleaseValue(v string) (id string, version int64, ok bool) {
	id, ver, found := strings.Cut(v, ":")
	n, err := strconv.ParseInt(ver, 10, 64)
	return id, n, found && id != "" && err == nil && n > 0
}

func statusCard(roles *access.Catalogue, u user.User, d user.Diagnosis) answer {
	a := card(roles, u, "")
	lines := []string{"*Login:* " + escape(sentence(d.Summary))}
	if !d.PasswordExpiresAt.IsZero() {
		lines = append(lines, "*Temporary password expires:* "+slackDate(d.PasswordExpiresAt))
	}
	if d.NextStep != "" {
		lines = append(lines, "*Next step:* "+escape(sentence(d.NextStep)))
	}
	a.blocks = slices.Insert(a.blocks, 1, section(strings.Join(lines, "\n")))
	a.text = fmt.Sprintf("%s (%s): %s %s", u.Name(), u.Email, sentence(d.Summary), sentence(d.NextStep))
	return a
}

// slackDate shows t in the reader's own time zone.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2 Jan 2006 15:04 UTC"))
}

func listAnswer(roles *access.Catalogue, q onboarding.ListQuery, p onboarding.Page) answer {
	var filters []string
	if q.Status != "" {
		filters = append(filters, statusLabels[q.Status])
	}
	if q.Role != "" {
		filters = append(filters, "role "+q.Role)
	}
	if q.Type != "" {
		filters = append(filters, string(q.Type))
	}
	if q.Q != "" {
		filters = append(filters, fmt.Sprintf("matching %q", q.Q))
	}
	scope := "Users"
	if len(filters) > 0 {
		scope += " (" + escape(strings.Join(filters, ", ")) + ")"
	}
	if len(p.Users) == 0 {
		text := scope + ": none."
		return answer{text: text, blocks: []slack.Block{section(text)}}
	}
	lines := []string{"*" + scope + "*"}
	for _, u := range p.Users {
		role := roleName(roles, u.Role)
		lines = append(lines, fmt.Sprintf("• *%s* · %s · %s · %s", escape(u.Name()), escape(u.Email), escape(role), statusLabels[u.Status]))
	}
	if p.NextCursor != "" {
		lines = append(lines, fmt.Sprintf("_Showing the first %d; narrow it down with status, role=… or q=…_", len(p.Users)))
	}
	text := strings.Join(lines, "\n")
	return answer{text: text, blocks: []slack.Block{section(text)}}
}

func historyAnswer(u user.User, p onboarding.HistoryPage) answer {
	lines := []string{fmt.Sprintf("*History of %s* (latest first)", escape(u.Name()))}
	entries := slices.Clone(p.Entries)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Version > entries[j].Version })
	for _, e := range entries {
		who := escape(e.ActorEmail)
		if e.SlackUserID != "" {
			who = "<@" + e.SlackUserID + ">"
		}
		changes := make([]string, 0, len(e.Changes))
		for _, c := range e.Changes {
			changes = append(changes, argName(c.Field))
		}
		line := fmt.Sprintf("• %s — *%s* by %s via %s", slackDate(e.At), escape(e.Action), who, e.Source)
		if len(changes) > 0 {
			line += " (" + escape(strings.Join(changes, ", ")) + ")"
		}
		lines = append(lines, line)
	}
	if p.NextCursor != "" {
		lines = append(lines, fmt.Sprintf("_The first %d changes; the whole trail is at GET /users/%s/history in the API_", len(entries), u.ID))
	}
	text := strings.Join(lines, "\n")
	return answer{text: text, blocks: []slack.Block{section(text)}}
}

// roleName is the name of the role id in roles (the request's), or the
// id when the role is gone: a card still shows something.
func roleName(roles *access.Catalogue, id string) string {
	if r, ok := roles.Role(id); ok {
		return r.Name
	}
	return id
}
