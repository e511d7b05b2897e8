// Package mailtest is the contract every release.Mailer adapter keeps, in
// the manner of go-cloud's docstore/drivertest: the local outbox and SES
// (on aws-ses-v2-local) run the same cases from their own tests, each
// reading back what was delivered its own way. It uses nothing but the
// port and the harness.
package mailtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opsos/onboarding/internal/release"
)

// Harness is one adapter under test.
type Harness struct {
	// Mailer is the adapter.
	Mailer release.Mailer
	// Delivered returns the messages the adapter's far side holds now: To,
	// Subject, Text and HTML as they arrived, in any order. It may include
	// mail of other tests; the suite only looks at its own recipients.
	Delivered func(t *testing.T) []release.Message
}

// Run runs every contract case as a subtest, each with a harness made by
// newHarness, which should register its cleanup with t.Cleanup.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h Harness, rcpt func(string) string)
	}{
		{"ArrivesIntact", testArrivesIntact},
		{"TwoMessagesArriveAsTwo", testTwoArriveAsTwo},
		{"SendReturnsID", testSendReturnsID},
		{"ConcurrentSendsAllArrive", testConcurrent},
		{"InvalidAddressIsPermanent", testInvalidAddress},
		{"CancelledContextIsNotPermanent", testCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Engines such as aws-ses-v2-local keep one mailbox for every
			// test (and every run) that uses them: each case writes to
			// addresses no other case or run uses, and reads only those.
			tag := strings.ToLower(rand.Text()[:10])
			c.fn(t, newHarness(t), func(local string) string {
				return fmt.Sprintf("%s.%s@example.com", local, tag)
			})
		})
	}
}

// to returns the delivered messages addressed to rcpt.
func to(t *testing.T, h Harness, rcpt string) []release.Message {
	t.Helper()
	var out []release.Message
	for _, m := range h.Delivered(t) {
		if strings.EqualFold(m.To, rcpt) {
			out = append(out, m)
		}
	}
	return out
}

func send(t *testing.T, h Harness, m release.Message) string {
	t.Helper()
	id, err := h.Mailer.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("send %q to %s: %v", m.Subject, m.To, err)
	}
	return id
}

func testArrivesIntact(t *testing.T, h Harness, rcpt func(string) string) {
	want := release.Message{
		To:      rcpt("zoe"),
		Subject: "Zoë Ångström-Łukasiewicz invited you to OpsOS — 欢迎 🎉",
		Text:    "Hello Zoë,\n\nUsername: zoe@example.com\nTemporary password: Kq7m+Zp3&xW<t9\n\n— Søren Ødegård\n",
		HTML:    `<!DOCTYPE html><html><body><p style="color:#123">Hello Zoë 👋</p><pre>Kq7m+Zp3&amp;xW&lt;t9</pre><a href="https://login.example.com/?a=1&amp;b=2">Sign in</a></body></html>`,
	}
	send(t, h, want)
	got := to(t, h, want.To)
	if len(got) != 1 {
		t.Fatalf("%d messages arrived for %s, want 1: %+v", len(got), want.To, got)
	}
	if got[0] != want {
		t.Errorf("arrived:\n%#v\nwant:\n%#v", got[0], want)
	}
}

func testTwoArriveAsTwo(t *testing.T, h Harness, rcpt func(string) string) {
	a := release.Message{To: rcpt("sam"), Subject: "First", Text: "one", HTML: "<p>one</p>"}
	b := release.Message{To: a.To, Subject: "Second", Text: "two", HTML: "<p>two</p>"}
	send(t, h, a)
	send(t, h, b)
	got := to(t, h, a.To)
	subjects := make([]string, 0, len(got))
	for _, m := range got {
		subjects = append(subjects, m.Subject)
	}
	slices.Sort(subjects)
	if !slices.Equal(subjects, []string{"First", "Second"}) {
		t.Errorf("arrived subjects %q, want First and Second once each", subjects)
	}
}

func testSendReturnsID(t *testing.T, h Harness, rcpt func(string) string) {
	m := release.Message{To: rcpt("id"), Subject: "Id", Text: "text", HTML: "<p>html</p>"}
	first, second := send(t, h, m), send(t, h, m)
	if first == "" || second == "" {
		t.Errorf("empty message id: %q, %q", first, second)
	}
	if first == second {
		t.Errorf("two messages share the id %q", first)
	}
}

func testConcurrent(t *testing.T, h Harness, rcpt func(string) string) {
	const n = 20
	ctx := context.Background()
	addr := rcpt("crowd")
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = h.Mailer.Send(ctx, release.Message{
				To: addr, Subject: fmt.Sprintf("Message %02d", i), Text: fmt.Sprint(i), HTML: fmt.Sprintf("<p>%d</p>", i),
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("send %d: %v", i, err)
		}
	}
	if slices.Sort(ids); len(slices.Compact(ids)) != n {
		t.Errorf("ids not distinct: %q", ids)
	}
	got := to(t, h, addr)
	seen := map[string]int{}
	for _, m := range got {
		seen[m.Subject]++
	}
	for i := range n {
		if s := fmt.Sprintf("Message %02d", i); seen[s] != 1 {
			t.Errorf("%q arrived %d times, want once", s, seen[s])
		}
	}
	if len(got) != n {
		t.Errorf("%d messages arrived, want %d", len(got), n)
	}
}

// testInvalidAddress: the release worker ends a release as release_failed
// on a permanent error; an address nobody can deliver to is one.
func testInvalidAddress(t *testing.T, h Harness, rcpt func(string) string) {
	for _, bad := range []string{"not-an-address", "Ann <" + rcpt("ann") + ">", ""} {
		_, err := h.Mailer.Send(context.Background(), release.Message{To: bad, Subject: "No", Text: "no", HTML: "<p>no</p>"})
		if reason, ok := release.IsPermanent(err); !ok || reason == "" {
			t.Errorf("send to %q: %v, want a permanent error with a reason", bad, err)
		}
	}
	if got := to(t, h, rcpt("ann")); len(got) != 0 {
		t.Errorf("mail arrived for a refused address: %+v", got)
	}
}

// testCancelled: a worker shutting down must not record a user's release
// as failed for good.
func testCancelled(t *testing.T, h Harness, rcpt func(string) string) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := release.Message{To: rcpt("late"), Subject: "Late", Text: "late", HTML: "<p>late</p>"}
	_, err := h.Mailer.Send(ctx, m)
	if err == nil {
		t.Fatal("send with a cancelled context succeeded")
	}
	if _, ok := release.IsPermanent(err); ok {
		t.Errorf("cancelled send is permanent: %v", err)
	}
	if got := to(t, h, m.To); len(got) != 0 {
		t.Errorf("mail arrived after a cancelled send: %+v", got)
	}
}
