package httpapi

import (
	"time"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// userView is the JSON of a user (DESIGN.md §4).
type userView struct {
	ID                       string          `json:"id"`
	Type                     user.Type       `json:"type"`
	FirstName                string          `json:"firstName"`
	LastName                 string          `json:"lastName"`
	Email                    string          `json:"email"`
	Phone                    string          `json:"phone"`
	JobTitle                 string          `json:"jobTitle"`
	SlackUserID              string          `json:"slackUserId,omitempty"`
	Role                     string          `json:"role"`
	ExternalPlannerAccess    bool            `json:"externalPlannerAccess"`
	ExternalPurchasingAccess bool            `json:"externalPurchasingAccess"`
	HoldInvite               bool            `json:"holdInvite"`
	Status                   user.Status     `json:"status"`
	StatusReason             string          `json:"statusReason,omitempty"`
	Permissions              permissionsView `json:"permissions"`
	Version                  int64           `json:"version"`
	CreatedAt                time.Time       `json:"createdAt"`
	CreatedBy                string          `json:"createdBy"`
	UpdatedAt                time.Time       `json:"updatedAt"`
	UpdatedBy                string          `json:"updatedBy"`
	InvitedAt                *time.Time      `json:"invitedAt"`
	ActivatedAt              *time.Time      `json:"activatedAt"`
}

type permissionsView struct {
	Grant     []string `json:"grant"`
	Revoke    []string `json:"revoke"`
	Effective []string `json:"effective"`
}

func viewUser(u user.User, roles *access.Catalogue) userView {
	return userView{
		ID: u.ID, Type: u.Type, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email,
		Phone: u.Phone, JobTitle: u.JobTitle, SlackUserID: u.SlackUserID, Role: u.Role,
		ExternalPlannerAccess: u.ExternalPlannerAccess, ExternalPurchasingAccess: u.ExternalPurchasingAccess,
		HoldInvite: u.HoldInvite, Status: u.Status, StatusReason: u.StatusReason,
		Permissions: permissionsView{
			Grant: nonNil(u.Grants), Revoke: nonNil(u.Revokes), Effective: nonNil(roles.Effective(u)),
		},
		Version: u.Version, CreatedAt: u.CreatedAt, CreatedBy: u.CreatedBy, UpdatedAt: u.UpdatedAt, UpdatedBy: u.UpdatedBy,
		InvitedAt: optTime(u.InvitedAt), ActivatedAt: optTime(u.ActivatedAt),
	}
}

type listView struct {
	Items      []userView `json:"items"`
	NextCursor *string    `json:"nextCursor"`
}

func viewPage(p onboarding.Page, roles *access.Catalogue) listView {
	v := listView{Items: make([]userView, 0, len(p.Users))}
	for _, u := range p.Users {
		v.Items = append(v.Items, viewUser(u, roles))
	}
	if p.NextCursor != "" {
		v.NextCursor = &p.NextCursor
	}
	return v
}

type historyView struct {
	Items      []onboarding.AuditEntry `json:"items"`
	NextCursor *string                 `json:"nextCursor"`
}

func viewHistory(p onboarding.HistoryPage) historyView {
	v := historyView{Items: p.Entries}
	if v.Items == nil {
		v.Items = []onboarding.AuditEntry{}
	}
	for i := range v.Items {
		if v.Items[i].Changes == nil {
			v.Items[i].Changes = []user.Change{}
		}
	}
	if p.NextCursor != "" {
		v.NextCursor = &p.NextCursor
	}
	return v
}

type statusView struct {
	ID                string      `json:"id"`
	Email             string      `json:"email"`
	Status            user.Status `json:"status"`
	HoldInvite        bool        `json:"holdInvite"`
	CanLogIn          bool        `json:"canLogIn"`
	Summary           string      `json:"summary"`
	NextStep          string      `json:"nextStep"`
	InvitedAt         *time.Time  `json:"invitedAt"`
	PasswordExpiresAt *time.Time  `json:"temporaryPasswordExpiresAt"`
	ActivatedAt       *time.Time  `json:"activatedAt"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type bulkPreviewView struct {
	Count int        `json:"count"`
	Users []userView `json:"users"`
	// Beyond counts matching users on hold the caller may not release
	// (their permissions exceed the caller's, or it is the caller): they
	// are not in count and a release leaves them on hold.
	Beyond int `json:"beyondYourPermissions"`
}

func viewBulkPreview(p onboarding.BulkPreview, roles *access.Catalogue) bulkPreviewView {
	v := bulkPreviewView{Count: p.Count, Users: []userView{}, Beyond: p.Beyond}
	for _, u := range p.Users {
		v.Users = append(v.Users, viewUser(u, roles))
	}
	return v
}

type bulkResultView struct {
	Released int               `json:"released"`
	Users    []userView        `json:"users"`
	Failed   []bulkFailureView `json:"failed"`
}

type bulkFailureView struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Reason string `json:"reason"`
}

func viewBulkResult(r onboarding.BulkResult, roles *access.Catalogue) bulkResultView {
	v := bulkResultView{Released: len(r.Released), Users: []userView{}, Failed: []bulkFailureView{}}
	for _, u := range r.Released {
		v.Users = append(v.Users, viewUser(u, roles))
	}
	for _, f := range r.Failed {
		v.Failed = append(v.Failed, bulkFailureView{ID: f.User.ID, Email: f.User.Email, Reason: user.ErrorMessage(f.Err)})
	}
	return v
}
