package onboarding

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/user"
)

// The rules of authority (DESIGN.md §9). A refusal names the one that
// refused it, in its message and in user.Error's Rule.
const (
	// RuleContainment: an actor reaches a user only when the user's
	// effective permissions, before and after the change, are a subset of
	// the actor's.
	RuleContainment = "containment"
	// RuleSelf: on their own account an actor changes only names, phone
	// and job title.
	RuleSelf = "self"
	// RuleNoLockout: the last active holder of settings.manage is not
	// held, demoted or stripped of it.
	RuleNoLockout = "no-lockout"
)

// selfFields are the fields an actor may change on their own account:
// their profile, which grants nothing.
var selfFields = []string{"firstName", "lastName", "phone", "jobTitle"}

// derivedFields follow from the fields a manager sets; a refusal names
// what was asked for, not these.
var derivedFields = []string{"status", "inviteGeneration"}

// checkAuthority decides whether actor may turn before into after (before
// is the zero User for a user not yet created). It compares whole
// effective permission sets, never the fields a request happened to send,
// so that no route (a PATCH, a form, a button, a bulk release) reaches
// further than another. action names the use case, for the refusal.
func (s *Service) checkAuthority(ctx context.Context, cat *access.Catalogue, actor Actor, before, after user.User, action string) error {
	creating := before.ID == ""
	if !creating && before.ID == actor.user.ID {
		if err := checkSelf(before, after, action); err != nil {
			return err
		}
	}
	have := cat.Effective(actor.user)
	if !creating {
		if extra := beyond(cat.Effective(before), have); len(extra) > 0 {
			return &user.Error{Code: user.CodeForbidden, Rule: RuleContainment, Message: fmt.Sprintf(
				"%s has permissions you do not hold (%s): only a manager who holds all of them can change, release, hold or resend for this user (rule: %s)",
				before.Name(), strings.Join(extra, ", "), RuleContainment)}
		}
	}
	if extra := beyond(cat.Effective(after), have); len(extra) > 0 {
		return &user.Error{Code: user.CodeForbidden, Rule: RuleContainment, Message: fmt.Sprintf(
			"you cannot give permissions you do not hold yourself (%s): choose a role and adjustments within your own permissions (rule: %s)",
			strings.Join(extra, ", "), RuleContainment)}
	}
	if !creating && settingsManager(cat, before) && !settingsManager(cat, after) {
		last, err := s.lastSettingsManager(ctx, cat, before.ID)
		if err != nil {
			return err
		}
		if last {
			return &user.Error{Code: user.CodeForbidden, Rule: RuleNoLockout, Message: fmt.Sprintf(
				"%s is the last active user who can change organisation settings (%s): give another active user that permission first, so that nobody is locked out (rule: %s)",
				before.Name(), access.SettingsManage, RuleNoLockout)}
		}
	}
	return nil
}

// checkSelf allows an actor's change of their own account only when it
// touches nothing but the profile: their own email, role, permissions,
// hold and Slack link need another manager.
func checkSelf(before, after user.User, action string) error {
	if action != "edit" {
		// Release, hold and resend are all about access: never one's own.
		return &user.Error{Code: user.CodeForbidden, Rule: RuleSelf, Message: fmt.Sprintf(
			"you cannot %s your own account: ask another manager (rule: %s)", action, RuleSelf)}
	}
	var asked []string
	for _, c := range user.Diff(before, after) {
		if !slices.Contains(selfFields, c.Field) && !slices.Contains(derivedFields, c.Field) {
			asked = append(asked, c.Field)
		}
	}
	if len(asked) == 0 {
		return nil
	}
	return &user.Error{Code: user.CodeForbidden, Rule: RuleSelf, Message: fmt.Sprintf(
		"on your own account you can change only your name, phone and job title: ask another manager to change your %s (rule: %s)",
		strings.Join(asked, ", "), RuleSelf)}
}

// beyond returns the permissions of want that have does not hold, sorted.
func beyond(want, have []string) []string {
	var out []string
	for _, p := range want {
		if !slices.Contains(have, p) {
			out = append(out, p)
		}
	}
	return out
}

// reaches reports whether actor may act on u: u's effective permissions
// are a subset of the actor's, and u is not the actor (whose own account
// takes another manager for anything but the profile).
func reaches(cat *access.Catalogue, actor Actor, u user.User) bool {
	return u.ID != actor.user.ID && len(beyond(cat.Effective(u), cat.Effective(actor.user))) == 0
}

// settingsManager reports whether u is an active holder of
// settings.manage: someone who can sign in and change the organisation.
func settingsManager(cat *access.Catalogue, u user.User) bool {
	return u.Status == user.StatusActive && !u.HoldInvite && cat.Has(u, access.SettingsManage)
}

// lastSettingsManager reports whether no active user but the one with id
// except holds settings.manage.
func (s *Service) lastSettingsManager(ctx context.Context, cat *access.Catalogue, except string) (bool, error) {
	q := ListQuery{Status: user.StatusActive, Limit: MaxLimit}
	for {
		p, err := s.store.ListUsers(ctx, q)
		if err != nil {
			return false, fmt.Errorf("find the active holders of %s: %w", access.SettingsManage, err)
		}
		for _, u := range p.Users {
			if u.ID != except && settingsManager(cat, u) {
				return false, nil
			}
		}
		if p.NextCursor == "" {
			return true, nil
		}
		q.Cursor = p.NextCursor
	}
}
