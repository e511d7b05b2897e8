package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzHandleUserBody sends any bytes as the body of a create, a dry-run
// create and a PATCH through the whole API handler on an embedded store.
// What a client and the data rely on: the answer is never a 500, always
// JSON, and a 4xx writes nothing; a body sent base64-encoded (as API
// Gateway does for binary bodies) is answered as the same body sent
// plain; a 201 or 200 returns the user as stored.
func FuzzHandleUserBody(f *testing.F) {
	fx := newFixture(f)
	for _, name := range []string{"create-user.json", "patch-user.json"} {
		f.Add([]byte(sample(f, name).Body))
	}
	for _, s := range []string{
		`{"firstName":"Ann","lastName":"Lee","email":"ann.lee@example.com","role":"staff"}`,
		`{"firstName":"Ann","lastName":"Lee","email":"ANN.LEE@example.com","role":"staff","holdInvite":false}`,
		`{"firstName":"Al","lastName":"Ng","email":"admin@localhost","role":"staff"}`,
		`{"firstName":"Al","lastName":"Ng","email":"al@example.com","role":"administrator","permissions":{"grant":["settings.manage"]}}`,
		`{"slackUserId":"UADMIN0001"}`,
		`{"holdInvite":false}`, `{"email":"other@example.com"}`, `{"role":"planner worker"}`,
		`{}`, `null`, ``, `{"id":"x"}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	base := fx.create(`{"firstName":"Base","lastName":"User","email":"base.user@example.com","role":"staff"}`)
	if base.status != http.StatusCreated {
		f.Fatalf("base user: %d %s", base.status, base.raw)
	}
	baseID := base.body["id"].(string)
	create := fx.request(http.MethodPost, "/users", "")
	dry := fx.request(http.MethodPost, "/users?dryRun=true", "")
	patch := fx.request(http.MethodPatch, "/users/"+baseID, "")
	get := fx.request(http.MethodGet, "/users/"+baseID, "")
	_, last, err := fx.store.ReadFeed(ctx, 0, 1<<20)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		send := func(ev events.APIGatewayV2HTTPRequest, b64 bool) events.APIGatewayV2HTTPResponse {
			t.Helper()
			ev.Body, ev.IsBase64Encoded = string(body), b64
			if b64 {
				ev.Body = base64.StdEncoding.EncodeToString(body)
			}
			resp, err := fx.h.Handle(ctx, ev)
			if err != nil {
				t.Fatalf("%s %s %q: handler error %v", ev.RequestContext.HTTP.Method, ev.RawPath, body, err)
			}
			if err := mustContract(t).check(ev, resp); err != nil {
				t.Fatalf("%s %s %q: breaks the OpenAPI document: %v\nanswer: %d %s", ev.RequestContext.HTTP.Method, ev.RawPath, body, err, resp.StatusCode, resp.Body)
			}
			what := ev.RequestContext.HTTP.Method + " " + ev.RawPath + "?" + ev.RawQueryString
			if resp.StatusCode >= 500 || resp.StatusCode < 200 {
				t.Fatalf("%s %q: status %d: %s", what, body, resp.StatusCode, resp.Body)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
				t.Fatalf("%s %q: body is not a JSON object: %q", what, body, resp.Body)
			}
			// Whatever was written must be the whole of a 2xx's doing.
			rec, seq, err := fx.store.ReadFeed(ctx, last, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			last = seq
			if resp.StatusCode >= 400 {
				if len(rec.Records) > 0 {
					t.Fatalf("%s %q: status %d, yet %d records written: %s", what, body, resp.StatusCode, len(rec.Records), resp.Body)
				}
				if !strings.HasPrefix(resp.Headers["Content-Type"], "application/problem+json") || m["status"] != float64(resp.StatusCode) {
					t.Fatalf("%s %q: status %d is not a problem document: %s", what, body, resp.StatusCode, resp.Body)
				}
				return resp
			}
			if email, _ := m["email"].(string); email == "" || email != strings.ToLower(strings.TrimSpace(email)) {
				t.Fatalf("%s %q: status %d returns email %q", what, body, resp.StatusCode, m["email"])
			}
			if id, _ := m["id"].(string); id != "" && ev.RawQueryString == "" {
				ev := get
				ev.RawPath = "/users/" + id
				ev.RequestContext.HTTP.Path = ev.RawPath
				got, err := fx.h.Handle(ctx, ev)
				if err != nil || got.StatusCode != http.StatusOK || got.Body != resp.Body {
					t.Fatalf("%s %q: returned %s\nbut stored %d %s", what, body, resp.Body, got.StatusCode, got.Body)
				}
			}
			return resp
		}

		plain := send(dry, false)
		encoded := send(dry, true)
		if plain.StatusCode != encoded.StatusCode || plain.Body != encoded.Body {
			t.Fatalf("dry run %q: plain %d %s\nbase64 %d %s", body, plain.StatusCode, plain.Body, encoded.StatusCode, encoded.Body)
		}
		// The dry run is the import's first pass: it must say what the
		// create then does.
		created := send(create, false)
		if want := map[int]int{http.StatusOK: http.StatusCreated}[plain.StatusCode]; created.StatusCode != want && created.StatusCode != plain.StatusCode {
			t.Fatalf("%q: the dry run said %d %s\nthe create %d %s", body, plain.StatusCode, plain.Body, created.StatusCode, created.Body)
		}
		send(patch, false)
	})
}
