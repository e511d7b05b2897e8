package user

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/opsos/onboarding/internal/phone"
)

// Catalogue is what validation needs to know about roles and permissions.
type Catalogue interface {
	// ResolveRole finds a role by id or name, case-insensitively.
	// plannerWorker is true for roles that belong to Planner's worker portal.
	ResolveRole(name string) (id string, plannerWorker bool, ok bool)
	// PermissionExists reports whether name is a known permission.
	PermissionExists(name string) bool
}

// Rules validates and normalises user input.
type Rules struct {
	Catalogue Catalogue
	// PhoneRegion is the ISO 3166 region assumed for numbers written
	// without a country code, such as "GB" or "US".
	PhoneRegion string
}

// Draft is the input for a new user.
type Draft struct {
	Type                     Type
	FirstName                string
	LastName                 string
	Email                    string
	Phone                    string
	JobTitle                 string
	Role                     string
	ExternalPlannerAccess    bool
	ExternalPurchasingAccess bool
	// HoldInvite defaults to true (Introduction Mode) when nil.
	HoldInvite *bool
	Grants     []string
	Revokes    []string
	// SlackUserID is optional. omitempty keeps the idempotency fingerprint
	// of a draft without it what it was before the field existed.
	SlackUserID string `json:",omitempty"`
}

// Patch is an edit: nil fields stay as they are. Grants and Revokes, when
// set, replace the user's adjustments.
type Patch struct {
	Type                     *Type
	FirstName                *string
	LastName                 *string
	Email                    *string
	Phone                    *string
	JobTitle                 *string
	Role                     *string
	ExternalPlannerAccess    *bool
	ExternalPurchasingAccess *bool
	HoldInvite               *bool
	Grants                   *[]string
	Revokes                  *[]string
	// SlackUserID set to "" unlinks the Slack account.
	SlackUserID *string
}

// Draft is the new user the patch describes, for a create: the fields it
// leaves out are empty, and Hold Invite is left to its default (on)
// unless the patch sets it. HTTP bodies, Slack arguments and CSV rows
// all decode into a Patch; this is their one way to a Draft.
func (p Patch) Draft() Draft {
	d := Draft{HoldInvite: p.HoldInvite}
	for dst, src := range map[*string]*string{
		&d.FirstName: p.FirstName, &d.LastName: p.LastName, &d.Email: p.Email, &d.Phone: p.Phone,
		&d.JobTitle: p.JobTitle, &d.Role: p.Role, &d.SlackUserID: p.SlackUserID,
	} {
		if src != nil {
			*dst = *src
		}
	}
	if p.Type != nil {
		d.Type = *p.Type
	}
	if p.ExternalPlannerAccess != nil {
		d.ExternalPlannerAccess = *p.ExternalPlannerAccess
	}
	if p.ExternalPurchasingAccess != nil {
		d.ExternalPurchasingAccess = *p.ExternalPurchasingAccess
	}
	if p.Grants != nil {
		d.Grants = *p.Grants
	}
	if p.Revokes != nil {
		d.Revokes = *p.Revokes
	}
	return d
}

// Against returns p without the fields u already has: text compared
// trimmed, the email normalised, the rest as it is (a phone number or a
// role must be given as u stores it, E.164 and the role id, as a form
// filled from u gives them). A form that shows every field then edits
// only what the manager changed.
func (p Patch) Against(u User) Patch {
	for _, f := range []struct {
		field **string
		was   string
	}{{&p.FirstName, u.FirstName}, {&p.LastName, u.LastName}, {&p.Phone, u.Phone}, {&p.JobTitle, u.JobTitle},
		{&p.Role, u.Role}, {&p.SlackUserID, u.SlackUserID}} {
		if *f.field != nil && strings.TrimSpace(**f.field) == f.was {
			*f.field = nil
		}
	}
	if p.Email != nil && NormalizeEmail(*p.Email) == u.Email {
		p.Email = nil
	}
	if p.Type != nil && *p.Type == u.Type {
		p.Type = nil
	}
	for _, f := range []struct {
		field **bool
		was   bool
	}{{&p.ExternalPlannerAccess, u.ExternalPlannerAccess}, {&p.ExternalPurchasingAccess, u.ExternalPurchasingAccess}, {&p.HoldInvite, u.HoldInvite}} {
		if *f.field != nil && **f.field == f.was {
			*f.field = nil
		}
	}
	if p.Grants != nil && slices.Equal(*p.Grants, u.Grants) {
		p.Grants = nil
	}
	if p.Revokes != nil && slices.Equal(*p.Revokes, u.Revokes) {
		p.Revokes = nil
	}
	return p
}

