package user_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/user"
)

var (
	rules = user.Rules{Catalogue: access.DefaultCatalogue(), PhoneRegion: "GB"}
	t0    = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
)

func valid() user.Draft {
	return user.Draft{
		Type: user.Internal, FirstName: "Priya", LastName: "Shah", Email: "Priya.Shah@Example.com",
		Phone: "07911 123456", JobTitle: "Shift Lead", Role: "Supervisor",
	}
}

func fields(err error) []string {
	var out []string
	for _, f := range user.ErrorFields(err) {
		out = append(out, f.Field)
	}
	return out
}

func TestNewNormalisesAndDefaultsToIntroductionMode(t *testing.T) {
	u, err := rules.New(valid(), "u1", "admin@example.com", t0)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "priya.shah@example.com" {
		t.Errorf("email = %q, want lower-case", u.Email)
	}
	if u.Phone != "+447911123456" {
		t.Errorf("phone = %q, want E.164", u.Phone)
	}
	if u.Role != "supervisor" {
		t.Errorf("role = %q, want the role id", u.Role)
	}
	if !u.HoldInvite || u.Status != user.StatusIntroduction || u.InviteGeneration != 0 {
		t.Errorf("hold=%v status=%s generation=%d, want Introduction Mode", u.HoldInvite, u.Status, u.InviteGeneration)
	}
	if u.Version != 1 || u.CreatedBy != "admin@example.com" || !u.CreatedAt.Equal(t0) {
		t.Errorf("version=%d createdBy=%q createdAt=%v", u.Version, u.CreatedBy, u.CreatedAt)
	}
}

