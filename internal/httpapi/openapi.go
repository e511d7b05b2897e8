package httpapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
)

// OpenAPIPath serves the API's OpenAPI document, without a token: it is
// the public contract (DESIGN.md §12).
const OpenAPIPath = "/openapi.json"

// openAPIDoc is the OpenAPI 3.1 document of every route of the handler.
// The handler tests hold each request they make and each answer they get
// to it, and make lint runs Redocly CLI on it.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns a copy of the OpenAPI document the handler serves.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

// openAPI answers GET /openapi.json. application/openapi+json is the
// media type the OpenAPI Initiative names for the document; as a +json
// type, JSON tools and browsers read it as JSON.
func (h *Handler) openAPI(context.Context, *request) (response, error) {
	return response{status: http.StatusOK, body: json.RawMessage(openAPIDoc), headers: map[string]string{
		"Content-Type": "application/openapi+json", "Cache-Control": "public, max-age=300"}}, nil
}