// Empty reports whether the patch changes nothing at all.
func (p Patch) Empty() bool { return p == Patch{} }

// Change is one field of a user changed by a write, for the audit trail.
type Change struct {
	Field string `json:"field"`
	From  any    `json:"from,omitempty"`
	To    any    `json:"to,omitempty"`
}

// Limits on free text, generous for real names and titles.
const (
	maxNameLen  = 100
	maxEmailLen = 254
)

// PlannerWorkerMessage is the answer to an attempt to create a Planner
// worker as a system user.
const PlannerWorkerMessage = "Planner workers are not system users: people who only need to see their shifts are added through the Planner's worker onboarding flow (Planner → Workers → Invite worker), not here"

// New validates d and returns the user it describes, with status
// introduction (or releasing when the draft turns Hold Invite off).
func (r Rules) New(d Draft, id, actor string, now time.Time) (User, error) {
	var fe fieldErrors
	u := User{
		ID:                       id,
		Type:                     d.Type,
		ExternalPlannerAccess:    d.ExternalPlannerAccess,
		ExternalPurchasingAccess: d.ExternalPurchasingAccess,
		HoldInvite:               true,
		Version:                  1,
		CreatedAt:                now,
		CreatedBy:                actor,
		UpdatedAt:                now,
		UpdatedBy:                actor,
	}
	if u.Type == "" {
		u.Type = Internal
	}
	if d.HoldInvite != nil {
		u.HoldInvite = *d.HoldInvite
	}
	u.FirstName = r.name(&fe, "firstName", d.FirstName, true)
	u.LastName = r.name(&fe, "lastName", d.LastName, true)
	u.Email = r.email(&fe, d.Email)
	u.Phone = r.phone(&fe, d.Phone)
	u.JobTitle = r.name(&fe, "jobTitle", d.JobTitle, false)
	u.SlackUserID = r.slackUserID(&fe, d.SlackUserID)
	u.Role = r.role(&fe, d.Role)
	u.Grants = r.permissions(&fe, "permissions.grant", d.Grants)
	u.Revokes = r.permissions(&fe, "permissions.revoke", d.Revokes)
	r.consistent(&fe, &u)
	if err := fe.err(); err != nil {
		return User{}, err
	}
	if u.HoldInvite {
		u.Status = StatusIntroduction
	} else {
		u.Status = StatusReleasing
		u.InviteGeneration = 1
	}
	return u, nil
}

