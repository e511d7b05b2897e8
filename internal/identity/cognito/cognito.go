// Package cognito is the release worker's identity provider in AWS: an
// Amazon Cognito user pool whose usernames are email addresses and whose
// groups are OpsOS roles. It creates logins with admin APIs only, so that
// Cognito sends nothing; the invitation is OpsOS's own email.
//
// The pool's usernames are email aliases: Cognito names each login by a
// generated id (its sub) and finds it by email. Group calls use that
// generated name, read from AdminGetUser, because every engine accepts it;
// cognito-local 5.3.0 lists a login's groups only under it.
//
// The pool's post-authentication trigger comes in here too
// (PostAuthentication): the event is read into a call of the onboarding
// service, which decides.
package cognito

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/opsos/onboarding/internal/release"
	"github.com/opsos/onboarding/internal/user"
)

// Login attributes the adapter writes. AttrUserID is the one the
// post-authentication trigger and the API's JWT authorizer read.
const (
	AttrEmail         = user.LoginAttrEmail
	AttrEmailVerified = "email_verified"
	AttrGivenName     = user.LoginAttrGivenName
	AttrFamilyName    = user.LoginAttrFamilyName
	AttrUserID        = user.LoginAttrUserID
)

// Identity is release.Identity on a Cognito user pool. It is safe for
// concurrent use.
type Identity struct {
	client *cip.Client
	poolID string
	// groupMu serialises group creation within this process. Real Cognito
	// refuses a second CreateGroup (GroupExistsException), but
	// cognito-local replaces the group with an empty one, silently
	// dropping the members that a concurrent release had just added.
	groupMu sync.Mutex
}

var _ release.Identity = (*Identity)(nil)

// New returns the identity provider on the user pool userPoolID.
func New(client *cip.Client, userPoolID string) *Identity {
	return &Identity{client: client, poolID: userPoolID}
}

// Provision creates the login with temporaryPassword, or resets an
// existing one to it (FORCE_CHANGE_PASSWORD again, attributes brought up
// to date, enabled), then puts it in l.Group alone. Cognito sends no
// message: MessageAction is SUPPRESS.
func (id *Identity) Provision(ctx context.Context, l release.Login, temporaryPassword string) error {
	out, err := id.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:        &id.poolID,
		Username:          aws.String(l.Email),
		MessageAction:     types.MessageActionTypeSuppress,
		TemporaryPassword: aws.String(temporaryPassword),
		UserAttributes:    attributes(wanted(l)),
	})
	var exists *types.UsernameExistsException
	switch {
	case err == nil:
		if out.User == nil || out.User.Username == nil {
			return errors.New("cognito provision: create user: the answer names no user")
		}
		if err := id.setGroup(ctx, *out.User.Username, l.Group); err != nil {
			return fmt.Errorf("cognito provision: %w", err)
		}
		return nil
	case errors.As(err, &exists):
		return id.reset(ctx, l, temporaryPassword)
	default:
		return classify("cognito provision: create user", err)
	}
}

// reset makes an existing login as Provision would have created it: the
// retry of a release, a resend, or the re-release of a suspended user who
// never signed in. The password goes first, so that a login that was
// disabled is enabled only once the old password no longer works.
func (id *Identity) reset(ctx context.Context, l release.Login, temporaryPassword string) error {
	u, err := id.getUser(ctx, l.Email)
	if errors.Is(err, release.ErrNoLogin) {
		// Deleted between AdminCreateUser and now; the retry creates it.
		return fmt.Errorf("cognito provision: the login disappeared while being reset: %w", err)
	}
	if err != nil {
		return fmt.Errorf("cognito provision: %w", err)
	}
	name := aws.ToString(u.Username)
	// Permanent false is what makes this a temporary password: the login
	// is FORCE_CHANGE_PASSWORD again and any earlier password stops working.
	if _, err := id.client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: &id.poolID,
		Username:   &name,
		Password:   aws.String(temporaryPassword),
		Permanent:  false,
	}); err != nil {
		return classify("cognito provision: reset password", err)
	}
	// Only changed attributes are written: an unchanged custom attribute
	// need not be mutable in the pool, and an unchanged email is left
	// alone rather than re-verified.
	if changed := changedAttributes(u.UserAttributes, wanted(l)); len(changed) > 0 {
		if _, err := id.client.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{
			UserPoolId:     &id.poolID,
			Username:       &name,
			UserAttributes: changed,
		}); err != nil {
			return classify("cognito provision: update attributes", err)
		}
	}
	if err := id.setGroup(ctx, name, l.Group); err != nil {
		return fmt.Errorf("cognito provision: %w", err)
	}
	if !u.Enabled {
		if _, err := id.client.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: &id.poolID, Username: &name}); err != nil {
			return classify("cognito provision: enable user", err)
		}
	}
	return nil
}

// SetGroup puts the login in group and takes it out of every other group:
// each group of the pool is a role, and a user has exactly one.
func (id *Identity) SetGroup(ctx context.Context, email, group string) error {
	u, err := id.getUser(ctx, email)
	if err != nil {
		return fmt.Errorf("cognito set group: %w", err)
	}
	if err := id.setGroup(ctx, aws.ToString(u.Username), group); err != nil {
		return fmt.Errorf("cognito set group: %w", err)
	}
	return nil
}

