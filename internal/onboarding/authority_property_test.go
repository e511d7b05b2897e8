package onboarding_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"
	"pgregory.net/rapid"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/slackops"
	"github.com/opsos/onboarding/internal/store/embedded"
	"github.com/opsos/onboarding/internal/user"
)

// The property: whatever sequence of operations whatever callers send,
// through whichever door, every change that happens is one its actor was
// allowed (an active manager; the target's permissions before and after
// within the actor's; on their own account only the profile), some
// active user can still change settings, and every refused call changed
// nothing. The same generator drives the service, the HTTP handler and
// the Slack handler.
//
// Roles change in the same runs (DESIGN.md §11): creating, editing and
// deleting roles by whoever calls. A role change is allowed only to a
// holder of settings.manage, on a role whose permissions before and
// after are all the author's own; it writes no user, yet moves every
// holder's effective permissions, and each permission it adds to or takes
// from anyone must be one its author holds. Narrowing the role one holds
// oneself is allowed (it gives nothing); leaving nobody able to change
// settings is not. Slack has no role changes: in the Slack runs they go
// through the API, between the Slack commands, so that Slack decides by
// roles as they are changed.

// propSecret signs the property test's Slack requests.
const (
	propSecret = "property-signing-secret-0123456789"
	propTeam   = "T0001"
)

// seed is the team every run starts with: managers of every kind,
// people who are not managers, and users in Introduction Mode of every
// weight, an Administrator among them.
func seed() []user.User {
	mk := func(id, email, role, slackID string, status user.Status, grants, revokes []string) user.User {
		return user.User{ID: id, Type: user.Internal, FirstName: strings.ToUpper(id[:1]) + id[1:], LastName: "Seed", Email: email,
			Role: role, SlackUserID: slackID, Status: status, HoldInvite: status == user.StatusIntroduction || status == user.StatusSuspended,
			Grants: grants, Revokes: revokes, Version: 1, CreatedAt: t0, UpdatedAt: t0, InviteGeneration: 1}
	}
	ext := mk("ext", "ext@example.com", "staff", "", user.StatusIntroduction, nil, nil)
	ext.Type, ext.ExternalPlannerAccess = user.External, true
	return []user.User{
		mk("adm1", "adm1@example.com", "administrator", "U0ADM1", user.StatusActive, nil, nil),
		mk("adm2", "adm2@example.com", "administrator", "U0ADM2", user.StatusActive, nil, nil),
		mk("mgr1", "mgr1@example.com", "operations-manager", "U0MGR1", user.StatusActive, nil, nil),
		mk("mgr2", "mgr2@example.com", "operations-manager", "U0MGR2", user.StatusActive, nil, nil),
		mk("narrow", "narrow@example.com", "operations-manager", "U0NARROW", user.StatusActive, nil, []string{"purchasing.approve", "reports.view"}),
		mk("adjusted", "adjusted@example.com", "staff", "U0ADJ", user.StatusActive, []string{"planner.edit", "users.manage", "users.view"}, nil),
		mk("sup", "sup@example.com", "supervisor", "U0SUP", user.StatusActive, nil, nil),
		mk("staff", "staff@example.com", "staff", "U0STAFF", user.StatusActive, nil, nil),
		// Manages settings and users, but neither purchasing nor reports:
		// the role changes they may make are bounded by that.
		mk("lead", "lead@example.com", leadRole.ID, "U0LEAD", user.StatusActive, nil, nil),
		mk("held", "held@example.com", "operations-manager", "U0HELD", user.StatusSuspended, nil, nil),
		mk("invited", "invited@example.com", "operations-manager", "U0INV", user.StatusInvited, nil, nil),
		mk("iadm", "iadm@example.com", "administrator", "", user.StatusIntroduction, nil, nil),
		mk("imgr", "imgr@example.com", "operations-manager", "", user.StatusIntroduction, nil, nil),
		mk("isup", "isup@example.com", "supervisor", "", user.StatusIntroduction, nil, nil),
		mk("istaff", "istaff@example.com", "staff", "", user.StatusIntroduction, nil, nil),
		mk("ipur", "ipur@example.com", "purchasing", "", user.StatusIntroduction, nil, nil),
		ext,
	}
}

// leadRole is the custom role every run starts with, beside the defaults.
var leadRole = onboarding.RoleDraft{ID: "settings-lead", Name: "Settings Lead", Permissions: []string{
	"users.view", "users.manage", "planner.view", "planner.edit", "settings.manage"}}

// callers are the seats calls come from: every active user and two who
// may not act (held, invited).
var callers = []string{"adm1", "adm2", "mgr1", "mgr2", "narrow", "adjusted", "sup", "staff", "lead", "held", "invited"}

// roleCallers are the seats role changes come from: every seat, with the
// settings managers (adm1, adm2, lead) more often, since only they get
// past the first check.
var roleCallers = append(slices.Clone(callers), "adm1", "adm2", "lead", "lead", "lead")

