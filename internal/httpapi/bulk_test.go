package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/storetest"
)

func TestCreateDryRunChecksEverythingAndWritesNothing(t *testing.T) {
	f := newFixture(t)
	if r := f.create(`{"firstName":"Ann","lastName":"Lee","email":"ann@example.com","role":"staff"}`); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	before := f.writes()
	dry := func(body string) result { return f.do(f.request(http.MethodPost, "/users?dryRun=true", body)) }

	ok := dry(`{"firstName":"Bo","lastName":"Ek","email":"BO@example.com","role":"Supervisor","phone":"020 7946 0000"}`)
	if ok.status != http.StatusOK || ok.body["email"] != "bo@example.com" || ok.body["phone"] != "+442079460000" || ok.body["status"] != "introduction" {
		t.Errorf("a valid dry run: %d %s, want 200 with the user as it would be created", ok.status, ok.raw)
	}
	if r := dry(`{"firstName":"","lastName":"Ek","email":"nope","role":"astronaut"}`); r.status != http.StatusBadRequest ||
		strings.Join(errorFields(r), ",") != "firstName,email,role" {
		t.Errorf("an invalid dry run: %d %v, want 400 naming firstName, email and role", r.status, errorFields(r))
	}
	if r := dry(`{"firstName":"Ann","lastName":"Lee","email":"Ann@Example.com","role":"staff"}`); r.status != http.StatusConflict {
		t.Errorf("a dry run of a taken email: %d %s, want 409", r.status, r.raw)
	}
	if r := dry(`{"firstName":"X","lastName":"Y","email":"x@example.com","role":"staff"}`); r.status != http.StatusOK {
		t.Fatalf("%d", r.status)
	}
	if n := f.writes(); n != before {
		t.Errorf("dry runs wrote %d change records", n-before)
	}
	if r := f.do(f.request(http.MethodPost, "/users?dryRun=maybe", `{}`)); r.status != http.StatusBadRequest {
		t.Errorf("dryRun=maybe: %d", r.status)
	}
}

func TestBulkReleaseNeedsTheConfirmedCount(t *testing.T) {
	f := newFixture(t)
	for i := range 6 {
		role := "staff"
		if i%2 == 1 {
			role = "planner"
		}
		if r := f.create(fmt.Sprintf(`{"firstName":"U%d","lastName":"Bulk","email":"u%d@example.com","role":%q}`, i, i, role)); r.status != http.StatusCreated {
			t.Fatal(r.raw)
		}
	}
	bulk := func(query, body string) result { return f.do(f.request(http.MethodPost, "/users/release"+query, body)) }

	preview := bulk("?dryRun=true", `{"role":"staff"}`)
	if preview.status != http.StatusOK || preview.body["count"] != float64(3) || len(preview.body["users"].([]any)) != 3 {
		t.Fatalf("preview: %d %s, want 3 staff", preview.status, preview.raw)
	}
	before := f.writes()
	if r := bulk("", `{"role":"staff"}`); r.status != http.StatusBadRequest || errorFields(r)[0] != "expectedCount" {
		t.Errorf("without the count: %d %s", r.status, r.raw)
	}
	if r := bulk("", `{"role":"staff","expectedCount":2}`); r.status != http.StatusConflict || !strings.Contains(r.raw, "3 users match now") {
		t.Errorf("a stale count: %d %s, want 409 with the new count", r.status, r.raw)
	}
	if r := bulk("", `{"role":"staff","colour":"blue"}`); r.status != http.StatusBadRequest {
		t.Errorf("an unknown field: %d %s", r.status, r.raw)
	}
	if n := f.writes(); n != before {
		t.Fatalf("refused bulk releases wrote %d change records", n-before)
	}
	done := bulk("", `{"role":"staff","expectedCount":3}`)
	if done.status != http.StatusOK || done.body["released"] != float64(3) || len(done.body["failed"].([]any)) != 0 {
		t.Fatalf("release: %d %s", done.status, done.raw)
	}
	list := f.do(f.request(http.MethodGet, "/users?status=releasing", ""))
	if n := len(list.body["items"].([]any)); n != 3 {
		t.Errorf("%d users releasing, want the 3 staff", n)
	}
	// Released users are no longer on hold: the same selection is empty.
	if r := bulk("?dryRun=true", `{"role":"staff"}`); r.body["count"] != float64(0) {
		t.Errorf("after the release: %s", r.raw)
	}
	if r := bulk("?dryRun=true", `{"status":"active"}`); r.status != http.StatusBadRequest {
		t.Errorf("a selection of active users: %d %s, want 400", r.status, r.raw)
	}
}

// TestBulkReleaseOfTooManyIsRefused: a selection of more users than one
// bulk release takes is 422, the preview and the release alike, and
// releases nobody.
func TestBulkReleaseOfTooManyIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range onboarding.MaxBulk + 1 {
		u := storetest.User(i, fmt.Sprintf("many%d@example.com", i))
		if err := f.store.CreateUser(ctx, u, storetest.Audit(u, "create"), nil); err != nil {
			t.Fatal(err)
		}
	}
	before := f.writes()
	for _, query := range []string{"?dryRun=true", ""} {
		r := f.do(f.request(http.MethodPost, "/users/release"+query, fmt.Sprintf(`{"role":"staff","expectedCount":%d}`, onboarding.MaxBulk+1)))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.raw, "narrow the selection") {
			t.Errorf("POST /users/release%s of %d users: %d %s, want 422 asking to narrow the selection", query, onboarding.MaxBulk+1, r.status, r.raw)
		}
	}
	if n := f.writes(); n != before {
		t.Errorf("refused bulk releases wrote %d change records", n-before)
	}
}
