package item_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/store/item"
	"github.com/opsos/onboarding/internal/stream"
	"github.com/opsos/onboarding/internal/user"
)

// record is a stream record of old and new (either nil) with sequence
// number seq, as DynamoDB and the embedded feed write it.
func record(t *testing.T, name, seq string, old, cur any) events.DynamoDBEventRecord {
	t.Helper()
	r := events.DynamoDBEventRecord{EventID: "event-" + seq, EventName: name, EventSource: "aws:dynamodb"}
	r.Change.SequenceNumber, r.Change.StreamViewType = seq, "NEW_AND_OLD_IMAGES"
	for _, side := range []struct {
		v   any
		dst *map[string]events.DynamoDBAttributeValue
	}{{old, &r.Change.OldImage}, {cur, &r.Change.NewImage}} {
		if side.v == nil {
			continue
		}
		img, err := item.Image(side.v)
		if err != nil {
			t.Fatal(err)
		}
		*side.dst, r.Change.Keys = img, item.Keys(img)
	}
	return r
}

func TestDecodeChangeOfUser(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	held := user.User{ID: "0193a1b2", Type: user.Internal, FirstName: "Priya", LastName: "Shah", Email: "priya@example.com",
		Role: "supervisor", HoldInvite: true, Status: user.StatusIntroduction, Version: 1,
		CreatedAt: at, CreatedBy: "admin@localhost", UpdatedAt: at, UpdatedBy: "admin@localhost"}
	released := held
	released.HoldInvite, released.Status, released.InviteGeneration, released.Version = false, user.StatusReleasing, 1, 2
	released.UpdatedAt = at.Add(time.Minute)

	tests := []struct {
		name     string
		rec      events.DynamoDBEventRecord
		old, cur *user.User
	}{
		{"insert", record(t, "INSERT", "100", nil, item.FromUser(held)), nil, &held},
		{"modify", record(t, "MODIFY", "200", item.FromUser(held), item.FromUser(released)), &held, &released},
		{"remove", record(t, "REMOVE", "300", item.FromUser(released), nil), &released, nil},
	}
	for _, tt := range tests {
		c, ok, err := item.DecodeChange(tt.rec)
		if err != nil || !ok {
			t.Fatalf("%s: ok %v, error %v; want the user's change", tt.name, ok, err)
		}
		if c.Sequence != tt.rec.Change.SequenceNumber || c.Unreadable != nil {
			t.Errorf("%s: sequence %q, unreadable %v; want %q, readable", tt.name, c.Sequence, c.Unreadable, tt.rec.Change.SequenceNumber)
		}
		if !reflect.DeepEqual(c.Old, tt.old) || !reflect.DeepEqual(c.New, tt.cur) {
			t.Errorf("%s: old %+v new %+v\nwant old %+v new %+v", tt.name, c.Old, c.New, tt.old, tt.cur)
		}
	}
}

