package jsoncheck_test

import (
	"slices"
	"testing"

	"github.com/opsos/onboarding/internal/jsoncheck"
)

func TestInvalidText(t *testing.T) {
	tests := []struct {
		json string
		path []string
		bad  bool
	}{
		{`{"a":"Zoë","b":["\ud83d\ude00"]}`, nil, false},
		{`{"a":"\ufffd"}`, nil, false}, // U+FFFD sent as such is a character
		{"{\"a\":\"x\xffy\"}", []string{"a"}, true},
		{`{"a":"\ud800"}`, []string{"a"}, true},
		{`{"a":"\udc00\ud800"}`, []string{"a"}, true},
		{`{"p":{"grant":["ok","\ud83d"]}}`, []string{"p", "grant", "1"}, true},
		{`{"a":"x","a":"\ud800"}`, []string{"a"}, true},
		{`{"a":"x"`, nil, false}, // not JSON: the caller's decoder says so
		{`{"a":1,}`, nil, false},
	}
	for _, tt := range tests {
		path, bad := jsoncheck.InvalidText([]byte(tt.json))
		if bad != tt.bad || !slices.Equal(path, tt.path) {
			t.Errorf("InvalidText(%q) = %q, %v; want %q, %v", tt.json, path, bad, tt.path, tt.bad)
		}
	}
}
