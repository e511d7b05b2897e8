package item_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/user"
)

// The stored form of audit entries is what existing tables and bbolt
// files hold: a user's and a role's entry keep their attributes (and the
// embedded store's JSON) exactly, and read back as written.
func TestAuditItemsKeepTheirStoredForm(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 5, time.UTC)
	changes := []user.Change{{Field: "name", From: "Night", To: "Evening"}}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	common := map[string]types.AttributeValue{
		"SK": s("AUDIT#000000000007"), "version": &types.AttributeValueMemberN{Value: "7"},
		"at": s("2026-11-28T09:00:00.000000005Z"), "actorId": s("a1"), "actorEmail": s("admin@example.com"),
		"source": s("slack"), "action": s("edit"), "changes": s(`[{"field":"name","from":"Night","to":"Evening"}]`),
		"slackUserId": s("U123"),
	}
	with := func(extra map[string]types.AttributeValue) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	rec := onboarding.Audit{Version: 7, At: at, ActorID: "a1", ActorEmail: "admin@example.com",
		Source: onboarding.SourceSlack, Action: "edit", Changes: changes, SlackUserID: "U123"}
	userEntry := onboarding.AuditEntry{UserID: "u1", Audit: rec}
	roleEntry := onboarding.RoleAuditEntry{RoleID: "night", Audit: rec}
	ua, uerr := item.FromAudit(userEntry)
	ra, rerr := item.FromRoleAudit(roleEntry)
	if uerr != nil || rerr != nil {
		t.Fatal(uerr, rerr)
	}
	for _, tt := range []struct {
		name     string
		it       any
		wantAV   map[string]types.AttributeValue
		wantJSON string
	}{
		{"user", ua, with(map[string]types.AttributeValue{"PK": s("USER#u1"), "entity": s("audit"), "userId": s("u1")}),
			`{"PK":"USER#u1","SK":"AUDIT#000000000007","Entity":"audit","UserID":"u1","Version":7,"At":"2026-11-28T09:00:00.000000005Z","ActorID":"a1","ActorEmail":"admin@example.com","Source":"slack","Action":"edit","Changes":"[{\"field\":\"name\",\"from\":\"Night\",\"to\":\"Evening\"}]","SlackUserID":"U123"}`},
		{"role", ra, with(map[string]types.AttributeValue{"PK": s("ROLE#night"), "entity": s("roleAudit"), "roleId": s("night")}),
			`{"PK":"ROLE#night","SK":"AUDIT#000000000007","Entity":"roleAudit","RoleID":"night","Version":7,"At":"2026-11-28T09:00:00.000000005Z","ActorID":"a1","ActorEmail":"admin@example.com","Source":"slack","Action":"edit","Changes":"[{\"field\":\"name\",\"from\":\"Night\",\"to\":\"Evening\"}]","SlackUserID":"U123"}`},
	} {
		if av, err := attributevalue.MarshalMap(tt.it); err != nil || !reflect.DeepEqual(av, tt.wantAV) {
			t.Errorf("%s: attributes %#v %v\nwant %#v", tt.name, av, err, tt.wantAV)
		}
		if js, err := json.Marshal(tt.it); err != nil || string(js) != tt.wantJSON {
			t.Errorf("%s: JSON %s %v\nwant %s", tt.name, js, err, tt.wantJSON)
		}
	}
	// Without a Slack user, the attribute is left out.
	userEntry.SlackUserID = ""
	ua, err := item.FromAudit(userEntry)
	if err != nil {
		t.Fatal(err)
	}
	if av, _ := attributevalue.MarshalMap(ua); av["slackUserId"] != nil {
		t.Errorf("an entry without a Slack user stores slackUserId %v", av["slackUserId"])
	}
	gotUser, err := ua.Domain()
	if err != nil || !reflect.DeepEqual(gotUser, userEntry) {
		t.Errorf("user entry read back: %+v %v\nwant %+v", gotUser, err, userEntry)
	}
	gotRole, err := ra.Domain()
	if err != nil || !reflect.DeepEqual(gotRole, roleEntry) {
		t.Errorf("role entry read back: %+v %v\nwant %+v", gotRole, err, roleEntry)
	}
}