func TestNewWithHoldOffStartsRelease(t *testing.T) {
	d := valid()
	off := false
	d.HoldInvite = &off
	u, err := rules.New(d, "u1", "a", t0)
	if err != nil {
		t.Fatal(err)
	}
	if u.HoldInvite || u.Status != user.StatusReleasing || u.InviteGeneration != 1 {
		t.Errorf("hold=%v status=%s generation=%d, want releasing", u.HoldInvite, u.Status, u.InviteGeneration)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*user.Draft)
		fields []string
		msg    string
	}{
		{"missing names", func(d *user.Draft) { d.FirstName, d.LastName = " ", "" }, []string{"firstName", "lastName"}, "required"},
		{"missing email", func(d *user.Draft) { d.Email = "" }, []string{"email"}, "required"},
		{"bad email", func(d *user.Draft) { d.Email = "priya@@example" }, []string{"email"}, "email address"},
		{"display name in email", func(d *user.Draft) { d.Email = "Priya <priya@example.com>" }, []string{"email"}, "email address"},
		{"bad phone", func(d *user.Draft) { d.Phone = "12" }, []string{"phone"}, "phone number"},
		{"letters in phone", func(d *user.Draft) { d.Phone = "call me" }, []string{"phone"}, "phone number"},
		{"unknown role", func(d *user.Draft) { d.Role = "Wizard" }, []string{"role"}, "not a role"},
		{"missing role", func(d *user.Draft) { d.Role = "" }, []string{"role"}, "exactly one role"},
		{"planner worker", func(d *user.Draft) { d.Role = "Planner Worker" }, []string{"role"}, "worker onboarding flow"},
		{"external flag on internal", func(d *user.Draft) { d.ExternalPlannerAccess, d.ExternalPurchasingAccess = true, true },
			[]string{"externalPlannerAccess", "externalPurchasingAccess"}, "external users"},
		{"unknown type", func(d *user.Draft) { d.Type = "contractor" }, []string{"type"}, "internal"},
		{"unknown permission", func(d *user.Draft) { d.Grants = []string{"planner.fly"} }, []string{"permissions.grant"}, "not a permission"},
		{"grant and revoke", func(d *user.Draft) { d.Grants, d.Revokes = []string{"planner.edit"}, []string{"planner.edit"} }, []string{"permissions"}, "both"},
		{"control characters", func(d *user.Draft) { d.JobTitle = "Lead\x00" }, []string{"jobTitle"}, "control"},
		{"too long", func(d *user.Draft) { d.LastName = strings.Repeat("x", 101) }, []string{"lastName"}, "at most 100"},
		{"not a Slack user id", func(d *user.Draft) { d.SlackUserID = "C012AB3CD" }, []string{"slackUserId"}, "Slack user id"},
		{"invalid UTF-8 in a name", func(d *user.Draft) { d.FirstName = "An\xffn" }, []string{"firstName"}, "valid UTF-8"},
		{"encoded surrogate in a title", func(d *user.Draft) { d.JobTitle = "Lead\xed\xa0\x80" }, []string{"jobTitle"}, "valid UTF-8"},
		{"invalid UTF-8 in email", func(d *user.Draft) { d.Email = "priya\xff@example.com" }, []string{"email"}, "valid UTF-8"},
		{"invalid UTF-8 in phone", func(d *user.Draft) { d.Phone = "07911\xff" }, []string{"phone"}, "valid UTF-8"},
		{"invalid UTF-8 in role", func(d *user.Draft) { d.Role = "staff\xc3" }, []string{"role"}, "valid UTF-8"},
		{"invalid UTF-8 in type", func(d *user.Draft) { d.Type = "internal\x80" }, []string{"type"}, "valid UTF-8"},
		{"invalid UTF-8 in a grant", func(d *user.Draft) { d.Grants = []string{"planner.edit", "x\xff"} }, []string{"permissions.grant"}, "valid UTF-8"},
		{"invalid UTF-8 in a revoke", func(d *user.Draft) { d.Revokes = []string{"\xff"} }, []string{"permissions.revoke"}, "valid UTF-8"},
		{"invalid UTF-8 in Slack id", func(d *user.Draft) { d.SlackUserID = "U\xff12" }, []string{"slackUserId"}, "valid UTF-8"},
		{"right-to-left override in first name", func(d *user.Draft) { d.FirstName = "Ann\u202Enimda" }, []string{"firstName"}, "text-direction control characters"},
		{"left-to-right embedding in last name", func(d *user.Draft) { d.LastName = "\u202AShah" }, []string{"lastName"}, "U+202A–U+202E, U+2066–U+2069"},
		{"pop directional formatting in title", func(d *user.Draft) { d.JobTitle = "Lead\u202C" }, []string{"jobTitle"}, "disguise a name"},
		{"isolate in title", func(d *user.Draft) { d.JobTitle = "\u2067Lead\u2069" }, []string{"jobTitle"}, "text-direction"},
		{"first strong isolate in name", func(d *user.Draft) { d.FirstName = "Pri\u2068ya" }, []string{"firstName"}, "text-direction"},
		{"left-to-right isolate in name", func(d *user.Draft) { d.LastName = "Sh\u2066ah" }, []string{"lastName"}, "text-direction"},
		{"accented local part", func(d *user.Draft) { d.Email = "josé@example.com" }, []string{"email"}, "ASCII"},
		{"domain IDNA refuses", func(d *user.Draft) { d.Email = "ann@xn--zz.example" }, []string{"email"}, "domain"},
		{"domain with a symbol", func(d *user.Draft) { d.Email = "ann@ex☃mple..com" }, []string{"email"}, "email address"},
		{"everything at once", func(d *user.Draft) { *d = user.Draft{Phone: "x", ExternalPlannerAccess: true} },
			[]string{"firstName", "lastName", "email", "phone", "role", "externalPlannerAccess"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.edit(&d)
			_, err := rules.New(d, "u1", "a", t0)
			if user.ErrorCode(err) != user.CodeInvalid {
				t.Fatalf("err = %v, want invalid", err)
			}
			if got := fields(err); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func TestSlackUserID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"   ", "", true},
		{"U012AB3CD", "U012AB3CD", true},
		{" u012ab3cd ", "U012AB3CD", true},
		{"W0ENTERPRISE1", "W0ENTERPRISE1", true},
		{"UAB", "UAB", true},
		{"U" + strings.Repeat("9", 20), "U" + strings.Repeat("9", 20), true},
		{"U1", "", false},
		{"U" + strings.Repeat("9", 21), "", false},
		{"C012AB3CD", "", false},    // a channel, not a user
		{"B012AB3CD", "", false},    // a bot
		{"<@U012AB3CD>", "", false}, // a mention, not the id
		{"U012-AB3CD", "", false},
		{"U012AB3CDé", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d := valid()
			d.SlackUserID = tt.in
			u, err := rules.New(d, "u1", "a", t0)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.ok && u.SlackUserID != tt.want:
				t.Errorf("stored %q, want %q", u.SlackUserID, tt.want)
			case !tt.ok && !slices.Equal(fields(err), []string{"slackUserId"}):
				t.Errorf("err = %v, want slackUserId refused", err)
			}
		})
	}
}

