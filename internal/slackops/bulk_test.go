package slackops_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// button finds the action button with id in a message.
func button(t *testing.T, m slack.WebhookMessage, id string) *slack.ButtonBlockElement {
	t.Helper()
	if m.Blocks != nil {
		for _, b := range m.Blocks.BlockSet {
			if a, ok := b.(*slack.ActionBlock); ok {
				for _, e := range a.Elements.ElementSet {
					if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == id {
						return btn
					}
				}
			}
		}
	}
	t.Fatalf("no %s button in %s", id, text(m))
	return nil
}

func TestBulkReleaseFromSlackConfirmsTheCount(t *testing.T) {
	f := newFixture(t)
	for i := range 3 {
		f.command(adminSlack, fmt.Sprintf("create first=S%d last=Staff email=s%d@example.com role=staff", i, i))
	}
	f.command(adminSlack, "create first=P last=Planner email=p@example.com role=planner")

	preview := f.command(adminSlack, "release role=staff")
	mustContain(t, "the preview", text(preview), "3 users", "Introduction Mode, role Staff", "s0@example.com", "Release 3 users")
	btn := button(t, preview, "release-many")
	if btn.Confirm == nil {
		t.Error("the bulk release button has no confirmation")
	}
	click := func(slackUser string) {
		t.Helper()
		resp := f.interact(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": slackUser}, "response_url": f.hooks.URL + "/actions/2",
			"actions": []map[string]any{{"type": "button", "action_id": "release-many", "block_id": "bulk-actions", "value": btn.Value}},
		})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("click: %d", resp.StatusCode)
		}
	}
	staffCount := func(status user.Status) int {
		p, err := f.store.ListUsers(t.Context(), onboarding.ListQuery{Status: status, Role: "staff", Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Users)
	}

	// Someone adds a fourth member of staff before the click.
	f.command(adminSlack, "create first=S3 last=Staff email=s3@example.com role=staff")
	click(adminSlack)
	mustContain(t, "the answer to a stale count", text(f.answer()), "4 users match now, not the 3 you confirmed", "nothing was released")
	if n := staffCount(user.StatusReleasing); n != 0 {
		t.Fatalf("%d released on a stale count", n)
	}

	preview = f.command(adminSlack, "release role=staff")
	btn = button(t, preview, "release-many")
	f.addUser("lead@example.com", "staff", "USTAFF0001", user.StatusActive)
	click("USTAFF0001")
	mustContain(t, "a staff member's click", text(f.answer()), "Sorry, you can't do that")
	click(adminSlack)
	done := f.answer()
	if !done.ReplaceOriginal {
		t.Error("the result should replace the preview")
	}
	mustContain(t, "the result", text(done), "Access released for 4 users")
	if n := staffCount(user.StatusReleasing); n != 4 {
		t.Errorf("%d staff releasing, want 4", n)
	}
	if p, _ := f.userByEmail("p@example.com"); p.Status != user.StatusIntroduction {
		t.Errorf("the planner was released too: %s", p.Status)
	}
	mustContain(t, "a release with nobody left", text(f.command(adminSlack, "release role=staff")), "Nobody on hold matches")
	mustContain(t, "a mixed release", text(f.command(adminSlack, "release p@example.com role=staff")), "not both")
}
