package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/embedded"
)

// rolesRacingStore runs race once, just before the next role write: a
// role write landing between a request's Authorize and its own.
type rolesRacingStore struct {
	*embedded.Store
	race func()
}

func (s *rolesRacingStore) UpdateRole(ctx context.Context, r access.Role, v int64, a onboarding.RoleAuditEntry) error {
	if race := s.race; race != nil {
		s.race = nil
		race()
	}
	return s.Store.UpdateRole(ctx, r, v, a)
}

// Another role changed while a role change was decided: the request,
// decided by the roles it was authorized with, is answered 409 and
// writes nothing; sent again, it is decided by the roles as they are.
func TestRolesChangedDuringTheRequest(t *testing.T) {
	f := newFixture(t)
	racing := &rolesRacingStore{Store: f.store}
	n := 0
	f.svc = onboarding.New(racing, access.DefaultCatalogue(), onboarding.Config{PhoneRegion: "GB"},
		func() time.Time { return f.now }, func() string { n++; return fmt.Sprintf("0001-%04d", n) })
	f.h = httpapi.New(f.svc, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	before := -1 // the changes recorded once the other role change is in
	racing.race = func() {
		actor, err := f.svc.Authorize(context.Background(), onboarding.Identity{UserID: f.admin.ID, Source: onboarding.SourceCLI})
		if err == nil {
			desc := "Builds the schedule"
			_, err = f.svc.EditRole(context.Background(), actor, "planner", 0, onboarding.RolePatch{Description: &desc})
		}
		if err != nil {
			t.Errorf("the racing role change: %v", err)
		}
		before = f.writes()
	}
	edit := func() result {
		return f.do(f.request(http.MethodPatch, "/roles/staff", `{"permissions":["planner.view","reports.view"]}`))
	}
	r := edit()
	if r.status != http.StatusConflict || !strings.Contains(r.raw, "the roles changed while your request ran") {
		t.Errorf("a role change while another landed: %d %s, want 409 saying the roles changed", r.status, r.raw)
	}
	if after := f.writes(); before < 0 || after != before {
		t.Errorf("the refused role change wrote: %d changes before it, %d after", before, after)
	}
	if r := edit(); r.status != http.StatusOK {
		t.Errorf("the role change sent again: %d %s", r.status, r.raw)
	}
}