// world is one run's store and the three doors on it.
type world struct {
	t     *testing.T
	store *embedded.Store
	svc   *onboarding.Service
	api   *httpapi.Handler
	slack *slackops.Handler
	posts *posts
	now   time.Time
	n     int // requests sent, to make each Slack request unique
}

// posts is the Slack response_urls' inbox.
type posts struct {
	mu   sync.Mutex
	msgs []slack.WebhookMessage
}

func (p *posts) Respond(_ context.Context, _ string, msg *slack.WebhookMessage) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, *msg)
	return nil
}

func (p *posts) last() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.msgs) == 0 {
		return ""
	}
	return p.msgs[len(p.msgs)-1].Text
}

// seedFile returns the store file every run starts from: the seeded
// team and the lead's role, written once, since writing them is most of
// what a run costs.
func seedFile(t *testing.T) []byte {
	path := filepath.Join(t.TempDir(), "seed.db")
	store, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	svc := onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{PhoneRegion: "GB"}, func() time.Time { return t0 }, nil)
	ctx := context.Background()
	for _, u := range seed() {
		if err := store.CreateUser(ctx, u, onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: 1, At: t0, Action: "create"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	adm, err := svc.Authorize(ctx, onboarding.Identity{UserID: "adm1", Source: onboarding.SourceCLI})
	if err == nil {
		_, err = svc.CreateRole(ctx, adm, leadRole)
	}
	if err == nil {
		err = store.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newWorld starts a run in dir on a copy of the seeded store file.
func newWorld(t *testing.T, dir string, seeded []byte) *world {
	path := filepath.Join(dir, "opsos.db")
	if err := os.WriteFile(path, seeded, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: store, now: t0, posts: &posts{}}
	ids := 0
	w.svc = onboarding.New(store, access.DefaultCatalogue(), onboarding.Config{PhoneRegion: "GB"}, func() time.Time { return w.now },
		func() string { ids++; return fmt.Sprintf("new%03d", ids) })
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	w.api = httpapi.New(w.svc, log)
	w.slack = slackops.New(slackops.Config{Service: w.svc, Verifier: slackops.NewVerifier(propSecret, func() time.Time { return w.now }),
		Workspace: slackops.Workspace{TeamID: propTeam}, Replays: store,
		Responder: w.posts, Log: log, Now: func() time.Time { return w.now }})
	return w
}

// users is every user, by id.
func (w *world) users() map[string]user.User {
	p, err := w.store.ListUsers(context.Background(), onboarding.ListQuery{Limit: 500})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]user.User{}
	for _, u := range p.Users {
		out[u.ID] = u
	}
	return out
}

// roles is the roles in force, the Planner Worker marker aside.
func (w *world) roles() *access.Catalogue {
	stored, version, err := w.store.ListRoles(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return access.DefaultCatalogue().WithRoles(stored, version)
}

// worldState is everything a call may change: the users and the roles.
type worldState struct {
	users map[string]user.User
	roles *access.Catalogue
}

func (w *world) state() worldState { return worldState{users: w.users(), roles: w.roles()} }

// op is one generated call.
type op struct {
	kind   string // edit, release, hold, resend, create, check, bulk, role-create, role-edit, role-delete
	caller string // a seat id
	target string // a user id (edit, release, hold, resend), a role id (role-edit, role-delete)
	patch  user.Patch
	draft  user.Draft
	role   string // bulk selection
	// rolePatch is a role-edit's change; a role-create's role is its
	// Name and Permissions.
	rolePatch onboarding.RolePatch
	// form sends an edit or a create through Slack's form, and a release
	// through a card's Release access button, instead of a command.
	form bool
}

func (o op) String() string {
	b, _ := json.Marshal(o.patch)
	d, _ := json.Marshal(o.draft)
	switch o.kind {
	case "edit":
		return fmt.Sprintf("%s edits %s: %s", o.caller, o.target, b)
	case "create", "check":
		return fmt.Sprintf("%s %ss %s", o.caller, o.kind, d)
	case "bulk":
		return fmt.Sprintf("%s releases role %q in bulk", o.caller, o.role)
	case "role-create", "role-edit":
		r, _ := json.Marshal(o.rolePatch)
		return fmt.Sprintf("%s %ss %s: %s", o.caller, o.kind, o.target, r)
	}
	return fmt.Sprintf("%s %ss %s", o.caller, o.kind, o.target)
}

// isRole reports whether o changes a role.
func (o op) isRole() bool { return strings.HasPrefix(o.kind, "role-") }

var (
	// roleIDs are the roles users are given and roles are edited by: the
	// defaults, the lead's, one a run may create, and one that never is.
	roleIDs     = []string{"administrator", "operations-manager", "supervisor", "planner", "purchasing", "staff", "settings-lead", "night-lead", "no-such-role"}
	roleNames   = []string{"Night Lead", "Auditor", "Supervisor", "settings lead", ""}
	permissions = []string{"users.view", "users.manage", "planner.view", "planner.edit", "purchasing.view", "purchasing.approve", "reports.view", "settings.manage"}
	slackIDs    = []string{"", "U0ADM1", "U0MGR1", "U0MGR2", "U0NEW1", "U0NEW2"}
	newEmails   = []string{"e1@example.com", "e2@example.com", "e3@example.com", "mgr1@example.com"}
)

func genPerms(t *rapid.T, label string) *[]string {
	l := rapid.SliceOfNDistinct(rapid.SampledFrom(permissions), 0, 3, rapid.ID[string]).Draw(t, label)
	slices.Sort(l)
	return &l
}

func maybe[T any](t *rapid.T, label string, gen *rapid.Generator[T]) *T {
	if rapid.IntRange(0, 9).Draw(t, label+"?") >= 3 {
		return nil
	}
	v := gen.Draw(t, label)
	return &v
}

func genPatch(t *rapid.T) user.Patch {
	p := user.Patch{
		FirstName:                maybe(t, "firstName", rapid.SampledFrom([]string{"Ann", "Bo", "Cy"})),
		Phone:                    maybe(t, "phone", rapid.SampledFrom([]string{"", "+447911123456"})),
		JobTitle:                 maybe(t, "jobTitle", rapid.SampledFrom([]string{"Lead", "Night shift"})),
		Email:                    maybe(t, "email", rapid.SampledFrom(newEmails)),
		Role:                     maybe(t, "role", rapid.SampledFrom(roleIDs)),
		HoldInvite:               maybe(t, "hold", rapid.Bool()),
		SlackUserID:              maybe(t, "slack", rapid.SampledFrom(slackIDs)),
		ExternalPlannerAccess:    maybe(t, "planner", rapid.Bool()),
		ExternalPurchasingAccess: maybe(t, "purchasing", rapid.Bool()),
	}
	if rapid.IntRange(0, 9).Draw(t, "type?") < 2 {
		typ := rapid.SampledFrom([]user.Type{user.Internal, user.External}).Draw(t, "type")
		p.Type = &typ
	}
	if rapid.IntRange(0, 9).Draw(t, "grants?") < 3 {
		p.Grants = genPerms(t, "grants")
	}
	if rapid.IntRange(0, 9).Draw(t, "revokes?") < 3 {
		p.Revokes = genPerms(t, "revokes")
	}
	return p
}

func genDraft(t *rapid.T, n int) user.Draft {
	hold := rapid.Bool().Draw(t, "draftHold")
	typ := rapid.SampledFrom([]user.Type{user.Internal, user.External}).Draw(t, "draftType")
	d := user.Draft{Type: typ, FirstName: "New", LastName: strconv.Itoa(n), Email: fmt.Sprintf("new%d@example.com", n),
		Role: rapid.SampledFrom(roleIDs).Draw(t, "draftRole"), HoldInvite: &hold, Grants: *genPerms(t, "draftGrants")}
	if typ == user.External {
		d.ExternalPlannerAccess = rapid.Bool().Draw(t, "draftPlanner")
		d.ExternalPurchasingAccess = rapid.Bool().Draw(t, "draftPurchasing")
	}
	return d
}

// genRolePerms draws a whole permission set for a role.
func genRolePerms(t *rapid.T, label string) *[]string {
	l := rapid.SliceOfNDistinct(rapid.SampledFrom(permissions), 0, len(permissions), rapid.ID[string]).Draw(t, label)
	slices.Sort(l)
	return &l
}

func genRolePatch(t *rapid.T) onboarding.RolePatch {
	p := onboarding.RolePatch{Name: maybe(t, "roleName", rapid.SampledFrom(roleNames))}
	if rapid.IntRange(0, 9).Draw(t, "rolePerms?") < 7 {
		p.Permissions = genRolePerms(t, "rolePerms")
	}
	return p
}

func genOp(t *rapid.T, ids []string, n int) op {
	o := op{
		kind: rapid.SampledFrom([]string{"edit", "edit", "edit", "release", "hold", "resend", "create", "check", "bulk",
			"role-create", "role-edit", "role-edit", "role-delete"}).Draw(t, "kind"),
		caller: rapid.SampledFrom(callers).Draw(t, "caller"),
		target: rapid.SampledFrom(ids).Draw(t, "target"),
	}
	o.form = rapid.Bool().Draw(t, "form")
	switch o.kind {
	case "edit":
		o.patch = genPatch(t)
	case "create", "check":
		o.draft = genDraft(t, n)
	case "bulk":
		o.role = rapid.SampledFrom(append([]string{""}, roleIDs...)).Draw(t, "bulkRole")
	case "role-create":
		o.caller = rapid.SampledFrom(roleCallers).Draw(t, "roleCaller")
		name := rapid.SampledFrom(roleNames).Draw(t, "newRoleName")
		o.rolePatch = onboarding.RolePatch{Name: &name, Permissions: genRolePerms(t, "newRolePerms")}
	case "role-edit":
		o.caller = rapid.SampledFrom(roleCallers).Draw(t, "roleCaller")
		o.target = rapid.SampledFrom(roleIDs).Draw(t, "roleTarget")
		o.rolePatch = genRolePatch(t)
	case "role-delete":
		o.caller = rapid.SampledFrom(roleCallers).Draw(t, "roleCaller")
		o.target = rapid.SampledFrom(roleIDs).Draw(t, "roleTarget")
	}
	return o
}

// door sends ops the way one front door would. Each call reports whether
// the door answered with a refusal or an error.
type door interface {
	send(w *world, o op, state map[string]user.User) (refused bool, answer string)
}

// actorOf is whom the door will take the caller to be, from the state
// before the call: by id (service, API), or by Slack user (Slack).
type actorResolver func(o op, state map[string]user.User) (user.User, bool)

func byID(o op, state map[string]user.User) (user.User, bool) {
	u, ok := state[o.caller]
	return u, ok
}

func bySlack(o op, state map[string]user.User) (user.User, bool) {
	slackID := seatSlack(o.caller)
	var found []user.User
	for _, u := range state {
		if u.SlackUserID == slackID {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		return user.User{}, false
	}
	return found[0], true
}

func seatSlack(caller string) string {
	for _, u := range seed() {
		if u.ID == caller {
			return u.SlackUserID
		}
	}
	return ""
}

// serviceDoor calls the onboarding service directly.
type serviceDoor struct{}

func (serviceDoor) send(w *world, o op, state map[string]user.User) (bool, string) {
	ctx := context.Background()
	actor, err := w.svc.Authorize(ctx, onboarding.Identity{UserID: o.caller, Source: onboarding.SourceAPI})
	if err != nil {
		return true, err.Error()
	}
	switch o.kind {
	case "edit":
		_, err = w.svc.Edit(ctx, actor, o.target, 0, o.patch)
	case "release":
		_, err = w.svc.Release(ctx, actor, o.target, 0)
	case "hold":
		_, err = w.svc.Hold(ctx, actor, o.target, 0)
	case "resend":
		_, err = w.svc.Resend(ctx, actor, o.target, 0)
	case "create":
		_, _, err = w.svc.Create(ctx, actor, o.draft, "")
	case "check":
		_, err = w.svc.CheckCreate(ctx, actor, o.draft)
	case "bulk":
		var p onboarding.BulkPreview
		if p, err = w.svc.PreviewRelease(ctx, actor, onboarding.BulkSelection{Role: o.role}, 0); err == nil {
			_, err = w.svc.ReleaseMany(ctx, actor, onboarding.BulkSelection{Role: o.role}, p.Count)
		}
	case "role-create":
		_, err = w.svc.CreateRole(ctx, actor, onboarding.RoleDraft{Name: deref(o.rolePatch.Name), Permissions: *o.rolePatch.Permissions})
	case "role-edit":
		_, err = w.svc.EditRole(ctx, actor, o.target, 0, o.rolePatch)
	case "role-delete":
		err = w.svc.DeleteRole(ctx, actor, o.target, 0)
	}
	if err != nil {
		return true, err.Error()
	}
	return false, ""
}

// apiDoor sends API Gateway requests, signed in as the caller (the JWT
// authorizer's claims), to the HTTP handler.
type apiDoor struct{}

func (apiDoor) send(w *world, o op, state map[string]user.User) (bool, string) {
	call := func(method, path, body string) (int, map[string]any) {
		ev := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, Headers: map[string]string{"content-type": "application/json"}}
		if p, q, ok := strings.Cut(path, "?"); ok {
			ev.RawPath, ev.RawQueryString = p, q
		}
		ev.RequestContext.HTTP.Method = method
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{
				httpapi.ClaimUserID: o.caller, httpapi.ClaimEmail: state[o.caller].Email}}}
		resp, err := w.api.Handle(context.Background(), ev)
		if err != nil {
			w.t.Fatal(err)
		}
		var out map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &out)
		return resp.StatusCode, out
	}
	var (
		status int
		body   map[string]any
	)
	switch o.kind {
	case "edit":
		status, body = call("PATCH", "/users/"+o.target, patchJSON(o.patch))
	case "release", "hold":
		status, body = call("POST", "/users/"+o.target+"/"+o.kind, "")
	case "resend":
		status, body = call("POST", "/users/"+o.target+"/resend-invite", "")
	case "create", "check":
		path := "/users"
		if o.kind == "check" {
			path += "?dryRun=true"
		}
		status, body = call("POST", path, draftJSON(o.draft))
	case "bulk":
		sel, _ := json.Marshal(map[string]string{"role": o.role})
		if status, body = call("POST", "/users/release?dryRun=true", string(sel)); status == 200 {
			b, _ := json.Marshal(map[string]any{"role": o.role, "expectedCount": body["count"]})
			status, body = call("POST", "/users/release", string(b))
			if failed, _ := body["failed"].([]any); len(failed) > 0 {
				return true, fmt.Sprint(failed)
			}
		}
	case "role-create":
		status, body = call("POST", "/roles", rolePatchJSON(o.rolePatch))
	case "role-edit":
		status, body = call("PATCH", "/roles/"+o.target, rolePatchJSON(o.rolePatch))
	case "role-delete":
		status, body = call("DELETE", "/roles/"+o.target, "")
	}
	if status >= 400 {
		b, _ := json.Marshal(body)
		return true, fmt.Sprintf("%d %s", status, b)
	}
	return false, ""
}