func TestSlackUserIDLinkAndUnlinkInEveryStatus(t *testing.T) {
	u, _ := rules.New(valid(), "u1", "a", t0)
	link, unlink := "u012ab3cd", ""
	for _, st := range user.Statuses {
		u.Status = st
		n, changes, err := rules.Apply(u, user.Patch{SlackUserID: &link}, "b", t0)
		if err != nil || n.SlackUserID != "U012AB3CD" || n.Version != u.Version+1 {
			t.Fatalf("link in %s: %q v%d %v", st, n.SlackUserID, n.Version, err)
		}
		if want := []user.Change{{Field: "slackUserId", From: "", To: "U012AB3CD"}}; !slices.Equal(changes, want) {
			t.Errorf("link in %s: changes %+v, want %+v", st, changes, want)
		}
		// The same id in other letter case is no change.
		same := "U012AB3CD "
		if _, changes, err := rules.Apply(n, user.Patch{SlackUserID: &same}, "b", t0); err != nil || len(changes) != 0 {
			t.Errorf("relink in %s: changes %+v, err %v", st, changes, err)
		}
		off, changes, err := rules.Apply(n, user.Patch{SlackUserID: &unlink}, "b", t0)
		if err != nil || off.SlackUserID != "" || len(changes) != 1 || changes[0].Field != "slackUserId" {
			t.Errorf("unlink in %s: %q %+v %v", st, off.SlackUserID, changes, err)
		}
	}
	bad := "nope"
	if _, _, err := rules.Apply(u, user.Patch{SlackUserID: &bad}, "b", t0); !slices.Equal(fields(err), []string{"slackUserId"}) {
		t.Errorf("bad id in a patch: %v", err)
	}
}

func TestExternalFlagsOnExternalUser(t *testing.T) {
	d := valid()
	d.Type, d.ExternalPlannerAccess = user.External, true
	u, err := rules.New(d, "u1", "a", t0)
	if err != nil || !u.ExternalPlannerAccess {
		t.Fatalf("external user with planner access: %v", err)
	}
	// Turning the user internal while a flag is on is refused.
	internal := user.Internal
	if _, _, err := rules.Apply(u, user.Patch{Type: &internal}, "a", t0); !slices.Equal(fields(err), []string{"externalPlannerAccess"}) {
		t.Errorf("err = %v, want externalPlannerAccess refused", err)
	}
}

func TestApplyEditsAndDiffs(t *testing.T) {
	u, _ := rules.New(valid(), "u1", "a", t0)
	role, title := "operations manager", "Operations Lead"
	grants := []string{"reports.view", "REPORTS.VIEW"}
	n, changes, err := rules.Apply(u, user.Patch{Role: &role, JobTitle: &title, Grants: &grants}, "b", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n.Role != "operations-manager" || n.JobTitle != title || !slices.Equal(n.Grants, []string{"reports.view"}) {
		t.Errorf("got role=%q title=%q grants=%v", n.Role, n.JobTitle, n.Grants)
	}
	if n.Version != 2 || n.UpdatedBy != "b" || !n.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("version=%d updatedBy=%q", n.Version, n.UpdatedBy)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Field)
	}
	if want := []string{"jobTitle", "role", "permissions.grant"}; !slices.Equal(got, want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
	// The same patch again changes nothing and bumps no version.
	same, changes, err := rules.Apply(n, user.Patch{Role: &role}, "b", t0)
	if err != nil || len(changes) != 0 || same.Version != 2 {
		t.Errorf("no-op patch: version=%d changes=%v err=%v", same.Version, changes, err)
	}
}

