package local

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	_ "embed"

	"github.com/opsos/onboarding/internal/identity/localid"
)

//go:embed login.html
var loginPage []byte

// authHandlers serve the local stand-in of Cognito managed login
// (DESIGN.md §7): the sign-in page and its two JSON endpoints.
type authHandlers struct {
	id  *localid.Identity
	log *slog.Logger
}

type authRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	Session     string `json:"session"`
	NewPassword string `json:"newPassword"`
}

type authError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (h authHandlers) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /_local/login", h.page)
	mux.HandleFunc("POST /_local/auth/initiate", h.initiate)
	mux.HandleFunc("POST /_local/auth/respond", h.respond)
}

func (h authHandlers) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'")
	w.Write(loginPage)
}

func decodeAuth(w http.ResponseWriter, r *http.Request) (authRequest, bool) {
	var req authRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.Email == "" {
		writeJSON(w, http.StatusBadRequest, authError{Code: "InvalidParameter", Message: "send a JSON object with email and the password fields"})
		return req, false
	}
	return req, true
}

func (h authHandlers) initiate(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeAuth(w, r)
	if !ok {
		return
	}
	res, err := h.id.SignIn(r.Context(), req.Email, req.Password)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h authHandlers) respond(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeAuth(w, r)
	if !ok {
		return
	}
	t, err := h.id.RespondNewPassword(r.Context(), req.Email, req.Session, req.NewPassword)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, localid.SignInResult{Tokens: &t})
}

// fail answers as Cognito would: 401 for credentials, 403 with a code for
// a login that may not sign in, 400 naming the password rule.
func (h authHandlers) fail(w http.ResponseWriter, err error) {
	var pe *localid.PolicyError
	switch {
	case errors.Is(err, localid.ErrWrongCredentials):
		writeJSON(w, http.StatusUnauthorized, authError{"NotAuthorized", err.Error()})
	case errors.Is(err, localid.ErrUserDisabled):
		writeJSON(w, http.StatusForbidden, authError{"UserDisabled", "your access to OpsOS is on hold; ask a manager"})
	case errors.Is(err, localid.ErrTemporaryPasswordExpired):
		writeJSON(w, http.StatusForbidden, authError{"TemporaryPasswordExpired", err.Error()})
	case errors.Is(err, localid.ErrBadSession):
		writeJSON(w, http.StatusUnauthorized, authError{"InvalidSession", err.Error()})
	case errors.As(err, &pe):
		writeJSON(w, http.StatusBadRequest, authError{"InvalidPassword", pe.Rule})
	default:
		h.log.Error("local sign-in", "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, authError{"Internal", "Internal error."})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
