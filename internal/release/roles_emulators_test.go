package release_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsos/onboarding/internal/gateway"
	"github.com/opsos/onboarding/internal/httpapi"
	"github.com/opsos/onboarding/internal/user"
)

// TestCustomRoleEndToEndOnEmulators is issue 14's end-to-end proof, on
// DynamoDB Local and cognito-local: a manager creates a custom role and a
// user holding it in Introduction Mode through the HTTP API, releases
// them, and the release worker puts their login into a group named by the
// role id, which did not exist before; narrowing the role then shrinks
// the user's effective permissions at once, with no edit of the user.
//
// Local mode signs in with its own local logins, not Cognito, so the API
// runs here as local mode serves it (the production handler behind the
// gateway stand-in) on the same service, store and worker that
// newEmulated wires to cognito-local.
func TestCustomRoleEndToEndOnEmulators(t *testing.T) {
	e := newEmulated(t)
	const token = "manager-token-0123456789"
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	api := httptest.NewServer(gateway.New(httpapi.New(e.svc, quiet).Handle,
		gateway.TokenAuthorizer(token, map[string]string{httpapi.ClaimUserID: e.actor.User().ID, httpapi.ClaimEmail: e.actor.User().Email})))
	defer api.Close()
	call := func(method, path, body string, headers ...string) (int, http.Header, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, api.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, raw)
			}
		}
		return resp.StatusCode, resp.Header, out
	}
	effective := func(u map[string]any) []string {
		t.Helper()
		perms, _ := u["permissions"].(map[string]any)
		list, ok := perms["effective"].([]any)
		if !ok {
			t.Fatalf("no permissions.effective in %v", u)
		}
		var s []string
		for _, x := range list {
			s = append(s, x.(string))
		}
		slices.Sort(s)
		return s
	}

	// The manager creates the role; its id names its Cognito group.
	code, h, role := call("POST", "/roles", `{"name":"Night Supervisor","description":"Runs the night shift","permissions":["planner.view","planner.edit","users.view"]}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /roles: %d %v", code, role)
	}
	roleID, roleTag := role["id"].(string), h.Get("ETag")
	if roleID == "" || roleTag == "" {
		t.Fatalf("POST /roles answered id %q, ETag %q", roleID, roleTag)
	}
	if _, err := e.cognito.GetGroup(e.ctx, &cip.GetGroupInput{UserPoolId: &e.pool, GroupName: &roleID}); !isNotFound(err) {
		t.Fatalf("group %q before any holder is released: %v, want it not to exist", roleID, err)
	}

	// A user with the role, created in Introduction Mode, then released.
	code, _, u := call("POST", "/users", `{"firstName":"Nadia","lastName":"Okafor","email":"nadia@example.com","role":"`+roleID+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /users: %d %v", code, u)
	}
	id := u["id"].(string)
	if u["status"] != string(user.StatusIntroduction) || u["role"] != roleID {
		t.Fatalf("created user: status %v role %v, want Introduction Mode with %s", u["status"], u["role"], roleID)
	}
	want := []string{"planner.edit", "planner.view", "users.view"}
	if got := effective(u); !slices.Equal(got, want) {
		t.Fatalf("effective permissions at creation %v, want %v", got, want)
	}
	if code, _, out := call("POST", "/users/"+id+"/release", ""); code != http.StatusAccepted {
		t.Fatalf("release: %d %v", code, out)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		e.poller.Poll(e.ctx)
		if _, _, got := call("GET", "/users/"+id, ""); got["status"] == string(user.StatusInvited) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("not invited within 30 s: %v", got)
		}
	}
	if n := len(e.mail.to("nadia@example.com")); n != 1 {
		t.Fatalf("%d invitation emails, want 1", n)
	}

	// The login is in the role's group, and in no other.
	login, err := e.cognito.AdminGetUser(e.ctx, &cip.AdminGetUserInput{UserPoolId: &e.pool, Username: aws.String("nadia@example.com")})
	if err != nil {
		t.Fatalf("the released user has no login: %v", err)
	}
	groups, err := e.cognito.AdminListGroupsForUser(e.ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &e.pool, Username: login.Username})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.Groups {
		names = append(names, aws.ToString(g.GroupName))
	}
	if !slices.Equal(names, []string{roleID}) {
		t.Fatalf("the login's groups are %v, want only %q", names, roleID)
	}

	// Narrowing the role shrinks the holder's permissions at once.
	code, _, role = call("PATCH", "/roles/"+roleID, `{"permissions":["planner.view","users.view"]}`, "If-Match", roleTag)
	if code != http.StatusOK {
		t.Fatalf("PATCH /roles/%s: %d %v", roleID, code, role)
	}
	_, _, got := call("GET", "/users/"+id, "")
	if eff := effective(got); !slices.Equal(eff, []string{"planner.view", "users.view"}) {
		t.Errorf("effective permissions after narrowing the role: %v, want planner.edit gone", eff)
	}
	if got["role"] != roleID || got["status"] != string(user.StatusInvited) {
		t.Errorf("the user changed with the role: role %v status %v", got["role"], got["status"])
	}
	// A stale version is refused and changes nothing.
	if code, _, out := call("PATCH", "/roles/"+roleID, `{"permissions":["planner.view","planner.edit","users.view"]}`, "If-Match", roleTag); code != http.StatusPreconditionFailed {
		t.Errorf("PATCH with the old ETag: %d %v, want 412", code, out)
	}
	if _, _, again := call("GET", "/users/"+id, ""); slices.Contains(effective(again), "planner.edit") {
		t.Errorf("a refused edit of the role gave planner.edit back: %v", effective(again))
	}
}

func isNotFound(err error) bool {
	var nf *ciptypes.ResourceNotFoundException
	return errors.As(err, &nf)
}
