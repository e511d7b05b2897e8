package user

// The attributes of a login that say whose it is: the identity providers
// keep them on the login, and Cognito's ID tokens and trigger events
// carry them as claims of the same names.
const (
	LoginAttrUserID     = "custom:opsos_user_id"
	LoginAttrEmail      = "email"
	LoginAttrGivenName  = "given_name"
	LoginAttrFamilyName = "family_name"
)
