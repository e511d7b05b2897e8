package slackops

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// jobLifetime bounds how late a deferred job may run: its answer is only
// useful while the manager still waits for it.
const jobLifetime = 5 * time.Minute

// jobKeyLabel derives the key of job MACs from the signing secret, so
// that no second secret has to be provisioned, and a job MAC is never a
// valid request signature.
const jobKeyLabel = "opsos-slack-job-v1"

// Reasons a deferred job is refused.
var (
	errJobUnsigned = errors.New("the job carries no MAC")
	errJobForged   = errors.New("the job's MAC does not match its fields")
	errJobExpired  = errors.New("the job has expired")
)

// jobKey is the key of job MACs: HMAC-SHA256(signing secret, label).
func (v Verifier) jobKey() []byte {
	m := hmac.New(sha256.New, v.secret)
	m.Write([]byte(jobKeyLabel))
	return m.Sum(nil)
}

// jobMAC is the MAC of every field of job but the MAC itself.
func jobMAC(key []byte, job Job) string {
	fields, _ := json.Marshal([]any{jobKeyLabel, job.Text, job.SlackUserID, job.ResponseURL, job.TeamID, job.EnterpriseID, job.Expires})
	m := hmac.New(sha256.New, key)
	m.Write(fields)
	return hex.EncodeToString(m.Sum(nil))
}

// seal stamps job with its expiry and MAC, before it leaves the process.
func (h *Handler) seal(job Job) Job {
	job.Expires = h.now().Add(jobLifetime).Unix()
	job.MAC = jobMAC(h.verifier.jobKey(), job)
	return job
}

// open checks a job that came back: the function's own, unchanged, in
// time. Anyone able to invoke the function could otherwise have it act
// as any Slack user.
func (h *Handler) open(job Job) error {
	if job.MAC == "" {
		return errJobUnsigned
	}
	want := jobMAC(h.verifier.jobKey(), job)
	if len(h.verifier.secret) == 0 || !hmac.Equal([]byte(job.MAC), []byte(want)) {
		return errJobForged
	}
	if !h.now().Before(time.Unix(job.Expires, 0)) {
		return errJobExpired
	}
	return nil
}
