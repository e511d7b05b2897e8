package cognito

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/opsos/onboarding/internal/password"
)

// TemporaryPasswordValidityDays is how long a temporary password works in
// the pools CreateLocalPool makes, as in Cognito's default and the CDK
// stack's pool.
const TemporaryPasswordValidityDays = 7

// NewLocalClient returns a client of cognito-local at endpoint. The
// emulator checks no credentials, but the SDK signs every request, so it
// gets static ones. optFns adjust the client, e.g. with test middleware.
func NewLocalClient(endpoint string, optFns ...func(*cip.Options)) *cip.Client {
	return cip.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("opsoslocal", "local", ""),
		BaseEndpoint: aws.String(endpoint),
	}, optFns...)
}

// CreateLocalPool creates a user pool named name shaped like the OpsOS
// pool of the CDK stack — email addresses as usernames (case-insensitive),
// sign-up by administrators only, the custom attribute opsos_user_id, the
// password policy of password.Default() and temporary passwords valid
// TemporaryPasswordValidityDays days — and an app client without secret
// that allows USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH and refresh.
// It is for tests and local use on cognito-local.
func CreateLocalPool(ctx context.Context, client *cip.Client, name string) (poolID, clientID string, err error) {
	p := password.Default()
	pool, err := client.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName:               aws.String(name),
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		UsernameConfiguration:  &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
		AdminCreateUserConfig:  &types.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true},
		AccountRecoverySetting: &types.AccountRecoverySettingType{RecoveryMechanisms: []types.RecoveryOptionType{{Name: types.RecoveryOptionNameTypeVerifiedEmail, Priority: aws.Int32(1)}}},
		Policies: &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{
			MinimumLength:                 aws.Int32(int32(p.MinLength)),
			RequireUppercase:              p.RequireUpper,
			RequireLowercase:              p.RequireLower,
			RequireNumbers:                p.RequireDigit,
			RequireSymbols:                p.RequireSymbol,
			TemporaryPasswordValidityDays: TemporaryPasswordValidityDays,
		}},
		Schema: []types.SchemaAttributeType{{
			// Mutable, so that a login re-provisioned for another OpsOS
			// user (an address reused) can be pointed at it.
			Name:                       aws.String("opsos_user_id"),
			AttributeDataType:          types.AttributeDataTypeString,
			Mutable:                    aws.Bool(true),
			StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("1"), MaxLength: aws.String("256")},
		}},
	})
	if err != nil {
		return "", "", fmt.Errorf("create user pool %s: %w", name, err)
	}
	if pool.UserPool == nil || pool.UserPool.Id == nil {
		return "", "", errors.New("create user pool: the answer names no pool")
	}
	poolID = *pool.UserPool.Id
	// cognito-local 5.3.0 keeps a pool's groups under a key that only its
	// first CreateGroup makes; until then every lookup of a group fails
	// with HTTP 500 instead of ResourceNotFoundException, so the adapter
	// could never learn that it must create the group. Creating and
	// deleting one group leaves the key, empty. On Cognito it is a no-op.
	const seed = "opsos-local-seed"
	if _, err := client.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &poolID, GroupName: aws.String(seed)}); err != nil {
		return "", "", fmt.Errorf("prepare groups of pool %s: %w", poolID, err)
	}
	if _, err := client.DeleteGroup(ctx, &cip.DeleteGroupInput{UserPoolId: &poolID, GroupName: aws.String(seed)}); err != nil {
		return "", "", fmt.Errorf("prepare groups of pool %s: %w", poolID, err)
	}
	app, err := client.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId:     aws.String(poolID),
		ClientName:     aws.String(name),
		GenerateSecret: false,
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{
			types.ExplicitAuthFlowsTypeAllowUserPasswordAuth,
			types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth,
			types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth,
		},
	})
	if err != nil {
		return "", "", fmt.Errorf("create app client of pool %s: %w", poolID, err)
	}
	if app.UserPoolClient == nil || app.UserPoolClient.ClientId == nil {
		return "", "", errors.New("create app client: the answer names no client")
	}
	return poolID, *app.UserPoolClient.ClientId, nil
}
