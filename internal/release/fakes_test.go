package release_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/opsos/onboarding/internal/release"
)

// fault is an error injected into a fake, before or after its effect.
type fault struct {
	method string
	after  bool // the effect happens, then the error is returned
	err    error
	times  int
}

// fakeIdentity is an in-memory identity provider that behaves like the
// real ones: one login per email, temporary passwords reset, groups.
type fakeIdentity struct {
	mu     sync.Mutex
	logins map[string]*fakeLogin
	faults []*fault
	calls  map[string]int
}

type fakeLogin struct {
	release.Login
	password  string
	confirmed bool
	enabled   bool
	signedOut int
}

func newFakeIdentity() *fakeIdentity {
	return &fakeIdentity{logins: map[string]*fakeLogin{}, calls: map[string]int{}}
}

func (f *fakeIdentity) inject(method string, after bool, err error, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault{method: method, after: after, err: err, times: times})
}

// fault returns the injected error for method, before or after its effect.
func takeFault(faults []*fault, method string, after bool) error {
	for _, ft := range faults {
		if ft.method == method && ft.after == after && ft.times > 0 {
			ft.times--
			return ft.err
		}
	}
	return nil
}

func (f *fakeIdentity) do(method string, effect func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if err := takeFault(f.faults, method, false); err != nil {
		return err
	}
	if err := effect(); err != nil {
		return err
	}
	return takeFault(f.faults, method, true)
}

func (f *fakeIdentity) Provision(ctx context.Context, l release.Login, pw string) error {
	return f.do("Provision", func() error {
		lg := f.logins[l.Email]
		if lg == nil {
			lg = &fakeLogin{}
			f.logins[l.Email] = lg
		}
		lg.Login, lg.password, lg.confirmed, lg.enabled = l, pw, false, true
		return nil
	})
}

func (f *fakeIdentity) SetGroup(ctx context.Context, email, group string) error {
	return f.do("SetGroup", func() error {
		lg := f.logins[email]
		if lg == nil {
			return release.ErrNoLogin
		}
		lg.Group = group
		return nil
	})
}

func (f *fakeIdentity) Suspend(ctx context.Context, email string) error {
	return f.do("Suspend", func() error {
		lg := f.logins[email]
		if lg == nil {
			return release.ErrNoLogin
		}
		lg.enabled = false
		lg.signedOut++
		return nil
	})
}

func (f *fakeIdentity) Enable(ctx context.Context, email string) error {
	return f.do("Enable", func() error {
		lg := f.logins[email]
		if lg == nil {
			return release.ErrNoLogin
		}
		lg.enabled = true
		return nil
	})
}

func (f *fakeIdentity) State(ctx context.Context, email string) (release.LoginState, error) {
	var st release.LoginState
	err := f.do("State", func() error {
		lg := f.logins[email]
		if lg == nil {
			return nil
		}
		st.Status, st.Enabled = release.LoginForceChangePassword, lg.enabled
		if lg.confirmed {
			st.Status = release.LoginConfirmed
		}
		return nil
	})
	return st, err
}

// signIn says whether password opens email's login (and needs a new one).
func (f *fakeIdentity) signIn(email, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lg := f.logins[email]
	switch {
	case lg == nil || lg.password != password:
		return errors.New("wrong credentials")
	case !lg.enabled:
		return errors.New("disabled")
	}
	return nil
}

// setOwnPassword is the user completing the first-login challenge.
func (f *fakeIdentity) setOwnPassword(email, pw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins[email].password, f.logins[email].confirmed = pw, true
}

// fakeMailer is a mailbox with faults.
type fakeMailer struct {
	mu     sync.Mutex
	sent   []release.Message
	faults []*fault
}

func (m *fakeMailer) inject(after bool, err error, times int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = append(m.faults, &fault{method: "Send", after: after, err: err, times: times})
}

func (m *fakeMailer) Send(ctx context.Context, msg release.Message) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := takeFault(m.faults, "Send", false); err != nil {
		return "", err
	}
	m.sent = append(m.sent, msg)
	if err := takeFault(m.faults, "Send", true); err != nil {
		return "", err
	}
	return fmt.Sprintf("msg-%d", len(m.sent)), nil
}

func (m *fakeMailer) to(email string) []release.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []release.Message
	for _, msg := range m.sent {
		if msg.To == email {
			out = append(out, msg)
		}
	}
	return out
}

// fakeNotifier records the notices it is given, like a channel would.
type fakeNotifier struct {
	mu      sync.Mutex
	notices []release.Notice
	// err fails every notice while set.
	err error
	// hang makes Notify wait for its context, like an unreachable server.
	hang bool
}

func (f *fakeNotifier) Notify(ctx context.Context, n release.Notice) error {
	f.mu.Lock()
	err, hang := f.err, f.hang
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notices = append(f.notices, n)
	return nil
}

func (f *fakeNotifier) set(err error, hang bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.hang = err, hang
}

// of returns the notices about userID.
func (f *fakeNotifier) of(userID string) []release.Notice {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []release.Notice
	for _, n := range f.notices {
		if n.UserID == userID {
			out = append(out, n)
		}
	}
	return out
}