func rolePatchJSON(p onboarding.RolePatch) string {
	m := map[string]any{}
	if p.Name != nil {
		m["name"] = *p.Name
	}
	if p.Permissions != nil {
		m["permissions"] = *p.Permissions
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func patchJSON(p user.Patch) string {
	m := map[string]any{}
	set := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	set("firstName", deref(p.FirstName), p.FirstName != nil)
	set("phone", deref(p.Phone), p.Phone != nil)
	set("jobTitle", deref(p.JobTitle), p.JobTitle != nil)
	set("email", deref(p.Email), p.Email != nil)
	set("role", deref(p.Role), p.Role != nil)
	set("slackUserId", deref(p.SlackUserID), p.SlackUserID != nil)
	set("holdInvite", deref(p.HoldInvite), p.HoldInvite != nil)
	set("externalPlannerAccess", deref(p.ExternalPlannerAccess), p.ExternalPlannerAccess != nil)
	set("externalPurchasingAccess", deref(p.ExternalPurchasingAccess), p.ExternalPurchasingAccess != nil)
	set("type", deref(p.Type), p.Type != nil)
	if p.Grants != nil || p.Revokes != nil {
		perms := map[string]any{}
		set2 := func(k string, v *[]string) {
			if v != nil {
				perms[k] = *v
			}
		}
		set2("grant", p.Grants)
		set2("revoke", p.Revokes)
		m["permissions"] = perms
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func draftJSON(d user.Draft) string {
	b, _ := json.Marshal(map[string]any{"type": d.Type, "firstName": d.FirstName, "lastName": d.LastName, "email": d.Email,
		"role": d.Role, "holdInvite": *d.HoldInvite, "externalPlannerAccess": d.ExternalPlannerAccess,
		"externalPurchasingAccess": d.ExternalPurchasingAccess, "permissions": map[string]any{"grant": d.Grants, "revoke": d.Revokes}})
	return string(b)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// slackDoor types /opsos-user commands, and clicks the bulk release's
// confirmation button, as the caller's Slack user.
type slackDoor struct{}

// refusals are what a Slack answer says when it did nothing.
var refusals = []string{"Sorry, you can't do that", "Nothing was changed", "nothing was changed", "nothing was released",
	"Something went wrong", "Try `/opsos-user help`", "already", "Hold Invite is on"}

func slackRefused(text string) bool {
	return slices.ContainsFunc(refusals, func(r string) bool { return strings.Contains(text, r) })
}

func (slackDoor) send(w *world, o op, state map[string]user.User) (bool, string) {
	if o.isRole() {
		return apiDoor{}.send(w, o, state)
	}
	slackUser := seatSlack(o.caller)
	email := state[o.target].Email
	var text string
	switch o.kind {
	case "edit":
		text = "edit " + email + " " + patchArgs(o.patch)
	case "release", "hold", "resend":
		text = o.kind + " " + email
	case "create", "check":
		text = "create " + draftArgs(o.draft)
	case "bulk":
		text = "release"
		if o.role != "" {
			text += " role=" + o.role
		}
	}
	switch {
	case o.form && o.kind == "edit" && o.patch.Grants == nil && o.patch.Revokes == nil:
		// The form has no permission adjustments: those go by command.
		return w.slackForm(slackUser, "opsos-user-edit", formState(applyPatch(state[o.target], o.patch)),
			fmt.Sprintf(`{"userId":%q,"version":%d,"responseUrl":"https://hooks.slack.com/commands/T0001/1/x"}`, o.target, state[o.target].Version))
	case o.form && o.kind == "create" && len(o.draft.Grants) == 0:
		d := o.draft
		return w.slackForm(slackUser, "opsos-user-create", formState(user.User{Type: d.Type, FirstName: d.FirstName, LastName: d.LastName,
			Email: d.Email, Role: d.Role, HoldInvite: *d.HoldInvite, ExternalPlannerAccess: d.ExternalPlannerAccess,
			ExternalPurchasingAccess: d.ExternalPurchasingAccess}), `{"responseUrl":"https://hooks.slack.com/commands/T0001/1/x"}`)
	case o.form && o.kind == "release":
		w.slackClick(slackUser, "release", "card", fmt.Sprintf("%s:%d", o.target, state[o.target].Version))
		return slackRefused(w.posts.last()), w.posts.last()
	}
	m := w.slackCommand(slackUser, text)
	if o.kind == "bulk" && !slackRefused(m.Text) {
		btn := findButton(m, "release-many")
		if btn == nil {
			return true, m.Text // nobody to release
		}
		w.slackClick(slackUser, "release-many", "bulk-actions", btn.Value)
		return slackRefused(w.posts.last()), w.posts.last()
	}
	return slackRefused(m.Text), m.Text
}

func patchArgs(p user.Patch) string {
	var args []string
	add := func(k, v string) { args = append(args, k+"="+strconv.Quote(v)) }
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	if p.FirstName != nil {
		add("first", *p.FirstName)
	}
	if p.Phone != nil {
		add("phone", *p.Phone)
	}
	if p.JobTitle != nil {
		add("title", *p.JobTitle)
	}
	if p.Email != nil {
		add("email", *p.Email)
	}
	if p.Role != nil {
		add("role", *p.Role)
	}
	if p.SlackUserID != nil {
		add("slack", *p.SlackUserID)
	}
	if p.HoldInvite != nil {
		add("hold", yes(*p.HoldInvite))
	}
	if p.ExternalPlannerAccess != nil {
		add("planner", yes(*p.ExternalPlannerAccess))
	}
	if p.ExternalPurchasingAccess != nil {
		add("purchasing", yes(*p.ExternalPurchasingAccess))
	}
	if p.Type != nil {
		add("type", string(*p.Type))
	}
	if p.Grants != nil {
		add("grant", strings.Join(*p.Grants, ","))
	}
	if p.Revokes != nil {
		add("revoke", strings.Join(*p.Revokes, ","))
	}
	return strings.Join(args, " ")
}

func draftArgs(d user.Draft) string {
	p := user.Patch{FirstName: &d.FirstName, Email: &d.Email, Role: &d.Role, HoldInvite: d.HoldInvite, Type: &d.Type,
		ExternalPlannerAccess: &d.ExternalPlannerAccess, ExternalPurchasingAccess: &d.ExternalPurchasingAccess, Grants: &d.Grants}
	return "last=" + strconv.Quote(d.LastName) + " " + patchArgs(p)
}

func (w *world) slackCommand(slackUser, text string) slack.WebhookMessage {
	w.n++
	body := url.Values{"command": {"/opsos-user"}, "text": {text}, "user_id": {slackUser}, "team_id": {propTeam},
		"response_url": {"https://hooks.slack.com/commands/T0001/1/x"}, "trigger_id": {fmt.Sprintf("%d.42.prop", w.n)}}.Encode()
	resp := w.slackPost(slackops.PathCommands, body)
	var m slack.WebhookMessage
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
			m.Text = resp.Body
		}
	}
	return m
}

func (w *world) slackClick(slackUser, action, block, value string) {
	w.n++
	w.posts.Respond(context.Background(), "", &slack.WebhookMessage{}) // so that last() is this click's answer
	raw, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": slackUser, "team_id": propTeam}, "team": map[string]any{"id": propTeam},
		"trigger_id": fmt.Sprintf("%d.42.prop", w.n), "response_url": "https://hooks.slack.com/actions/T0001/1/x",
		"actions": []map[string]any{{"type": "button", "action_id": action, "block_id": block, "value": value}},
	})
	w.slackPost(slackops.PathInteractions, url.Values{"payload": {string(raw)}}.Encode())
}

// slackForm submits a create or edit form as Slack posts it; a refusal
// comes back in the response (field errors, or a view pushed on top).
func (w *world) slackForm(slackUser, callback string, state *slack.ViewState, meta string) (bool, string) {
	w.n++
	raw, _ := json.Marshal(map[string]any{
		"type": "view_submission", "user": map[string]any{"id": slackUser, "team_id": propTeam}, "team": map[string]any{"id": propTeam},
		"trigger_id": fmt.Sprintf("%d.42.prop", w.n),
		"view":       map[string]any{"id": fmt.Sprintf("V%06d", w.n), "callback_id": callback, "private_metadata": meta, "state": state},
	})
	resp := w.slackPost(slackops.PathInteractions, url.Values{"payload": {string(raw)}}.Encode())
	return resp.Body != "", resp.Body
}

// applyPatch is u with p's fields set, as a form filled in from u and
// changed would show it.
func applyPatch(u user.User, p user.Patch) user.User {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setb := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.FirstName, p.FirstName)
	set(&u.Phone, p.Phone)
	set(&u.JobTitle, p.JobTitle)
	set(&u.Email, p.Email)
	set(&u.Role, p.Role)
	set(&u.SlackUserID, p.SlackUserID)
	setb(&u.HoldInvite, p.HoldInvite)
	setb(&u.ExternalPlannerAccess, p.ExternalPlannerAccess)
	setb(&u.ExternalPurchasingAccess, p.ExternalPurchasingAccess)
	if p.Type != nil {
		u.Type = *p.Type
	}
	return u
}

