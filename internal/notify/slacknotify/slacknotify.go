// Package slacknotify posts the release worker's notices to a Slack
// channel (DESIGN.md §5, §6): one chat.postMessage per notice, a Block Kit
// message with a plain-text fallback for notifications and old clients.
//
// The bot token needs the chat:write scope, and the bot must be a member
// of the channel (or the token also needs chat:write.public).
package slacknotify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsos/onboarding/internal/release"
)

// Poster is the part of *slack.Client the notifier uses.
type Poster interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (channel, timestamp string, err error)
}

// Notifier posts notices to one channel.
type Notifier struct {
	api      Poster
	channel  string
	roleName func(roleID string) string
}

var _ release.Notifier = (*Notifier)(nil)

// Option adjusts a Notifier.
type Option func(*Notifier)

// WithRoleNames shows roles by name ("Supervisor") instead of id; name
// returns "" for an id it does not know, which is then shown as is.
func WithRoleNames(name func(roleID string) string) Option {
	return func(n *Notifier) { n.roleName = name }
}

// New returns a Notifier that posts to channel, a channel id such as
// C0123ABCD, through api: a *slack.Client made with the bot token.
func New(api Poster, channel string, opts ...Option) *Notifier {
	n := &Notifier{api: api, channel: channel, roleName: func(string) string { return "" }}
	for _, o := range opts {
		o(n)
	}
	return n
}

// Notify implements release.Notifier.
func (n *Notifier) Notify(ctx context.Context, no release.Notice) error {
	text, blocks, err := n.message(no)
	if err != nil {
		return err
	}
	// The fallback is escaped like the blocks: a name or reason must not
	// mention @channel or forge a link.
	_, _, err = n.api.PostMessageContext(ctx, n.channel, slack.MsgOptionText(text, true), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return fmt.Errorf("post %s notice of user %s to Slack channel %s: %w", no.Kind, no.UserID, n.channel, err)
	}
	return nil
}

// message returns the plain-text fallback and the blocks for no. Both say
// the same; the blocks add emphasis, the user id and the time.
func (n *Notifier) message(no release.Notice) (string, []slack.Block, error) {
	text, err := n.sentence(no, plain, plain)
	if err != nil {
		return "", nil, err
	}
	mrkdwn, _ := n.sentence(no, escape, func(s string) string { return "*" + escape(s) + "*" })
	details := "OpsOS user " + escape(no.UserID)
	if !no.At.IsZero() {
		at := no.At.UTC()
		details += fmt.Sprintf(" · <!date^%d^{date_short_pretty} {time}|%s>", at.Unix(), at.Format(time.RFC1123))
	}
	return text, []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, mrkdwn, false, false), nil, nil),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, details, false, false)),
	}, nil
}

// sentence says what happened, with esc applied to every value and the
// user's name set off by strong.
func (n *Notifier) sentence(no release.Notice, esc, strong func(string) string) (string, error) {
	who := strong(no.FullName) + " (" + esc(no.Email) + ")"
	if role := n.role(no.Role); role != "" {
		who += ", " + esc(role)
	}
	by := func(lead string) string {
		if no.By == "" {
			return ""
		}
		return lead + "by " + esc(no.By)
	}
	switch no.Kind {
	case release.NoticeInvited:
		if no.Resend {
			return "✅ New invitation sent to " + who + by(" — resent ") + ".", nil
		}
		return "✅ Invitation sent to " + who + by(" — released ") + ".", nil
	case release.NoticeReleaseFailed:
		reason := strings.TrimRight(no.Reason, ". ")
		if reason == "" {
			reason = "no reason given"
		}
		what := "Release of "
		if no.Resend {
			what = "Resend to "
		}
		return "⚠️ " + what + who + by(" ") + " failed: " + esc(reason) + ". Fix it, then resend the invite.", nil
	case release.NoticeSuspended:
		return "⏸️ " + who + ": access suspended" + by(" ") + ".", nil
	case release.NoticeReactivated:
		return "▶️ " + who + ": access restored" + by(" ") + "; they sign in with their own password.", nil
	}
	return "", fmt.Errorf("slack notice: unknown kind %q", no.Kind)
}

func (n *Notifier) role(id string) string {
	if name := n.roleName(id); name != "" {
		return name
	}
	return id
}

func plain(s string) string { return s }

// escape makes s literal in Slack text: &, < and > start mentions and
// links.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