// Apply returns u edited by p, the changes made, and an error if the patch
// breaks a rule or is not allowed in u's status. A patch that changes
// nothing returns u unchanged and no changes.
func (r Rules) Apply(u User, p Patch, actor string, now time.Time) (User, []Change, error) {
	var fe fieldErrors
	n := u.Clone()
	if p.Type != nil {
		n.Type = *p.Type
	}
	if p.FirstName != nil {
		n.FirstName = r.name(&fe, "firstName", *p.FirstName, true)
	}
	if p.LastName != nil {
		n.LastName = r.name(&fe, "lastName", *p.LastName, true)
	}
	if p.Email != nil {
		n.Email = r.email(&fe, *p.Email)
	}
	if p.Phone != nil {
		n.Phone = r.phone(&fe, *p.Phone)
	}
	if p.JobTitle != nil {
		n.JobTitle = r.name(&fe, "jobTitle", *p.JobTitle, false)
	}
	if p.SlackUserID != nil {
		n.SlackUserID = r.slackUserID(&fe, *p.SlackUserID)
	}
	if p.Role != nil {
		n.Role = r.role(&fe, *p.Role)
	}
	if p.ExternalPlannerAccess != nil {
		n.ExternalPlannerAccess = *p.ExternalPlannerAccess
	}
	if p.ExternalPurchasingAccess != nil {
		n.ExternalPurchasingAccess = *p.ExternalPurchasingAccess
	}
	if p.Grants != nil {
		n.Grants = r.permissions(&fe, "permissions.grant", *p.Grants)
	}
	if p.Revokes != nil {
		n.Revokes = r.permissions(&fe, "permissions.revoke", *p.Revokes)
	}
	r.consistent(&fe, &n)
	if n.Email != u.Email && !EmailEditable(u.Status) {
		fe.add("email", "cannot change once access is released (status %s): the email is the user's login", u.Status)
	}
	if p.HoldInvite != nil && *p.HoldInvite != u.HoldInvite {
		if *p.HoldInvite {
			n = hold(n)
		} else {
			n = release(n)
		}
	}
	if err := fe.err(); err != nil {
		return u, nil, err
	}
	changes := Diff(u, n)
	if len(changes) == 0 {
		return u, nil, nil
	}
	n.Version = u.Version + 1
	n.UpdatedAt = now
	n.UpdatedBy = actor
	return n, changes, nil
}

// Release turns Hold Invite off: the release worker will create the login
// and send the invitation.
func Release(u User, actor string, now time.Time) (User, []Change, error) {
	if !u.HoldInvite {
		return u, nil, Errorf(CodeConflict, "access is already released (status %s); to send a new temporary password, resend the invite", u.Status)
	}
	return touch(u, release(u.Clone()), actor, now)
}

// Hold turns Hold Invite on. Before release it changes nothing; after
// release it suspends the login.
func Hold(u User, actor string, now time.Time) (User, []Change, error) {
	if u.HoldInvite {
		return u, nil, Errorf(CodeConflict, "Hold Invite is already on (status %s)", u.Status)
	}
	return touch(u, hold(u.Clone()), actor, now)
}

// Resend asks for a new temporary password and invitation email.
func Resend(u User, actor string, now time.Time) (User, []Change, error) {
	switch u.Status {
	case StatusInvited, StatusReleaseFailed, StatusReleasing:
	case StatusActive:
		return u, nil, Errorf(CodeConflict, "the user has already set their own password; there is no invitation to resend")
	default:
		return u, nil, Errorf(CodeConflict, "Hold Invite is on (status %s): release access first", u.Status)
	}
	n := u.Clone()
	n.InviteGeneration++
	n.Status = StatusReleasing
	n.StatusReason = ""
	return touch(u, n, actor, now)
}

func touch(old, n User, actor string, now time.Time) (User, []Change, error) {
	n, changes := stamp(old, n, actor, now)
	return n, changes, nil
}

// stamp makes n, a transition of old, old's next version, written by
// actor at now, and lists what changed.
func stamp(old, n User, actor string, now time.Time) (User, []Change) {
	n.Version = old.Version + 1
	n.UpdatedAt = now
	n.UpdatedBy = actor
	return n, Diff(old, n)
}

// The release worker's transitions record on u what it did for the
// change that left the user as changed. The user may have moved on since
// (held again, sent a new invitation, or recorded by an earlier copy of
// the change): then nothing is left to record, and u comes back
// unchanged with no changes, as from an edit that changes nothing.

// StillReleasing reports whether u is still as the change that left the
// user as changed made them: releasing, for the same invitation.
func StillReleasing(u, changed User) bool {
	return u.Status == StatusReleasing && u.InviteGeneration == changed.InviteGeneration
}

// Invited records that the invitation changed asked for was emailed at
// sent: the user is invited, and a reason left by a failure is cleared.
func Invited(u, changed User, sent time.Time, actor string, now time.Time) (User, []Change) {
	if !StillReleasing(u, changed) {
		return u, nil
	}
	n := u.Clone()
	n.Status, n.StatusReason, n.InvitedAt = StatusInvited, "", sent
	return stamp(u, n, actor, now)
}

