package local_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/app"
	"github.com/opsos/onboarding/internal/emulators"
	"github.com/opsos/onboarding/internal/local"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// opsos bootstrap-admin against a DynamoDB table: DynamoDB Local here, the
// deployed table in AWS.
func TestBootstrapAdminOnDynamoDB(t *testing.T) {
	endpoint := emulators.DynamoDB(t)
	cfg, err := app.ConfigFromEnv(func(k string) string {
		return map[string]string{"OPSOS_DYNAMODB_ENDPOINT": endpoint, "OPSOS_TABLE_NAME": fmt.Sprintf("opsos-boot-%d", time.Now().UnixNano()),
			"OPSOS_DATA_DIR": t.TempDir()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	admin := onboarding.FirstAdministrator{Email: "lead@ops.example.com", FirstName: "Grace", LastName: "Hopper"}
	u, created, err := app.BootstrapAdmin(context.Background(), cfg, admin, log, app.WithStorage(local.OpenStorage))
	if err != nil || !created || u.Status != user.StatusReleasing || u.HoldInvite {
		t.Fatalf("%+v %v %v, want a released administrator", u, created, err)
	}
	again, created, err := app.BootstrapAdmin(context.Background(), cfg, admin, log, app.WithStorage(local.OpenStorage))
	if err != nil || created || again.ID != u.ID {
		t.Errorf("second run: %v %v, want the same administrator", created, err)
	}
	if _, _, err := app.BootstrapAdmin(context.Background(), app.Config{}, admin, log); err == nil || !strings.Contains(err.Error(), "OPSOS_TABLE_NAME") {
		t.Errorf("without a table: %v", err)
	}
}
