// Package emulators tells tests where `make test` started the AWS
// emulators. Plain `go test` without them skips those tests, except in CI,
// where a missing emulator is a failure.
package emulators

import (
	"os"
	"testing"
)

// DynamoDB returns DynamoDB Local's endpoint.
func DynamoDB(t testing.TB) string {
	return endpoint(t, "OPSOS_TEST_DYNAMODB_ENDPOINT", "DynamoDB Local")
}

// Cognito returns cognito-local's endpoint.
func Cognito(t testing.TB) string { return endpoint(t, "OPSOS_TEST_COGNITO_ENDPOINT", "cognito-local") }

// SES returns aws-ses-v2-local's endpoint.
func SES(t testing.TB) string { return endpoint(t, "OPSOS_TEST_SES_ENDPOINT", "aws-ses-v2-local") }

func endpoint(t testing.TB, variable, name string) string {
	t.Helper()
	ep := os.Getenv(variable)
	if ep == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: run the tests with `make test`, which starts %s", variable, name)
		}
		t.Skipf("%s is not running: `make test` starts it", name)
	}
	return ep
}