// ReleaseFailed records that the release changed asked for gave up, for
// reason (a sentence for people, such as "the email address was
// rejected by the mail service").
func ReleaseFailed(u, changed User, reason, actor string, now time.Time) (User, []Change) {
	if !StillReleasing(u, changed) {
		return u, nil
	}
	n := u.Clone()
	n.Status, n.StatusReason = StatusReleaseFailed, reason
	return stamp(u, n, actor, now)
}

// ReEnabled records that a suspended user who had set their own password
// was released again by changed and their login let back in: they are
// active again, with no new invitation.
func ReEnabled(u, changed User, actor string, now time.Time) (User, []Change) {
	if !StillReleasing(u, changed) {
		return u, nil
	}
	n := u.Clone()
	n.Status, n.StatusReason = StatusActive, ""
	return stamp(u, n, actor, now)
}

// SignIn is a sign-in as the identity provider reports it: the OpsOS
// user id kept on the login, and the login's email. Either may be empty.
type SignIn struct {
	UserID string
	Email  string
}

// Activated records a first sign-in with the user's own password. An
// invited user becomes active; so does one still releasing when the
// login names the user by OpsOS id and email both: the worker created
// that login and emailed its password, then died before recording
// invited, and the sign-in proves the email arrived (DESIGN.md §10).
// Anyone else is left alone, as is everyone when the login's email is
// not the user's (a login left from before the email was fixed, say).
func Activated(u User, s SignIn, actor string, now time.Time) (User, []Change) {
	if !activates(u, s) {
		return u, nil
	}
	n := u.Clone()
	n.Status, n.ActivatedAt = StatusActive, now
	return stamp(u, n, actor, now)
}

func activates(u User, s SignIn) bool {
	if s.Email != "" && NormalizeEmail(s.Email) != NormalizeEmail(u.Email) {
		return false
	}
	switch u.Status {
	case StatusInvited:
		return true
	case StatusReleasing:
		return s.UserID == u.ID && s.Email != ""
	}
	return false
}

// release is the transition to Hold Invite = No: from introduction or
// suspended, the worker takes over.
func release(u User) User {
	u.HoldInvite = false
	u.Status = StatusReleasing
	u.StatusReason = ""
	if u.InviteGeneration == 0 {
		u.InviteGeneration = 1
	}
	return u
}

// hold is the transition to Hold Invite = Yes. Once the release has
// started a login may exist, so the user is suspended rather than sent
// back to introduction: the worker disables whatever login there is.
func hold(u User) User {
	u.HoldInvite = true
	if u.Status != StatusIntroduction {
		u.Status = StatusSuspended
	}
	return u
}

// EmailEditable reports whether the email, which becomes the login name,
// may still change in status s.
func EmailEditable(s Status) bool {
	return s == StatusIntroduction || s == StatusReleaseFailed
}

// Diff lists the fields that differ between a and b, in a fixed order.
func Diff(a, b User) []Change {
	var cs []Change
	add := func(field string, from, to any, differ bool) {
		if differ {
			cs = append(cs, Change{Field: field, From: from, To: to})
		}
	}
	add("type", a.Type, b.Type, a.Type != b.Type)
	add("firstName", a.FirstName, b.FirstName, a.FirstName != b.FirstName)
	add("lastName", a.LastName, b.LastName, a.LastName != b.LastName)
	add("email", a.Email, b.Email, a.Email != b.Email)
	add("phone", a.Phone, b.Phone, a.Phone != b.Phone)
	add("jobTitle", a.JobTitle, b.JobTitle, a.JobTitle != b.JobTitle)
	add("slackUserId", a.SlackUserID, b.SlackUserID, a.SlackUserID != b.SlackUserID)
	add("role", a.Role, b.Role, a.Role != b.Role)
	add("externalPlannerAccess", a.ExternalPlannerAccess, b.ExternalPlannerAccess, a.ExternalPlannerAccess != b.ExternalPlannerAccess)
	add("externalPurchasingAccess", a.ExternalPurchasingAccess, b.ExternalPurchasingAccess, a.ExternalPurchasingAccess != b.ExternalPurchasingAccess)
	add("holdInvite", a.HoldInvite, b.HoldInvite, a.HoldInvite != b.HoldInvite)
	add("status", a.Status, b.Status, a.Status != b.Status)
	add("permissions.grant", a.Grants, b.Grants, !slices.Equal(a.Grants, b.Grants))
	add("permissions.revoke", a.Revokes, b.Revokes, !slices.Equal(a.Revokes, b.Revokes))
	add("inviteGeneration", a.InviteGeneration, b.InviteGeneration, a.InviteGeneration != b.InviteGeneration)
	return cs
}

