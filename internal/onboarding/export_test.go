package onboarding

import "github.com/opsos/onboarding/internal/user"

// StaleActor is an actor as Authorize made it from u some time ago, for
// tests of what the service must re-check at write time.
func StaleActor(u user.User) Actor { return Actor{user: u, source: SourceAPI} }
