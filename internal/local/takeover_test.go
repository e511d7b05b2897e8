package local_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/store/embedded"
)

// TestRestartTakesOverTheDeadRunsClaims: local mode killed while it was
// inviting someone leaves that invitation's claim in progress, held for
// the claim's whole span. The next start on the same data directory is
// the only process on it, takes the claim over and invites at once.
func TestRestartTakesOverTheDeadRunsClaims(t *testing.T) {
	dir := t.TempDir()
	s, _ := start(t, config(t, dir))
	c := client{t: t, base: "http://" + s.Addr()}
	const email = "kim.killed@example.com"
	id := c.create("Kim", "Killed", email, "staff")
	stop(t, s)

	// What a run killed mid-delivery leaves: the release written, and its
	// invitation claimed for an hour by a worker that is gone.
	store, err := embedded.Open(filepath.Join(dir, "opsos.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := store.GetUser(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := store.Claim(ctx, release.InviteKey(id, u.Version+1), time.Now(), time.Hour); err != nil || st != release.Claimed {
		t.Fatalf("the dead run's claim: %v %v", st, err)
	}
	store.Close()

	s, _, logs := startLogged(t, config(t, dir))
	defer stop(t, s)
	c.base = "http://" + s.Addr()
	c.mustAs(202, token, "POST", "/users/"+id+"/release", "")
	c.waitStatus(id, "invited")
	if len(c.waitMail(email, 1)) != 1 {
		t.Error("no invitation")
	}
	if !strings.Contains(logs.String(), `"msg":"took over the release claims of a previous run","claims":1`) {
		t.Errorf("the start did not say it took the claim over:\n%s", logs.String())
	}
}