// CheckName applies the rules of a required name to v (trimmed, plain
// text, at most 100 characters), for names other than a user's, such as
// a role's. It returns the trimmed name and the rules it breaks, if any.
func CheckName(field, v string) (string, []FieldError) {
	var fe fieldErrors
	v = Rules{}.name(&fe, field, v, true)
	return v, fe
}

func (r Rules) name(fe *fieldErrors, field, v string, required bool) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		fe.add(field, "is required")
	case !ValidText(v):
		fe.add(field, "%s", InvalidTextMessage)
	case strings.ContainsFunc(v, unicode.IsControl):
		fe.add(field, "must be plain text without control characters")
	case hasBidiControl(v):
		fe.add(field, "%s", BidiControlMessage)
	case utf8.RuneCountInString(v) > maxNameLen:
		fe.add(field, "must be at most %d characters", maxNameLen)
	}
	return v
}

// NormalizeEmail returns the stored form of an email address, the form
// every lookup by email must use: trimmed, lower-case, in Unicode NFC (so
// "é" typed as e + U+0301 and as U+00E9 is one address), with the domain
// in its IDNA ASCII form (so "bücher.example" and "xn--bcher-kva.example"
// are one domain, and the form Amazon SES and Cognito accept is stored).
// Text that is not valid UTF-8, or a domain IDNA refuses, is returned
// trimmed and lower-case only; the email rule then refuses it.
func NormalizeEmail(v string) string {
	n, _ := normalizeEmail(v)
	return n
}

func normalizeEmail(v string) (string, error) {
	v = strings.TrimSpace(v)
	if !ValidText(v) {
		return strings.ToLower(v), nil
	}
	// Lower-casing can decompose (İ becomes i + U+0307), so NFC comes last.
	v = norm.NFC.String(strings.ToLower(v))
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return v, nil
	}
	// idna.Lookup is the strict UTS #46 profile browsers and resolvers use
	// for lookups: it maps (case, width, NFC), checks STD3 hostname rules,
	// the bidi and joiner rules, and refuses what cannot be a domain.
	domain, err := idna.Lookup.ToASCII(v[at+1:])
	if err != nil {
		return v, err
	}
	return v[:at+1] + domain, nil
}

func (r Rules) email(fe *fieldErrors, v string) string {
	if !ValidText(v) {
		fe.add("email", "%s", InvalidTextMessage)
		return strings.TrimSpace(v)
	}
	v, idnaErr := normalizeEmail(v)
	if v == "" {
		fe.add("email", "is required")
		return v
	}
	if a, err := mail.ParseAddress(v); idnaErr != nil && err == nil && a.Address == v && a.Name == "" {
		// A plain address whose domain alone is wrong: say what IDNA
		// found. Anything else gets the general rule below.
		fe.add("email", "must end in an internet domain name such as example.com or bücher.example: %s", idnaProblem(idnaErr))
		return v
	}
	if msg := emailProblem(v); msg != "" {
		fe.add("email", "%s", msg)
	} else if idnaErr != nil {
		fe.add("email", "must end in an internet domain name such as example.com: %s", idnaProblem(idnaErr))
	}
	return v
}

// idnaProblem is what the idna package says is wrong, without its prefix.
func idnaProblem(err error) string { return strings.TrimPrefix(err.Error(), "idna: ") }