func TestApplyInvalidLeavesUserAlone(t *testing.T) {
	u, _ := rules.New(valid(), "u1", "a", t0)
	bad, role := "nope", "wizard"
	got, changes, err := rules.Apply(u, user.Patch{Email: &bad, Role: &role}, "b", t0)
	if user.ErrorCode(err) != user.CodeInvalid || changes != nil {
		t.Fatalf("err=%v changes=%v", err, changes)
	}
	if got.Email != u.Email || got.Role != u.Role || got.Version != u.Version {
		t.Errorf("user changed on invalid patch: %+v", got)
	}
}

func TestLifecycle(t *testing.T) {
	u, _ := rules.New(valid(), "u1", "a", t0)

	r, changes, err := user.Release(u, "b", t0)
	if err != nil || r.Status != user.StatusReleasing || r.HoldInvite || r.InviteGeneration != 1 || r.Version != 2 {
		t.Fatalf("release: %+v %v", r, err)
	}
	if len(changes) == 0 {
		t.Error("release recorded no changes")
	}
	if _, _, err := user.Release(r, "b", t0); user.ErrorCode(err) != user.CodeConflict {
		t.Errorf("second release: err = %v, want conflict", err)
	}

	// Hold before release is refused as a no-op; after release it suspends.
	if _, _, err := user.Hold(u, "b", t0); user.ErrorCode(err) != user.CodeConflict {
		t.Errorf("hold in introduction: err = %v, want conflict", err)
	}
	r.Status = user.StatusInvited
	s, _, err := user.Hold(r, "b", t0)
	if err != nil || s.Status != user.StatusSuspended || !s.HoldInvite {
		t.Fatalf("hold after release: %+v %v", s, err)
	}
	// Releasing again re-enables through the worker without a new invitation.
	again, _, err := user.Release(s, "b", t0)
	if err != nil || again.Status != user.StatusReleasing || again.InviteGeneration != 1 {
		t.Errorf("re-release: status=%s generation=%d err=%v", again.Status, again.InviteGeneration, err)
	}

	// Holding through a patch works the same way.
	on := true
	p, _, err := rules.Apply(r, user.Patch{HoldInvite: &on}, "b", t0)
	if err != nil || p.Status != user.StatusSuspended {
		t.Errorf("patch hold: status=%s err=%v", p.Status, err)
	}
}

func TestResend(t *testing.T) {
	u, _ := rules.New(valid(), "u1", "a", t0)
	if _, _, err := user.Resend(u, "b", t0); user.ErrorCode(err) != user.CodeConflict {
		t.Errorf("resend in introduction: %v", err)
	}
	for _, st := range []user.Status{user.StatusInvited, user.StatusReleaseFailed} {
		r, _, _ := user.Release(u, "b", t0)
		r.Status, r.StatusReason = st, "bounced"
		n, _, err := user.Resend(r, "b", t0)
		if err != nil || n.InviteGeneration != 2 || n.Status != user.StatusReleasing || n.StatusReason != "" {
			t.Errorf("resend from %s: %+v %v", st, n, err)
		}
	}
	r, _, _ := user.Release(u, "b", t0)
	r.Status = user.StatusActive
	if _, _, err := user.Resend(r, "b", t0); user.ErrorCode(err) != user.CodeConflict {
		t.Errorf("resend to active user: %v", err)
	}
}

