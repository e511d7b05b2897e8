package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/opsos/onboarding/internal/access"
	"github.com/opsos/onboarding/internal/onboarding"
	"github.com/opsos/onboarding/internal/user"
)

// rolesView is GET /roles: the roles in force and the permissions there
// are to build roles of.
type rolesView struct {
	Roles       []roleView          `json:"roles"`
	Permissions []access.Permission `json:"permissions"`
}

// roleView is the JSON of a role: the role, and what is allowed but
// likely a mistake in it.
type roleView struct {
	access.Role
	Warnings []string `json:"warnings,omitempty"`
}

func viewRole(r access.Role) roleView {
	return roleView{Role: r, Warnings: onboarding.RoleWarnings(r)}
}

type roleHistoryView struct {
	Items      []onboarding.RoleAuditEntry `json:"items"`
	NextCursor *string                     `json:"nextCursor"`
}

// roleInput is the body of POST /roles and PATCH /roles/{id}; a PATCH
// leaves out what it does not change.
type roleInput struct {
	ID          *string   `json:"id"`
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Permissions *[]string `json:"permissions"`
}

func decodeRole(body []byte) (roleInput, error) {
	var in roleInput
	if err := invalidText(body); err != nil {
		return in, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, &user.Error{Code: user.CodeInvalid,
			Message: "the request body must be a JSON object with name, description and permissions (and, for a new role, id): " + err.Error()}
	}
	return in, nil
}

func (h *Handler) roles(ctx context.Context, r *request) (response, error) {
	c := r.actor.Roles()
	v := rolesView{Roles: []roleView{}, Permissions: c.Permissions()}
	for _, role := range c.Roles() {
		v.Roles = append(v.Roles, viewRole(role))
	}
	return response{status: http.StatusOK, body: v}, nil
}

func (h *Handler) createRole(ctx context.Context, r *request) (response, error) {
	in, err := decodeRole(r.body)
	if err != nil {
		return response{}, err
	}
	d := onboarding.RoleDraft{}
	for dst, src := range map[*string]*string{&d.ID: in.ID, &d.Name: in.Name, &d.Description: in.Description} {
		if src != nil {
			*dst = *src
		}
	}
	if in.Permissions != nil {
		d.Permissions = *in.Permissions
	}
	role, err := h.svc.CreateRole(ctx, r.actor, d)
	if err != nil {
		return response{}, err
	}
	return response{status: http.StatusCreated, body: viewRole(role), headers: map[string]string{
		"Location": "/roles/" + url.PathEscape(role.ID), "ETag": etag(role.Version)}}, nil
}

func (h *Handler) getRole(ctx context.Context, r *request) (response, error) {
	role, err := h.svc.GetRole(ctx, r.actor, r.roleID)
	if err != nil {
		return response{}, err
	}
	return roleResponse(role), nil
}

func (h *Handler) editRole(ctx context.Context, r *request) (response, error) {
	version, err := ifMatchRole(r.header("If-Match"))
	if err != nil {
		return response{}, err
	}
	in, err := decodeRole(r.body)
	if err != nil {
		return response{}, err
	}
	if in.ID != nil && *in.ID != r.roleID {
		return response{}, fieldError("id", "cannot change: a role keeps its id when renamed")
	}
	role, err := h.svc.EditRole(ctx, r.actor, r.roleID, version, onboarding.RolePatch{
		Name: in.Name, Description: in.Description, Permissions: in.Permissions})
	if err != nil {
		return response{}, err
	}
	return roleResponse(role), nil
}

func (h *Handler) deleteRole(ctx context.Context, r *request) (response, error) {
	version, err := ifMatchRole(r.header("If-Match"))
	if err != nil {
		return response{}, err
	}
	if err := h.svc.DeleteRole(ctx, r.actor, r.roleID, version); err != nil {
		return response{}, err
	}
	return response{status: http.StatusNoContent}, nil
}

func (h *Handler) roleHistory(ctx context.Context, r *request) (response, error) {
	q := r.query()
	limit, err := historyLimit(q.Get("limit"))
	if err != nil {
		return response{}, err
	}
	p, err := h.svc.RoleHistory(ctx, r.actor, r.roleID, limit, q.Get("cursor"))
	if err != nil {
		return response{}, err
	}
	v := roleHistoryView{Items: p.Entries}
	if v.Items == nil {
		v.Items = []onboarding.RoleAuditEntry{}
	}
	for i := range v.Items {
		if v.Items[i].Changes == nil {
			v.Items[i].Changes = []user.Change{}
		}
	}
	if p.NextCursor != "" {
		v.NextCursor = &p.NextCursor
	}
	return response{status: http.StatusOK, body: v}, nil
}

func roleResponse(role access.Role) response {
	return response{status: http.StatusOK, body: viewRole(role), headers: map[string]string{"ETag": etag(role.Version)}}
}

// ifMatchRole is ifMatch with the role's words for a version that cannot
// match.
func ifMatchRole(v string) (int64, error) {
	n, err := ifMatch(v)
	if err != nil {
		return 0, onboarding.ErrRoleVersionConflict
	}
	return n, nil
}
