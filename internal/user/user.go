// Package user is the domain of OpsOS system users: who they are, which
// input is acceptable, and how their onboarding status may change. It is
// pure: no storage, no network, no clock of its own.
package user

import (
	"slices"
	"time"
)

// Type tells whether a user belongs to the organisation or comes from outside.
type Type string

// The user types.
const (
	Internal Type = "internal"
	External Type = "external"
)

// Status is the onboarding state the service keeps on every user.
type Status string

// The statuses of the lifecycle (DESIGN.md §2).
const (
	// StatusIntroduction: created, configurable, schedulable; no login, nobody told.
	StatusIntroduction Status = "introduction"
	// StatusReleasing: hold just turned off; the release worker is creating the login.
	StatusReleasing Status = "releasing"
	// StatusInvited: temporary password emailed, not yet used.
	StatusInvited Status = "invited"
	// StatusActive: the user has set their own password.
	StatusActive Status = "active"
	// StatusSuspended: hold turned back on after release; login disabled.
	StatusSuspended Status = "suspended"
	// StatusReleaseFailed: provisioning gave up; Reason says why.
	StatusReleaseFailed Status = "release_failed"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusIntroduction, StatusReleasing, StatusInvited, StatusActive, StatusSuspended, StatusReleaseFailed}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t == Internal || t == External }

// User is a system user of OpsOS.
type User struct {
	ID        string
	Type      Type
	FirstName string
	LastName  string
	// Email is stored lower-case; it is unique across users.
	Email    string
	Phone    string // E.164, or empty
	JobTitle string
	// SlackUserID links the user to the Slack account that may act as them
	// through the Slack front door: upper-case, such as U012AB3CD, or empty.
	SlackUserID string
	// Role is the id of the user's one role.
	Role                     string
	ExternalPlannerAccess    bool
	ExternalPurchasingAccess bool
	// HoldInvite is Introduction Mode: while true the user cannot log in.
	HoldInvite bool
	Status     Status
	// StatusReason explains a release_failed status in plain words.
	StatusReason string
	// Grants and Revokes adjust the role's permissions for this user only.
	Grants  []string
	Revokes []string
	// InviteGeneration counts the invitations asked for; a resend bumps it.
	InviteGeneration int
	// Version increases by one with every write; it is the ETag.
	Version     int64
	CreatedAt   time.Time
	CreatedBy   string
	UpdatedAt   time.Time
	UpdatedBy   string
	InvitedAt   time.Time
	ActivatedAt time.Time
}

// Name is the user's full name.
func (u User) Name() string {
	switch {
	case u.FirstName == "":
		return u.LastName
	case u.LastName == "":
		return u.FirstName
	}
	return u.FirstName + " " + u.LastName
}

// CanLogIn reports whether the user's status allows a login to be used.
func (u User) CanLogIn() bool {
	return !u.HoldInvite && (u.Status == StatusInvited || u.Status == StatusActive)
}

// Clone returns a copy of u that shares no slices with it.
func (u User) Clone() User {
	u.Grants = slices.Clone(u.Grants)
	u.Revokes = slices.Clone(u.Revokes)
	return u
}