// formState is the state of a user form showing u.
func formState(u user.User) *slack.ViewState {
	text := func(v string) map[string]slack.BlockAction {
		return map[string]slack.BlockAction{"value": {Type: "plain_text_input", Value: v}}
	}
	pick := func(v string) map[string]slack.BlockAction {
		return map[string]slack.BlockAction{"value": {Type: "static_select", SelectedOption: slack.OptionBlockObject{Value: v}}}
	}
	boxes := func(vs ...string) map[string]slack.BlockAction {
		opts := []slack.OptionBlockObject{}
		for _, v := range vs {
			if v != "" {
				opts = append(opts, slack.OptionBlockObject{Value: v})
			}
		}
		return map[string]slack.BlockAction{"value": {Type: "checkboxes", SelectedOptions: opts}}
	}
	on := func(b bool, v string) string {
		if b {
			return v
		}
		return ""
	}
	return &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		"firstName": text(u.FirstName), "lastName": text(u.LastName), "email": text(u.Email), "phone": text(u.Phone),
		"jobTitle": text(u.JobTitle), "role": pick(u.Role), "type": pick(string(u.Type)),
		"externalAccess": boxes(on(u.ExternalPlannerAccess, "planner"), on(u.ExternalPurchasingAccess, "purchasing")),
		"holdInvite":     boxes(on(u.HoldInvite, "hold")),
		"slackUserId":    {"value": {Type: "users_select", SelectedUser: u.SlackUserID}},
	}}
}