// emailProblem checks a normalised plain address (no display name, no
// quoting) the way a mail provider would accept it as a login.
//
// The part before the @ must be ASCII. Addresses with accented or
// non-Latin local parts (RFC 6531, SMTPUTF8) cannot be invited: Amazon
// SES sends only to 7-bit ASCII addresses (it takes Unicode domains only
// as punycode, which NormalizeEmail stores), and Cognito's sign-in would
// then hold a login nobody can receive mail for. Refusing at the door with
// that reason beats a release that fails later.
func emailProblem(v string) string {
	const rule = "must be a single email address such as name@example.com"
	if len(v) > maxEmailLen {
		return fmt.Sprintf("must be at most %d characters", maxEmailLen)
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return rule
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || len(local) > 64 || strings.HasPrefix(local, "\"") {
		return rule
	}
	if strings.ContainsFunc(local, func(c rune) bool { return c >= utf8.RuneSelf }) {
		return "must have only ASCII letters, digits and punctuation before the @: the invitation email service (Amazon SES) cannot deliver to accented or non-Latin addresses there; the domain after the @ may be international"
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return rule
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return rule
			}
		}
	}
	return ""
}

func (r Rules) phone(fe *fieldErrors, v string) string {
	v = strings.TrimSpace(v)
	if !fe.text("phone", v) {
		return v
	}
	if v == "" {
		return ""
	}
	region := r.PhoneRegion
	if region == "" {
		region = "GB"
	}
	e164, ok := phone.Normalize(v, region)
	if !ok {
		fe.add("phone", "must be a valid phone number, with a country code such as +44 unless it is a %s number", region)
		return v
	}
	return e164
}

// NormalizeSlackUserID returns the stored form of a Slack user id: trimmed
// and upper-case, as Slack writes its ids.
func NormalizeSlackUserID(v string) string { return strings.ToUpper(strings.TrimSpace(v)) }

// ValidSlackUserID reports whether id, in its stored form, looks like a
// Slack user id: U or W (Enterprise Grid), then 2 to 20 letters and
// digits, that is ^[UW][A-Z0-9]{2,20}$.
func ValidSlackUserID(id string) bool {
	if len(id) < 3 || len(id) > 21 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for _, c := range id[1:] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (r Rules) slackUserID(fe *fieldErrors, v string) string {
	if !fe.text("slackUserId", v) {
		return strings.TrimSpace(v)
	}
	v = NormalizeSlackUserID(v)
	if v != "" && !ValidSlackUserID(v) {
		fe.add("slackUserId", "must be a Slack user id such as U012AB3CD: U or W, then 2 to 20 letters and digits (in Slack: profile, ⋮, Copy member ID)")
	}
	return v
}

func (r Rules) role(fe *fieldErrors, v string) string {
	v = strings.TrimSpace(v)
	if !fe.text("role", v) {
		return v
	}
	if v == "" {
		fe.add("role", "is required: every user has exactly one role")
		return v
	}
	id, worker, ok := r.Catalogue.ResolveRole(v)
	switch {
	case !ok:
		fe.add("role", "%q is not a role; see GET /roles for the roles there are", v)
		return v
	case worker:
		fe.add("role", "%s", PlannerWorkerMessage)
	}
	return id
}

func (r Rules) permissions(fe *fieldErrors, field string, vs []string) []string {
	var out []string
	for _, p := range vs {
		if !fe.text(field, p) {
			continue
		}
		p = strings.ToLower(strings.TrimSpace(p))
		if !r.Catalogue.PermissionExists(p) {
			fe.add(field, "%q is not a permission; see GET /roles for the permissions there are", p)
			continue
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (r Rules) consistent(fe *fieldErrors, u *User) {
	if fe.text("type", string(u.Type)) && !u.Type.Valid() {
		fe.add("type", "must be %q or %q", Internal, External)
	}
	if u.Type == Internal {
		if u.ExternalPlannerAccess {
			fe.add("externalPlannerAccess", "is only for external users")
		}
		if u.ExternalPurchasingAccess {
			fe.add("externalPurchasingAccess", "is only for external users")
		}
	}
	for _, g := range u.Grants {
		if slices.Contains(u.Revokes, g) {
			fe.add("permissions", "%q cannot be both granted and revoked", g)
		}
	}
}