func TestEmailLockedAfterRelease(t *testing.T) {
	u, _ := rules.New(valid(), "u1", "a", t0)
	email := "new@example.com"
	if n, _, err := rules.Apply(u, user.Patch{Email: &email}, "b", t0); err != nil || n.Email != email {
		t.Fatalf("email edit in introduction: %v", err)
	}
	r, _, _ := user.Release(u, "b", t0)
	for _, st := range []user.Status{user.StatusReleasing, user.StatusInvited, user.StatusActive, user.StatusSuspended} {
		r.Status = st
		if _, _, err := rules.Apply(r, user.Patch{Email: &email}, "b", t0); !slices.Equal(fields(err), []string{"email"}) {
			t.Errorf("email edit in %s: err = %v, want refused", st, err)
		}
	}
	r.Status = user.StatusReleaseFailed
	if _, _, err := rules.Apply(r, user.Patch{Email: &email}, "b", t0); err != nil {
		t.Errorf("fixing the email after a failed release: %v", err)
	}
}

func TestDiagnose(t *testing.T) {
	u, _ := rules.New(valid(), "u1", "a", t0)
	week := 7 * 24 * time.Hour
	d := user.Diagnose(u, t0, week, nil)
	if d.CanLogIn || !strings.Contains(d.Summary, "Introduction Mode") {
		t.Errorf("introduction: %+v", d)
	}
	u.HoldInvite, u.Status, u.InvitedAt = false, user.StatusInvited, t0
	if d := user.Diagnose(u, t0.Add(time.Hour), week, nil); !d.CanLogIn || !d.PasswordExpiresAt.Equal(t0.Add(week)) {
		t.Errorf("invited: %+v", d)
	}
	if d := user.Diagnose(u, t0.Add(week), week, nil); d.CanLogIn || !strings.Contains(d.Summary, "expired") || !strings.Contains(d.NextStep, "Resend") {
		t.Errorf("expired: %+v", d)
	}
	u.Status, u.StatusReason = user.StatusReleaseFailed, "the address bounced"
	if d := user.Diagnose(u, t0, week, nil); !strings.Contains(d.Summary, "the address bounced") {
		t.Errorf("failed: %+v", d)
	}
	u.Status, u.StatusReason = user.StatusInvited, ""
	for _, tt := range []struct {
		login user.LoginFacts
		can   bool
		say   string
	}{
		{user.LoginFacts{}, false, "no login"},
		{user.LoginFacts{Exists: true}, false, "disabled"},
		{user.LoginFacts{Exists: true, Enabled: true, Confirmed: true}, true, "already set their own password"},
		{user.LoginFacts{Exists: true, Enabled: true}, true, "temporary password was emailed"},
	} {
		if d := user.Diagnose(u, t0.Add(time.Hour), week, &tt.login); d.CanLogIn != tt.can || !strings.Contains(d.Summary, tt.say) {
			t.Errorf("login %+v: %+v", tt.login, d)
		}
	}
	if !errors.Is(user.ErrEmailTaken, user.ErrEmailTaken) {
		t.Fatal("sentinel identity")
	}
}

func TestPatchAgainstKeepsOnlyWhatChanges(t *testing.T) {
	u := user.User{Type: user.Internal, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+447700900123",
		JobTitle: "Analyst", Role: "staff", HoldInvite: true, Grants: []string{"users.view"}}
	str := func(s string) *string { return &s }
	yes, no := true, false
	internal := user.Internal
	same := user.Patch{Type: &internal, FirstName: str(" Ada "), LastName: str("Lovelace"), Email: str("ADA@Example.com"),
		Phone: str("+447700900123"), JobTitle: str("Analyst"), Role: str("staff"), SlackUserID: str(""),
		ExternalPlannerAccess: &no, ExternalPurchasingAccess: &no, HoldInvite: &yes, Grants: &[]string{"users.view"}, Revokes: &[]string{}}
	if got := same.Against(u); !got.Empty() {
		t.Errorf("the form as the user is: %+v, want an empty patch", got)
	}
	changed := same
	changed.LastName, changed.HoldInvite, changed.Email = str("King"), &no, str("ada.king@example.com")
	got := changed.Against(u)
	if got.LastName == nil || *got.LastName != "King" || got.HoldInvite == nil || *got.HoldInvite || got.Email == nil {
		t.Errorf("last name, hold and email changed: %+v, want those three", got)
	}
	got.LastName, got.HoldInvite, got.Email = nil, nil, nil
	if !got.Empty() {
		t.Errorf("fields left that did not change: %+v", got)
	}
}