func (w *world) slackPost(path, body string) events.APIGatewayV2HTTPResponse {
	ts, sig := slackops.Sign(propSecret, w.now, []byte(body))
	ev := events.APIGatewayV2HTTPRequest{RawPath: path, IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString([]byte(body)),
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts, "x-slack-signature": sig}}
	ev.RequestContext.HTTP.Method = http.MethodPost
	resp, err := w.slack.Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusOK {
		w.t.Fatalf("slack %s: %d %v %s", path, resp.StatusCode, err, resp.Body)
	}
	return resp
}

func findButton(m slack.WebhookMessage, id string) *slack.ButtonBlockElement {
	if m.Blocks == nil {
		return nil
	}
	for _, b := range m.Blocks.BlockSet {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == id {
					return btn
				}
			}
		}
	}
	return nil
}

// tally counts what the generated calls did, over every run of a door:
// all calls, and the role changes among them.
type tally struct{ calls, allowed, refused, noop, roleCalls, roleAllowed, roleRefused int }

// checkStep is the property, for one call: what changed was allowed, and
// a refusal changed nothing. It returns the users and roles that changed.
func checkStep(t *rapid.T, o op, actor user.User, known bool, before, after worldState, refused bool, answer string) []string {
	var changed []string
	for id, a := range after.users {
		if b, ok := before.users[id]; !ok || !reflect.DeepEqual(a, b) {
			changed = append(changed, id)
		}
	}
	for id := range before.users {
		if _, ok := after.users[id]; !ok {
			t.Fatalf("%s: user %s disappeared", o, id)
		}
	}
	var changedRoles []string
	for _, r := range append(before.roles.Roles(), after.roles.Roles()...) {
		b, _ := before.roles.Role(r.ID)
		a, _ := after.roles.Role(r.ID)
		if !reflect.DeepEqual(a, b) && !slices.Contains(changedRoles, r.ID) {
			changedRoles = append(changedRoles, r.ID)
		}
	}
	slices.Sort(changed)
	if refused && len(changed)+len(changedRoles) > 0 {
		t.Fatalf("%s was refused (%s) but changed users %v and roles %v", o, answer, changed, changedRoles)
	}
	if len(changed)+len(changedRoles) == 0 {
		return nil
	}
	if !known {
		t.Fatalf("%s changed users %v and roles %v, but the door could not have known who the caller is", o, changed, changedRoles)
	}
	if actor.Status != user.StatusActive || actor.HoldInvite || !before.roles.Has(actor, access.UsersManage) {
		t.Fatalf("%s changed users %v and roles %v, but %s (%s, %v) may not manage users", o, changed, changedRoles, actor.ID, actor.Status, before.roles.Effective(actor))
	}
	have := before.roles.Effective(actor)
	if o.isRole() {
		checkRoleStep(t, o, actor, have, before, after, changed, changedRoles)
	} else {
		if len(changedRoles) > 0 {
			t.Fatalf("%s changed the roles %v", o, changedRoles)
		}
		checkUserStep(t, o, actor, have, before, after, changed)
	}
	holders := 0
	for _, u := range after.users {
		if u.Status == user.StatusActive && !u.HoldInvite && after.roles.Has(u, access.SettingsManage) {
			holders++
		}
	}
	if holders == 0 {
		t.Fatalf("%s left nobody active who can change settings", o)
	}
	return append(changed, changedRoles...)
}