// The table holds more than users, and the stream carries all of it; the
// decoder passes over everything else, whichever way it changes.
func TestDecodeChangeSkipsOtherItems(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	u := user.User{ID: "0193a1b2", Email: "priya@example.com", Version: 3, CreatedAt: at, UpdatedAt: at}
	audit, err := item.FromAudit(onboarding.AuditEntry{UserID: u.ID, Audit: onboarding.Audit{Version: 3, At: at, ActorID: "a", ActorEmail: "admin@localhost",
		Source: onboarding.SourceAPI, Action: "edit"}})
	if err != nil {
		t.Fatal(err)
	}
	idem, err := item.FromIdempotency(onboarding.Idempotency{Key: "k", Fingerprint: "fp", User: u, CreatedAt: at, ExpiresAt: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// The cursor key is package dynamo's; the stream shows it like this.
	cursorKey := map[string]any{"PK": "CURSORKEY", "SK": "CURSORKEY", "entity": "cursorKey", "secret": []byte("0123456789abcdef0123456789abcdef")}
	claim := item.NewClaim("invite:0193a1b2:v2", at, time.Minute)
	done := claim
	done.State = item.ClaimCompleted
	role := access.Role{ID: "night-supervisor", Name: "Night Supervisor", Permissions: []string{access.PlannerView}, Version: 1, CreatedAt: at, UpdatedAt: at}
	roleAudit, err := item.FromRoleAudit(onboarding.RoleAuditEntry{RoleID: role.ID, Audit: onboarding.Audit{Version: 1, At: at, ActorID: "a", ActorEmail: "admin@localhost",
		Source: onboarding.SourceAPI, Action: "create", Changes: access.Diff(access.Role{}, role)}})
	if err != nil {
		t.Fatal(err)
	}
	others := map[string]any{
		"audit entry": audit, "email guard": item.FromEmail(u.Email, u.ID), "idempotency record": idem,
		"claim": claim, "cursor key": cursorKey, "Slack replay record": item.NewReplay("0123abcd", at.Add(5*time.Minute)),
		"role": item.FromRole(role), "role audit entry": roleAudit, "role name guard": item.FromRoleName(role.Name, role.ID),
		"roles version": item.FromRolesVersion(1),
	}
	for name, v := range others {
		for _, rec := range []events.DynamoDBEventRecord{
			record(t, "INSERT", "1", nil, v), record(t, "REMOVE", "2", v, nil),
		} {
			if c, ok, err := item.DecodeChange(rec); ok || err != nil || !reflect.DeepEqual(c, stream.Change{}) {
				t.Errorf("%s %s: %+v, ok %v, error %v; want passed over", rec.EventName, name, c, ok, err)
			}
		}
	}
	if c, ok, err := item.DecodeChange(record(t, "MODIFY", "3", claim, done)); ok || err != nil {
		t.Errorf("claim completed: %+v, ok %v, error %v; want passed over", c, ok, err)
	}
	renamed := role
	renamed.Name, renamed.Version = "Evening Supervisor", 2
	if c, ok, err := item.DecodeChange(record(t, "MODIFY", "4", item.FromRole(role), item.FromRole(renamed))); ok || err != nil {
		t.Errorf("role renamed: %+v, ok %v, error %v; want passed over", c, ok, err)
	}
	if c, ok, err := item.DecodeChange(record(t, "MODIFY", "5", item.FromRolesVersion(1), item.FromRolesVersion(2))); ok || err != nil {
		t.Errorf("roles version moved: %+v, ok %v, error %v; want passed over", c, ok, err)
	}
}

// A user record that cannot be read is reported, not passed over: passed
// over, the change it carries (a release, say) would be lost.
func TestDecodeChangeReportsUnreadableUser(t *testing.T) {
	good, err := item.Image(item.FromUser(user.User{ID: "0193a1b2", Version: 1}))
	if err != nil {
		t.Fatal(err)
	}
	bad := func(attr string, v events.DynamoDBAttributeValue) map[string]events.DynamoDBAttributeValue {
		img := map[string]events.DynamoDBAttributeValue{}
		for k, v := range good {
			img[k] = v
		}
		img[attr] = v
		return img
	}
	tests := []struct {
		name     string
		old, cur map[string]events.DynamoDBAttributeValue
		which    string
	}{
		{"version not a number", nil, bad("version", events.NewStringAttribute("one")), "new image"},
		{"time not a time", bad("updatedAt", events.NewStringAttribute("yesterday")), good, "old image"},
		{"hold not a boolean", good, bad("hold", events.NewStringAttribute("yes")), "new image"},
	}
	for _, tt := range tests {
		rec := events.DynamoDBEventRecord{EventID: "e-7", EventName: "MODIFY"}
		rec.Change.OldImage, rec.Change.NewImage, rec.Change.SequenceNumber = tt.old, tt.cur, "4200"
		rec.Change.Keys = item.Keys(good)
		c, ok, err := item.DecodeChange(rec)
		var ue *stream.UnreadableError
		if !errors.As(err, &ue) {
			t.Fatalf("%s: ok %v, error %v; want a *stream.UnreadableError", tt.name, ok, err)
		}
		if ue.Sequence != "4200" || ue.EventID != "e-7" || ue.UserID != "0193a1b2" || c.Sequence != "4200" || !ok {
			t.Errorf("%s: error %+v, change %+v, ok %v; want both tied to sequence 4200, event e-7 and user 0193a1b2", tt.name, ue, c, ok)
		}
		if !strings.HasPrefix(ue.Err.Error(), tt.which+": ") || !strings.Contains(err.Error(), "4200") {
			t.Errorf("%s: error %q, want it to name the record and say %s", tt.name, err, tt.which)
		}
		if c.Old != nil || c.New != nil {
			t.Errorf("%s: an unreadable record gives a user: %+v", tt.name, c)
		}
	}
}
