package release

import (
	"context"
	"fmt"

	"github.com/opsos/onboarding/internal/user"
)

// announce tells the Notifier about a change that is an outcome people act
// on. It never fails the record: a chat outage must not hold up logins.
//
// Notices follow the stream, which delivers at least once, so each one is
// claimed under the user and version of the change: a redelivered record,
// or the copies Lambda sends again after another record of the batch
// failed, post nothing more. A post is repeated only when its answer is
// lost (a failed post is released for a later copy to try), and lost only
// when the delivery that claimed it dies and no copy comes after the
// claim runs out.
func (w *Worker) announce(ctx context.Context, old, cur *user.User) {
	if w.cfg.Notifier == nil {
		return
	}
	n, ok := noticeOf(old, cur)
	if !ok {
		return
	}
	log := w.log.With("userId", n.UserID, "notice", string(n.Kind), "version", cur.Version)
	key := fmt.Sprintf("notify:%s:v%d", n.UserID, cur.Version)
	st, err := w.store.Claim(ctx, key, w.now(), w.cfg.ClaimHold)
	switch {
	case err != nil:
		// A duplicate notice is better than none.
		log.WarnContext(ctx, "notice not deduplicated", "error", err.Error())
	case st != Claimed:
		return
	}
	claimed := err == nil
	nctx, cancel := context.WithTimeout(ctx, w.cfg.NotifyTimeout)
	err = w.cfg.Notifier.Notify(nctx, n)
	cancel()
	if err != nil {
		log.WarnContext(ctx, "notice not sent", "error", err.Error())
		if claimed {
			if aerr := w.store.Abandon(ctx, key); aerr != nil {
				log.WarnContext(ctx, "abandon notice claim", "error", aerr.Error())
			}
		}
		return
	}
	log.InfoContext(ctx, "notice sent")
	if claimed {
		if err := w.store.Complete(ctx, key, w.now()); err != nil {
			log.WarnContext(ctx, "complete notice claim", "error", err.Error())
		}
	}
}

// noticeOf returns the notice a change calls for, if any: a change of
// status into an outcome. The manager is whoever wrote the change, or,
// when that is the worker recording a release's outcome, whoever wrote the
// version before it (the release or resend).
func noticeOf(old, cur *user.User) (Notice, bool) {
	if old == nil || cur == nil || old.Status == cur.Status {
		return Notice{}, false
	}
	n := Notice{UserID: cur.ID, FullName: cur.Name(), Email: cur.Email, Role: cur.Role, By: managerOf(old, cur), At: cur.UpdatedAt}
	switch {
	case cur.Status == user.StatusInvited:
		// A resend bumps the generation; a first release sets it to 1.
		n.Kind, n.Resend = NoticeInvited, cur.InviteGeneration > 1
	case cur.Status == user.StatusReleaseFailed:
		n.Kind, n.Reason = NoticeReleaseFailed, cur.StatusReason
	case cur.Status == user.StatusSuspended:
		n.Kind = NoticeSuspended
	case cur.Status == user.StatusActive && old.Status == user.StatusReleasing && cur.ActivatedAt.Equal(old.ActivatedAt):
		// A re-enable goes from releasing to active; so does a first
		// sign-in that overtook a crashed release, but it sets
		// ActivatedAt and is not announced, as from invited.
		n.Kind = NoticeReactivated
	default:
		return Notice{}, false
	}
	return n, true
}

func managerOf(old, cur *user.User) string {
	for _, by := range []string{cur.UpdatedBy, old.UpdatedBy} {
		if by != "" && by != Actor {
			return by
		}
	}
	return ""
}