// checkUserStep: each changed user was, and is, within the actor's
// permissions, and on their own account the actor changed only the
// profile.
func checkUserStep(t *rapid.T, o op, actor user.User, have []string, before, after worldState, changed []string) {
	for _, id := range changed {
		n := after.users[id]
		if extra := beyondOf(after.roles.Effective(n), have); len(extra) > 0 {
			t.Fatalf("%s left %s with %v, beyond %s's permissions", o, id, extra, actor.ID)
		}
		b, existed := before.users[id]
		if !existed {
			continue
		}
		if extra := beyondOf(before.roles.Effective(b), have); len(extra) > 0 {
			t.Fatalf("%s changed %s, who had %v beyond %s's permissions", o, id, extra, actor.ID)
		}
		if id == actor.ID {
			for _, c := range user.Diff(b, n) {
				if !slices.Contains([]string{"firstName", "lastName", "phone", "jobTitle"}, c.Field) {
					t.Fatalf("%s changed %s's own %s", o, id, c.Field)
				}
			}
		}
	}
}

// checkRoleStep: a role change is a settings manager's, on roles whose
// permissions were and are all theirs; it writes no user, and every
// permission it gives or takes from anyone is one the actor holds.
func checkRoleStep(t *rapid.T, o op, actor user.User, have []string, before, after worldState, changed, changedRoles []string) {
	if len(changed) > 0 {
		t.Fatalf("%s, a role change, wrote the users %v", o, changed)
	}
	if !slices.Contains(have, access.SettingsManage) {
		t.Fatalf("%s changed the roles %v, but %s does not hold %s", o, changedRoles, actor.ID, access.SettingsManage)
	}
	for _, id := range changedRoles {
		b, _ := before.roles.Role(id)
		a, _ := after.roles.Role(id)
		if extra := beyondOf(append(slices.Clone(b.Permissions), a.Permissions...), have); len(extra) > 0 {
			t.Fatalf("%s changed the role %s (%v to %v), whose %v %s does not hold", o, id, b.Permissions, a.Permissions, extra, actor.ID)
		}
	}
	for id, u := range after.users {
		was, is := before.roles.Effective(before.users[id]), after.roles.Effective(u)
		moved := append(beyondOf(was, is), beyondOf(is, was)...)
		if extra := beyondOf(moved, have); len(extra) > 0 {
			t.Fatalf("%s moved %v of %s's permissions, which %s does not hold", o, extra, id, actor.ID)
		}
	}
}

