package item

import "strings"

// ClaimKey returns the work key of a claim's partition key, and whether
// pk is a claim's.
func ClaimKey(pk string) (string, bool) { return strings.CutPrefix(pk, claimPrefix) }
