package onboarding_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// wantRolesChanged fails t unless err is the refusal of a write decided
// by roles that changed since the actor was authorized: a conflict, which
// the API answers 409.
func wantRolesChanged(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, onboarding.ErrRolesChanged) || user.ErrorCode(err) != user.CodeConflict {
		t.Errorf("%s with roles changed since Authorize: %v (code %s), want ErrRolesChanged, a conflict", what, err, user.ErrorCode(err))
	}
}

// auditsStore keeps the audit entries of the user writes it is asked for.
type auditsStore struct {
	onboarding.Store
	audits []onboarding.Audit
}

func (s *auditsStore) CreateUser(ctx context.Context, u user.User, a onboarding.AuditEntry, idem *onboarding.Idempotency) error {
	s.audits = append(s.audits, a.Audit)
	return s.Store.CreateUser(ctx, u, a, idem)
}

func (s *auditsStore) UpdateUser(ctx context.Context, u user.User, v int64, a onboarding.AuditEntry) error {
	s.audits = append(s.audits, a.Audit)
	return s.Store.UpdateUser(ctx, u, v, a)
}

// User writes are not conditioned on the roles' version: they would all
// share its one item, and DynamoDB would queue every manager's writes on
// it (docs/ARCHITECTURE.md). A user write decides by the roles its
// request read at Authorize; the manager's next request decides by the
// roles as they are then.
func TestUserWritesDecideByTheRolesOfTheirRequest(t *testing.T) {
	ctx := context.Background()
	base, store := newService(t)
	kept := &auditsStore{Store: store}
	svc := onboarding.New(kept, access.DefaultCatalogue(), onboarding.Config{}, func() time.Time { return t0 }, func() string { return "id-new" })
	as := func() onboarding.Actor { return admin(t, base) }
	if _, err := svc.CreateRole(ctx, as(), onboarding.RoleDraft{ID: "lead", Name: "Lead",
		Permissions: []string{access.UsersView, access.UsersManage, access.PlannerView}}); err != nil {
		t.Fatal(err)
	}
	bea := signedIn(t, svc, activeUser(t, store, "bea@example.com", "lead", ""))
	u, _, err := svc.Create(ctx, bea, draft("sam@example.com"), "")
	if err == nil {
		_, err = svc.Release(ctx, bea, u.ID, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(kept.audits) != 2 {
		t.Fatalf("%d user writes kept, want the create and the release", len(kept.audits))
	}
	for _, a := range kept.audits {
		if a.RolesVersion != nil {
			t.Errorf("the %s of a user is conditioned on the roles' version %d", a.Action, *a.RolesVersion)
		}
	}
	// An administrator takes users.manage from leads: Bea's next request
	// is refused.
	if _, err := svc.EditRole(ctx, as(), "lead", 0, onboarding.RolePatch{Permissions: &[]string{access.UsersView, access.PlannerView}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authorize(ctx, onboarding.Identity{UserID: bea.User().ID, Source: onboarding.SourceAPI}); user.ErrorCode(err) != user.CodeForbidden {
		t.Errorf("authorize after users.manage was taken from her role: %v, want forbidden", err)
	}
}

// A settings manager is authorized; another role write lands first; the
// role change decided by the roles as they were is refused.
func TestRoleWriteAfterTheRolesChanged(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	first := admin(t, svc)
	second := admin(t, svc)
	if _, err := svc.CreateRole(ctx, first, onboarding.RoleDraft{Name: "Night", Permissions: []string{access.PlannerView}}); err != nil {
		t.Fatal(err)
	}
	before := roleSnapshot(t, store)
	_, err := svc.EditRole(ctx, second, "supervisor", 0, onboarding.RolePatch{Description: ptr("Runs shifts")})
	wantRolesChanged(t, "edit role", err)
	_, err = svc.CreateRole(ctx, second, onboarding.RoleDraft{Name: "Day", Permissions: []string{access.PlannerView}})
	wantRolesChanged(t, "create role", err)
	wantRolesChanged(t, "delete role", svc.DeleteRole(ctx, second, "purchasing", 0))
	if after := roleSnapshot(t, store); after != before {
		t.Errorf("refused role writes changed the data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Authorized again, the same change goes through.
	if _, err := svc.EditRole(ctx, admin(t, svc), "supervisor", 0, onboarding.RolePatch{Description: ptr("Runs shifts")}); err != nil {
		t.Errorf("edit role with the roles as they are: %v", err)
	}
}

// Two requests of administrators each take settings.manage from a
// different role, each decided while the other role still had it:
// together they would leave no one able to change settings. The second is
// refused; decided again, the no-lockout rule refuses it.
func TestConcurrentRoleEditsKeepASettingsManager(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	as := func() onboarding.Actor { return admin(t, svc) }
	if _, err := svc.CreateRole(ctx, as(), onboarding.RoleDraft{ID: "keeper", Name: "Settings Keeper",
		Permissions: []string{access.UsersView, access.UsersManage, access.SettingsManage}}); err != nil {
		t.Fatal(err)
	}
	// The administrator holds settings.manage through the administrator
	// role, Cy through the keeper role.
	activeUser(t, store, "cy@example.com", "keeper", "")
	var withoutSettings []string
	for _, p := range access.DefaultCatalogue().Roles()[0].Permissions { // the administrator's
		if p != access.SettingsManage {
			withoutSettings = append(withoutSettings, p)
		}
	}
	one, other := as(), as()
	if _, err := svc.EditRole(ctx, one, "keeper", 0, onboarding.RolePatch{
		Permissions: &[]string{access.UsersView, access.UsersManage}}); err != nil {
		t.Fatalf("take settings.manage from the keepers while administrators hold it: %v", err)
	}
	before := roleSnapshot(t, store)
	_, err := svc.EditRole(ctx, other, "administrator", 0, onboarding.RolePatch{Permissions: &withoutSettings})
	wantRolesChanged(t, "take settings.manage from the administrators too", err)
	if after := roleSnapshot(t, store); after != before {
		t.Errorf("a refused role change changed the data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	_, err = svc.EditRole(ctx, as(), "administrator", 0, onboarding.RolePatch{Permissions: &withoutSettings})
	if user.ErrorRule(err) != onboarding.RuleNoLockout {
		t.Errorf("the same change decided again: %v, want refused by %s", err, onboarding.RuleNoLockout)
	}
}

// Writes no authorized actor decided are not conditioned on the roles:
// the release worker's outcomes and first sign-ins stand whatever the
// roles did meanwhile.
func TestSystemWritesIgnoreTheRolesVersion(t *testing.T) {
	ctx := context.Background()
	svc, store := newService(t)
	u, _, err := svc.Create(ctx, admin(t, svc), draft("ivy@example.com"), "")
	if err != nil {
		t.Fatal(err)
	}
	released, err := svc.Release(ctx, admin(t, svc), u.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EditRole(ctx, admin(t, svc), "staff", 0, onboarding.RolePatch{Description: ptr("Sees the plan")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Invited(ctx, released, t0); err != nil {
		t.Fatalf("the worker's outcome after a role change: %v", err)
	}
	if err := svc.Activate(ctx, u.ID, u.Email); err != nil {
		t.Fatalf("a first sign-in after a role change: %v", err)
	}
	if got, err := store.GetUser(ctx, u.ID); err != nil || got.Status != user.StatusActive {
		t.Errorf("after the worker's outcome and the sign-in: %s %v, want active", got.Status, err)
	}
}