func beyondOf(want, have []string) []string {
	var out []string
	for _, p := range want {
		if !slices.Contains(have, p) {
			out = append(out, p)
		}
	}
	return out
}

func TestAuthorityProperty(t *testing.T) {
	doors := []struct {
		name  string
		door  door
		actor actorResolver
	}{
		{"service", serviceDoor{}, byID},
		{"http", apiDoor{}, byID},
		{"slack", slackDoor{}, bySlack},
	}
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			var tl tally
			dir := t.TempDir()
			seeded := seedFile(t)
			runs := 0
			rapid.Check(t, func(rt *rapid.T) {
				runs++
				rdir := filepath.Join(dir, strconv.Itoa(runs))
				if err := os.MkdirAll(rdir, 0o755); err != nil {
					rt.Fatal(err)
				}
				w := newWorld(t, rdir, seeded)
				defer func() { w.store.Close(); os.RemoveAll(rdir) }()
				steps := rapid.IntRange(1, 30).Draw(rt, "steps")
				// Nothing happens between two calls: one call's after is
				// the next one's before.
				before := w.state()
				for i := range steps {
					ids := make([]string, 0, len(before.users))
					for id := range before.users {
						ids = append(ids, id)
					}
					slices.Sort(ids)
					o := genOp(rt, ids, i)
					resolve := d.actor
					if o.isRole() {
						resolve = byID // role changes go through the API
					}
					actor, known := resolve(o, before.users)
					refused, answer := d.door.send(w, o, before.users)
					w.now = w.now.Add(time.Second)
					after := w.state()
					changed := checkStep(rt, o, actor, known, before, after, refused, answer)
					before = after
					tl.calls++
					switch {
					case refused:
						tl.refused++
					case len(changed) > 0:
						tl.allowed++
					default:
						tl.noop++
					}
					if o.isRole() {
						tl.roleCalls++
						switch {
						case refused:
							tl.roleRefused++
						case len(changed) > 0:
							tl.roleAllowed++
						}
					}
				}
			})
			t.Logf("%s: %d runs, %d calls: %d changed something (each within its actor's permissions), %d refused (none changed anything), %d allowed but changed nothing; "+
				"of %d role changes, %d changed a role and %d were refused",
				d.name, runs, tl.calls, tl.allowed, tl.refused, tl.noop, tl.roleCalls, tl.roleAllowed, tl.roleRefused)
			// A generator that only ever hits refusals (or only allowed
			// calls) would prove nothing.
			if tl.allowed < tl.calls/20 || tl.refused < tl.calls/20 {
				t.Errorf("the generator is lopsided: %d allowed, %d refused of %d calls", tl.allowed, tl.refused, tl.calls)
			}
			if tl.roleAllowed < tl.roleCalls/20 || tl.roleRefused < tl.roleCalls/20 {
				t.Errorf("the generator is lopsided on roles: %d allowed, %d refused of %d role changes", tl.roleAllowed, tl.roleRefused, tl.roleCalls)
			}
		})
	}
}
