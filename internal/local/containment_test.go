package local_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/opsos/onboarding/internal/bulk"
)

// TestContainmentMatrix is the authorization matrix's target axis: every
// route, by every kind of caller, about every kind of user (an
// Administrator, a peer, someone below, oneself), on both stores. An
// Operations Manager reaches a peer and someone below, their own profile
// and nothing else of their own, and no Administrator; a caller who is not
// a manager reaches nobody. Each refusal names its rule and changes
// nothing; each allowed write changes what the snapshot shows.
func TestContainmentMatrix(t *testing.T) {
	// bcrypt, slow under the race detector, dominates: the runs go side by side.
	t.Parallel()
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			containmentMatrix(t, env)
		})
	}
}

// target is one kind of user the requests are about.
type target struct {
	kind, id, email, role string
}

func containmentMatrix(t *testing.T, env []string) {
	s, _ := start(t, config(t, t.TempDir(), append(env, "OPSOS_SLACK_SIGNING_SECRET", slackSecret)...))
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}

	// The Operations Manager who calls, and a staff member who is no
	// manager, both signed in through the local login.
	const managerEmail, staffEmail = "mia.manager@example.com", "stu.staff@example.com"
	manager := c.create("Mia", "Manager", managerEmail, "operations-manager")
	staff := c.create("Stu", "Staff", staffEmail, "staff")
	for _, id := range []string{manager, staff} {
		c.mustAs(202, token, "POST", "/users/"+id+"/release", "")
		c.waitStatus(id, "invited")
	}
	managerTok, _ := c.signIn(managerEmail, c.waitMail(managerEmail, 1)[0], "Mia-Own-Pass-1")
	staffTok, _ := c.signIn(staffEmail, c.waitMail(staffEmail, 1)[0], "Stu-Own-Pass-1")
	c.waitStatus(manager, "active")
	c.waitStatus(staff, "active")
	c.mustAs(200, token, "PATCH", "/users/"+manager, `{"slackUserId":"U0MIA0001"}`)

	// Each door gets its own targets, all in Introduction Mode, so that
	// each can walk them through release, resend and hold.
	targets := func(door string) []target {
		mk := func(kind, first, role string) target {
			email := fmt.Sprintf("%s.%s@example.com", strings.ToLower(first), door)
			return target{kind: kind, id: c.create(first, "Target", email, role), email: email, role: role}
		}
		return []target{
			mk("an administrator", "Ada", "administrator"),
			mk("a peer", "Pat", "operations-manager"),
			mk("someone below", "Sam", "staff"),
			{kind: "oneself", id: manager, email: managerEmail, role: "operations-manager"},
		}
	}
	api, viaSlack := targets("api"), targets("slack")

	// What the manager gets, by kind of target: a status, or a refusal
	// by a rule.
	type outcome struct {
		status int
		rule   string
	}
	ok := func(status int) map[string]outcome {
		return map[string]outcome{"an administrator": {status, ""}, "a peer": {status, ""}, "someone below": {status, ""}, "oneself": {status, ""}}
	}
	write := func(status int, selfRule string) map[string]outcome {
		m := ok(status)
		m["an administrator"] = outcome{403, "containment"}
		if selfRule != "" {
			m["oneself"] = outcome{403, selfRule}
		}
		return m
	}
	created := write(201, "")
	delete(created, "oneself")
	type row struct {
		method, path, query, body string
		// at, when set, is the path requested in place of path: the
		// role routes' {id} is the target's role, not the target.
		at      string
		manager map[string]outcome
		then    func(tg target)
	}
	// Roles are changed by holders of settings.manage only, which the
	// manager is not, whoever holds the role.
	settingsOnly := map[string]outcome{"an administrator": {403, "settings-manage"}, "a peer": {403, "settings-manage"},
		"someone below": {403, "settings-manage"}, "oneself": {403, "settings-manage"}}
	rows := []row{
		{method: "GET", path: "/roles", manager: ok(200)},
		{method: "POST", path: "/roles", body: `{"name":"Matrix {n}","permissions":["planner.view"]}`, manager: settingsOnly},
		{method: "GET", path: "/roles/{id}", at: "/roles/{role}", manager: ok(200)},
		{method: "PATCH", path: "/roles/{id}", at: "/roles/{role}", body: `{"description":"Matrix"}`, manager: settingsOnly},
		{method: "DELETE", path: "/roles/{id}", at: "/roles/{role}", manager: settingsOnly},
		{method: "GET", path: "/roles/{id}/history", at: "/roles/{role}/history", manager: ok(200)},
		{method: "GET", path: "/users", query: "?role={role}", manager: ok(200)},
		{method: "GET", path: "/users/{id}", manager: ok(200)},
		{method: "PATCH", path: "/users/{id}", body: `{"jobTitle":"Matrix"}`, manager: write(200, "")},
		{method: "PATCH", path: "/users/{id}", body: `{"slackUserId":"U0LINK{n}"}`, manager: write(200, "self")},
		{method: "PATCH", path: "/users/{id}", body: `{"permissions":{"grant":["users.view"],"revoke":["reports.view"]}}`, manager: write(200, "self")},
		{method: "GET", path: "/users/{id}/status", manager: ok(200)},
		{method: "GET", path: "/users/{id}/history", manager: ok(200)},
		{method: "POST", path: "/users", body: `{"firstName":"New","lastName":"{n}","email":"new{n}@example.com","role":"{role}"}`, manager: created},
		{method: "POST", path: "/users", query: "?dryRun=true", body: `{"firstName":"Dry","lastName":"{n}","email":"dry{n}@example.com","role":"{role}","holdInvite":false}`, manager: func() map[string]outcome {
			m := write(200, "")
			delete(m, "oneself")
			return m
		}()},
		{method: "POST", path: "/users/release", query: "?dryRun=true", body: `{"role":"{role}"}`, manager: ok(200)},
		{method: "POST", path: "/users/{id}/release", manager: write(202, "self"), then: func(tg target) { c.waitStatus(tg.id, "invited") }},
		{method: "POST", path: "/users/{id}/resend-invite", manager: write(202, "self"), then: func(tg target) {
			c.waitMail(tg.email, 2)
			c.waitStatus(tg.id, "invited")
		}},
		{method: "POST", path: "/users/{id}/hold", manager: write(200, "self"), then: func(tg target) { c.waitStatus(tg.id, "suspended") }},
	}
	// Every route the router serves has a row.
	served := routerRoutes(c)
	inMatrix := map[string]bool{}
	for _, r := range rows {
		inMatrix[r.method+" "+r.path] = true
	}
	for _, key := range sortedSet(served) {
		if !inMatrix[key] {
			t.Errorf("the API serves %s, which the containment matrix does not cover: add a row", key)
		}
	}

	fill := func(s string, i int, tg target) string {
		return strings.NewReplacer("{id}", tg.id, "{role}", tg.role, "{n}", fmt.Sprint(i)).Replace(s)
	}
	before := c.state()
	requests, refusals := 0, 0
	for _, r := range rows {
		for i, tg := range api {
			at := r.path
			if r.at != "" {
				at = r.at
			}
			path := fill(at, i, tg) + fill(r.query, i, tg)
			body := fill(r.body, i, tg)
			what := fmt.Sprintf("%s %s%s about %s", r.method, r.path, r.query, tg.kind)
			// Callers who are not managers reach nobody.
			for _, caller := range []struct {
				who, auth string
				want      int
			}{{"no token", "", 401}, {"a staff member", "Bearer " + staffTok, 403}} {
				requests++
				if got := c.do(r.method, path, caller.auth, body); got.status != caller.want {
					t.Errorf("%s by %s: %d %v, want %d", what, caller.who, got.status, got.body, caller.want)
				}
				if after := c.state(); after != before {
					t.Errorf("%s by %s changed the data:\nbefore:\n%s\nafter:\n%s", what, caller.who, before, after)
					before = after
				}
			}
			want, applies := r.manager[tg.kind]
			if !applies {
				continue
			}
			requests++
			got := c.as(managerTok, r.method, path, body)
			after := c.state()
			switch {
			case got.status != want.status:
				t.Errorf("%s by the manager: %d %v, want %d", what, got.status, got.body, want.status)
			case want.rule != "":
				refusals++
				if got.body["rule"] != want.rule || !strings.Contains(fmt.Sprint(got.body["detail"]), "rule: "+want.rule) {
					t.Errorf("%s by the manager: the refusal does not name the rule %s: %v", what, want.rule, got.body)
				}
				if after != before {
					t.Errorf("%s by the manager was refused but changed the data:\nbefore:\n%s\nafter:\n%s", what, before, after)
				}
			case r.method != "GET" && r.query != "?dryRun=true" && after == before:
				t.Errorf("%s by the manager: %d, but the snapshot shows no change", what, got.status)
			case (r.method == "GET" || r.query == "?dryRun=true") && after != before:
				t.Errorf("%s by the manager read, but changed the data", what)
			}
			if r.then != nil && want.rule == "" {
				r.then(tg)
			}
			before = c.state()
		}
	}

	// The Slack door, about the Slack targets: the same answers in words.
	door := slackDoor{t: t, base: c.base, secret: slackSecret, replies: newCatcher(t, nil)}
	commands := []struct {
		text      string
		done      string // what the answer says when it is done
		refusedBy map[string]string
		then      func(tg target)
	}{
		{text: "show {email}", done: "{email}"},
		{text: "edit {email} title=Matrix", done: "User updated", refusedBy: map[string]string{"an administrator": "containment"}},
		{text: "edit {email} slack=U0SLINK{n}", done: "User updated", refusedBy: map[string]string{"an administrator": "containment", "oneself": "self"}},
		{text: "edit {email} grant=users.view revoke=reports.view", done: "User updated", refusedBy: map[string]string{"an administrator": "containment", "oneself": "self"}},
		{text: "release {email}", done: "Access released", refusedBy: map[string]string{"an administrator": "containment", "oneself": "self"},
			then: func(tg target) { c.waitStatus(tg.id, "invited") }},
		{text: "resend {email}", done: "Invitation resent", refusedBy: map[string]string{"an administrator": "containment", "oneself": "self"},
			then: func(tg target) { c.waitMail(tg.email, 2); c.waitStatus(tg.id, "invited") }},
		{text: "hold {email}", done: "Access on hold", refusedBy: map[string]string{"an administrator": "containment", "oneself": "self"},
			then: func(tg target) { c.waitStatus(tg.id, "suspended") }},
	}
	for _, cmd := range commands {
		for i, tg := range viaSlack {
			text := strings.NewReplacer("{email}", tg.email, "{n}", fmt.Sprint(i)).Replace(cmd.text)
			what := fmt.Sprintf("/opsos-user %s about %s", cmd.text, tg.kind)
			requests++
			code, ans := door.command("U0MIA0001", text, signed)
			after := c.state()
			if rule, refused := cmd.refusedBy[tg.kind]; refused {
				refusals++
				if code != 200 || !strings.Contains(ans, "Sorry, you can't do that") || !strings.Contains(ans, "rule: "+rule) {
					t.Errorf("%s by the manager: %d %s, want a refusal naming %s", what, code, ans, rule)
				}
				if after != before {
					t.Errorf("%s by the manager was refused but changed the data:\nbefore:\n%s\nafter:\n%s", what, before, after)
				}
				continue
			}
			if done := strings.ReplaceAll(cmd.done, "{email}", tg.email); code != 200 || !strings.Contains(ans, done) {
				t.Errorf("%s by the manager: %d %s, want %q", what, code, ans, done)
			}
			if cmd.then != nil {
				cmd.then(tg)
			}
			before = c.state()
		}
	}
	// A CSV import by the manager: the Administrator's row is a problem on
	// its line, naming the rule, and nothing of the file is written.
	csv := "First Name,Last Name,Email,Role\nCal,Clerk,cal@example.com,staff\nEve,Admin,eve@example.com,Administrator\nPia,Peer,pia@example.com,Operations Manager\n"
	csvRows, csvProblems, err := bulk.ReadCSV(strings.NewReader(csv))
	if err != nil || len(csvProblems) > 0 {
		t.Fatalf("read the CSV: %v %v", err, csvProblems)
	}
	rep, err := bulk.Import(context.Background(), bulk.Client{Server: c.base, Token: managerTok}, csvRows, nil, bulk.Options{})
	if err != nil || rep.Written || rep.Created != 0 || len(rep.Problems) != 1 || rep.Problems[0].Line != 3 ||
		!strings.Contains(rep.Problems[0].Message, "rule: containment") {
		t.Errorf("the manager's import of an Administrator: %+v %v, want one problem on line 3 naming containment and nothing written", rep, err)
	}
	requests += len(csvRows)
	refusals++
	if after := c.state(); after != before {
		t.Errorf("the refused import changed the data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	t.Logf("%d API rows × %d targets × 3 callers and %d Slack commands × %d targets by the manager: %d requests, %d refused by a rule",
		len(rows), len(api), len(commands), len(viaSlack), requests, refusals)
}
