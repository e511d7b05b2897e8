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
	"github.com/opsos/onboarding/internal/user"
)

// rolesRacingStore runs race once, just before the next user write: a
// role write landing between a request's Authorize and its write.
type rolesRacingStore struct {
	*embedded.Store
	race func()
}

func (s *rolesRacingStore) UpdateUser(ctx context.Context, u user.User, v int64, a onboarding.AuditEntry) error {
	if race := s.race; race != nil {
		s.race = nil
		race()
	}
	return s.Store.UpdateUser(ctx, u, v, a)
}

// A role changed while a request ran: the request, decided by the roles
// it was authorized with, is answered 409 and writes nothing.
func TestRolesChangedDuringTheRequest(t *testing.T) {
	f := newFixture(t)
	id := f.create(`{"firstName":"Ann","lastName":"Lee","email":"ann@example.com","role":"staff"}`).body["id"].(string)
	racing := &rolesRacingStore{Store: f.store}
	n := 0
	f.svc = onboarding.New(racing, access.DefaultCatalogue(), onboarding.Config{PhoneRegion: "GB"},
		func() time.Time { return f.now }, func() string { n++; return fmt.Sprintf("0001-%04d", n) })
	f.h = httpapi.New(f.svc, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	before := -1 // the changes recorded once the role change is in
	racing.race = func() {
		actor, err := f.svc.Authorize(context.Background(), onboarding.Identity{UserID: f.admin.ID, Source: onboarding.SourceCLI})
		if err == nil {
			_, err = f.svc.EditRole(context.Background(), actor, "staff", 0, onboarding.RolePatch{
				Permissions: &[]string{access.PlannerView, access.ReportsView}})
		}
		if err != nil {
			t.Errorf("the racing role change: %v", err)
		}
		before = f.writes()
	}
	r := f.do(f.request(http.MethodPost, "/users/"+id+"/release", ""))
	if r.status != http.StatusConflict || !strings.Contains(r.raw, "the roles changed while your request ran") {
		t.Errorf("release while the roles changed: %d %s, want 409 saying the roles changed", r.status, r.raw)
	}
	if after := f.writes(); before < 0 || after != before {
		t.Errorf("the refused release wrote: %d changes before it, %d after", before, after)
	}
	// Sent again, it is decided by the roles as they are, and goes through.
	if r := f.do(f.request(http.MethodPost, "/users/"+id+"/release", "")); r.status != http.StatusAccepted {
		t.Errorf("release sent again: %d %s", r.status, r.raw)
	}
}