// setGroup adds before it removes, so that the login is never left in no
// group by a failure half-way; a retry finishes the removals.
func (id *Identity) setGroup(ctx context.Context, username, group string) error {
	if err := id.addToGroup(ctx, username, group); err != nil {
		return err
	}
	pages := cip.NewAdminListGroupsForUserPaginator(id.client, &cip.AdminListGroupsForUserInput{
		UserPoolId: &id.poolID,
		Username:   &username,
	})
	var others []string
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return classify("list groups", err)
		}
		for _, g := range page.Groups {
			if name := aws.ToString(g.GroupName); name != group {
				others = append(others, name)
			}
		}
	}
	for _, g := range others {
		_, err := id.client.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{
			UserPoolId: &id.poolID,
			Username:   &username,
			GroupName:  aws.String(g),
		})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) { // a group deleted meanwhile holds nobody
			return classify("remove from group "+g, err)
		}
	}
	return nil
}

// addToGroup creates the group on first use: roles are defined in OpsOS,
// and a new role's group appears in the pool with its first member.
func (id *Identity) addToGroup(ctx context.Context, username, group string) error {
	add := func() error {
		_, err := id.client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
			UserPoolId: &id.poolID,
			Username:   &username,
			GroupName:  &group,
		})
		return err
	}
	err := add()
	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		return classifyOrNil("add to group "+group, err)
	}
	if err := id.ensureGroup(ctx, group); err != nil {
		return err
	}
	return classifyOrNil("add to group "+group, add())
}

func (id *Identity) ensureGroup(ctx context.Context, group string) error {
	id.groupMu.Lock()
	defer id.groupMu.Unlock()
	_, err := id.client.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: &id.poolID, GroupName: &group})
	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		return classifyOrNil("get group "+group, err)
	}
	_, err = id.client.CreateGroup(ctx, &cip.CreateGroupInput{
		UserPoolId:  &id.poolID,
		GroupName:   &group,
		Description: aws.String("OpsOS role " + group),
	})
	var exists *types.GroupExistsException
	if errors.As(err, &exists) { // another worker created it first
		return nil
	}
	return classifyOrNil("create group "+group, err)
}

// Suspend disables the login, then signs it out everywhere, so that
// refresh tokens stop working; access tokens already issued run out on
// their own (one hour at most). Disabling comes first: a failure between
// the two leaves a login that cannot start a new session, and the retry
// repeats both.
func (id *Identity) Suspend(ctx context.Context, email string) error {
	if _, err := id.client.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &id.poolID, Username: aws.String(email)}); err != nil {
		return classify("cognito suspend: disable user", err)
	}
	if _, err := id.client.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: &id.poolID, Username: aws.String(email)}); err != nil {
		return classify("cognito suspend: sign out", err)
	}
	return nil
}

// Enable enables the login; its password and group are as they were.
func (id *Identity) Enable(ctx context.Context, email string) error {
	if _, err := id.client.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: &id.poolID, Username: aws.String(email)}); err != nil {
		return classify("cognito enable", err)
	}
	return nil
}

// State reports the login as Cognito has it; no login is Status LoginNone
// and no error.
func (id *Identity) State(ctx context.Context, email string) (release.LoginState, error) {
	u, err := id.getUser(ctx, email)
	if errors.Is(err, release.ErrNoLogin) {
		return release.LoginState{Status: release.LoginNone}, nil
	}
	if err != nil {
		return release.LoginState{}, fmt.Errorf("cognito state: %w", err)
	}
	return release.LoginState{
		Status:  release.LoginStatus(u.UserStatus),
		Enabled: u.Enabled,
		Created: aws.ToTime(u.UserCreateDate),
	}, nil
}

func (id *Identity) getUser(ctx context.Context, email string) (*cip.AdminGetUserOutput, error) {
	u, err := id.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &id.poolID, Username: aws.String(email)})
	if err != nil {
		return nil, classify("get user", err)
	}
	return u, nil
}

// wanted is the attributes a login for l carries, in a fixed order. The
// email is verified because OpsOS emails the temporary password to it:
// receiving it is the proof, and Cognito sends password resets only to
// verified addresses.
func wanted(l release.Login) [][2]string {
	attrs := [][2]string{{AttrEmail, l.Email}, {AttrEmailVerified, "true"}}
	// Cognito refuses empty values; the domain requires names, so an
	// empty one means "not known", not "clear it".
	for _, a := range [][2]string{{AttrGivenName, l.FirstName}, {AttrFamilyName, l.LastName}, {AttrUserID, l.UserID}} {
		if a[1] != "" {
			attrs = append(attrs, a)
		}
	}
	return attrs
}

func attributes(kv [][2]string) []types.AttributeType {
	out := make([]types.AttributeType, 0, len(kv))
	for _, a := range kv {
		out = append(out, types.AttributeType{Name: aws.String(a[0]), Value: aws.String(a[1])})
	}
	return out
}

// changedAttributes returns the wanted attributes whose values differ from
// have. Email and email_verified travel together, as Cognito (and
// cognito-local) want them when either changes.
func changedAttributes(have []types.AttributeType, want [][2]string) []types.AttributeType {
	cur := make(map[string]string, len(have))
	for _, a := range have {
		cur[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	var out [][2]string
	emailChanged := false
	for _, a := range want {
		if cur[a[0]] == a[1] {
			continue
		}
		if a[0] == AttrEmail || a[0] == AttrEmailVerified {
			emailChanged = true
			continue
		}
		out = append(out, a)
	}
	if emailChanged {
		out = append(out, want[0], want[1])
	}
	return attributes(out)
}
