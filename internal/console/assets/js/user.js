// The user: details, Onboarding (Hold Invite, "why can't they log in",
// resend invite), permissions with the effective result, history; and
// Edit, where the help page's Step 3 releases access.
import { api, apiPath, catalogue, effective } from './api.js';
import { h, field, showProblem, clearErrors, badge, fullName, when, flash, showFlash, statusLabels } from './dom.js';
import { userFields, roleName } from './users.js';
import { restoreDraft, sessionEnded } from './auth.js';

const yesNo = (b) => (b ? 'Yes' : 'No');

const labels = {
  type: 'User type', firstName: 'First Name', lastName: 'Last Name', email: 'Email', phone: 'Phone', jobTitle: 'Job Title',
  role: 'Role', externalPlannerAccess: 'External Planner Access', externalPurchasingAccess: 'External Purchasing Access',
  holdInvite: 'Hold Invite (Introduction Mode)', permissions: 'Permission adjustments',
};

function permissionsTable(cat, u, adjust) {
  const role = cat.roles.find((r) => r.id === u.role);
  const eff = new Set(u.permissions.effective);
  return h('table', { class: 'perms' },
    h('caption', { class: 'hint' }, 'Effective permissions: the role’s, plus grants, minus revokes (plus the external access views).'),
    h('thead', null, h('tr', null, ['Permission', 'From the role', 'Adjustment', 'Effective'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, cat.permissions.map((p) => h('tr', null,
      h('th', { scope: 'row' }, h('span', null, p.name), h('span', { class: 'hint' }, ` ${p.description}`)),
      h('td', { 'data-from-role': p.name }, role && role.permissions.includes(p.name) ? 'Yes' : 'No'),
      h('td', null, adjust ? adjust(p.name) : (u.permissions.grant.includes(p.name) ? 'Granted' : u.permissions.revoke.includes(p.name) ? 'Revoked' : '—')),
      h('td', { 'data-effective': p.name, class: eff.has(p.name) ? 'yes' : '' }, eff.has(p.name) ? 'Yes' : 'No')))));
}

function historyList(entries) {
  if (!entries.length) return h('p', null, 'Nothing recorded yet.');
  return h('ol', { class: 'history' }, entries.map((e) => h('li', null,
    h('strong', null, e.action), ` — ${when(e.at)} by ${e.actorEmail || e.actorId}`, e.source ? ` (${e.source})` : '',
    e.changes.length ? h('ul', null, e.changes.map((c) => h('li', null, `${c.field}: ${show(c.from)} → ${show(c.to)}`))) : null)));
}

function show(v) {
  if (v === undefined || v === null || v === '') return '—';
  if (Array.isArray(v)) return v.length ? v.join(', ') : '—';
  if (typeof v === 'boolean') return yesNo(v);
  return String(v);
}

export async function userPage(main, id) {
  const cat = await catalogue();
  const [res, hist] = await Promise.all([api('GET', apiPath('/users/', id)), api('GET', apiPath('/users/', id, '/history?limit=100'))]);
  if (!res.ok) throw res;
  const u = res.body;
  main.setTitle(`${fullName(u)} · Users · OpsOS`);

  const diagnosis = h('div', { id: 'diagnosis', role: 'status', 'aria-live': 'polite' });
  const why = h('button', { type: 'button', id: 'why-button' }, 'Why can’t they log in?');
  why.addEventListener('click', async () => {
    const r = await api('GET', apiPath('/users/', id, '/status'));
    if (!r.ok) { diagnosis.replaceChildren(h('p', { class: 'alert' }, r.body?.detail || 'The status could not be read.')); return; }
    const s = r.body;
    diagnosis.replaceChildren(h('div', { class: 'notice' },
      h('p', null, h('strong', null, s.canLogIn ? 'They can log in. ' : 'They cannot log in. '), s.summary),
      s.nextStep ? h('p', null, h('strong', null, 'What to do: '), s.nextStep) : null,
      s.temporaryPasswordExpiresAt ? h('p', null, `Temporary password expires ${when(s.temporaryPasswordExpiresAt)}.`) : null));
  });
  const resendAlert = h('div', { class: 'alert', tabindex: '-1' });
  const resend = h('button', { type: 'button', id: 'resend-button' }, 'Resend invite');
  resend.addEventListener('click', async () => {
    const r = await api('POST', apiPath('/users/', id, '/resend-invite'), { ifMatch: u.version });
    if (!r.ok) {
      resendAlert.replaceChildren(h('p', null, r.status === 412 ? 'Someone else changed this user since this page was shown: reload it and try again.' : r.body?.detail || 'The invite could not be resent.'));
      resendAlert.setAttribute('role', 'alert');
      resendAlert.focus();
      return;
    }
    flash(`A new temporary password is on its way to ${u.email}; the old one no longer works.`);
    await userPage(main, id);
    showFlash();
  });
  const canResend = ['invited', 'release_failed', 'releasing'].includes(u.status);

  const details = [
    ['User type', u.type === 'external' ? 'External User' : 'Internal User'],
    ['First Name', u.firstName], ['Last Name', u.lastName], ['Email', u.email], ['Phone', u.phone || '—'], ['Job Title', u.jobTitle || '—'],
    ['Role', roleName(cat, u.role)],
    ...(u.type === 'external' ? [['External Planner Access', yesNo(u.externalPlannerAccess)], ['External Purchasing Access', yesNo(u.externalPurchasingAccess)]] : []),
    ...(u.slackUserId ? [['Slack', u.slackUserId]] : []),
  ];
  main.replaceChildren(
    h('p', null, h('a', { href: '#/users' }, '← Users')),
    h('h1', { tabindex: '-1' }, fullName(u), ' ', badge(u.status)),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: `#/users/${encodeURIComponent(id)}/edit`, id: 'edit-button' }, 'Edit')),
    h('section', { class: 'card', 'aria-labelledby': 'details-h' }, h('h2', { id: 'details-h' }, 'Details'),
      h('dl', { class: 'details' }, details.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]))),
    h('section', { class: 'card', 'aria-labelledby': 'onboarding-h' }, h('h2', { id: 'onboarding-h' }, 'Onboarding'),
      h('dl', { class: 'details' },
        h('dt', null, 'Hold Invite (Introduction Mode)'), h('dd', { id: 'hold-invite' }, yesNo(u.holdInvite)),
        h('dt', null, 'Status'), h('dd', null, statusLabels[u.status] || u.status, u.statusReason ? ` — ${u.statusReason}` : ''),
        h('dt', null, 'Invited'), h('dd', null, when(u.invitedAt)),
        h('dt', null, 'First signed in'), h('dd', null, when(u.activatedAt))),
      u.holdInvite ? h('p', { class: 'hint' }, 'To release access: Edit, then under Onboarding set Hold Invite (Introduction Mode) to No, and Save.') : null,
      resendAlert,
      h('div', { class: 'actions' }, why, canResend ? resend : null), diagnosis),
    h('section', { class: 'card', 'aria-labelledby': 'perms-h' }, h('h2', { id: 'perms-h' }, 'Permissions'), permissionsTable(cat, u)),
    h('section', { class: 'card', 'aria-labelledby': 'history-h' }, h('h2', { id: 'history-h' }, 'History'),
      hist.ok ? historyList(hist.body.items) : h('p', { class: 'alert' }, hist.body?.detail || 'The history could not be read.')));
}

export async function editUserPage(main, id) {
  const cat = await catalogue();
  const res = await api('GET', apiPath('/users/', id));
  if (!res.ok) throw res;
  let base = res.body; // the copy this edit started from
  main.setTitle(`Edit ${fullName(base)} · Users · OpsOS`);

  const f = userFields(cat, base, { creating: false });
  const hold = field({ name: 'holdInvite', label: 'Hold Invite (Introduction Mode)', type: 'select', value: base.holdInvite ? 'yes' : 'no',
    options: [{ value: 'yes', label: 'Yes' }, { value: 'no', label: 'No' }],
    hint: 'Yes: they cannot log in and are not told. No: releases access, and OpsOS emails them a temporary password.' });
  const adjust = {};
  const adjSelect = (name) => {
    const v = base.permissions.grant.includes(name) ? 'grant' : base.permissions.revoke.includes(name) ? 'revoke' : '';
    const s = h('select', { name: `adjust-${name}`, 'aria-label': `Adjustment for ${name}`, 'data-permission': name },
      [['', 'As the role'], ['grant', 'Grant'], ['revoke', 'Revoke']].map(([value, label]) => h('option', { value, selected: v === value }, label)));
    adjust[name] = s;
    return s;
  };
  const perms = h('div', { 'data-field': 'permissions' }, permissionsTable(cat, base, adjSelect), h('p', { class: 'error', id: 'permissions-error' }));
  const adjustments = () => {
    const grant = []; const revoke = [];
    for (const [name, s] of Object.entries(adjust)) {
      if (s.value === 'grant') grant.push(name);
      if (s.value === 'revoke') revoke.push(name);
    }
    return { grant, revoke };
  };
  const refresh = () => {
    const v = f.values();
    const eff = new Set(effective(cat, { ...v, ...adjustments() }));
    const role = cat.roles.find((r) => r.id === v.role);
    for (const cell of perms.querySelectorAll('[data-from-role]')) {
      cell.textContent = role && role.permissions.includes(cell.dataset.fromRole) ? 'Yes' : 'No';
    }
    for (const cell of perms.querySelectorAll('[data-effective]')) {
      const on = eff.has(cell.dataset.effective);
      cell.textContent = on ? 'Yes' : 'No';
      cell.className = on ? 'yes' : '';
    }
  };
  const alert = h('div', { class: 'alert', tabindex: '-1' });
  const stale = h('div', { id: 'stale' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'save-button' }, 'Save');
  const form = h('form', { class: 'card', id: 'edit-user-form', novalidate: true, 'data-version': base.version }, alert, stale,
    h('h2', null, 'Details'), ...f.nodes,
    h('h2', null, 'Onboarding'), hold.wrap,
    h('h2', null, 'Permission adjustments'),
    h('p', { class: 'hint' }, 'Beyond the role: grant a permission the role lacks, or revoke one it gives. The Effective column shows the result.'),
    perms,
    h('div', { class: 'actions' }, button, h('a', { class: 'button', href: `#/users/${encodeURIComponent(id)}` }, 'Cancel')));
  form.addEventListener('change', refresh);
  refresh();

  // changes is what differs from the copy the edit started from: only
  // that is sent, so the edit says exactly what the manager changed.
  const changes = () => {
    const v = f.values();
    const out = {};
    for (const k of ['type', 'firstName', 'lastName', 'email', 'phone', 'jobTitle', 'role']) if (v[k] !== (base[k] || '')) out[k] = v[k];
    // An internal user has neither external access (values() says false).
    for (const k of ['externalPlannerAccess', 'externalPurchasingAccess']) if (v[k] !== base[k]) out[k] = v[k];
    const held = hold.control.value === 'yes';
    if (held !== base.holdInvite) out.holdInvite = held;
    const a = adjustments();
    const same = (x, y) => x.length === y.length && x.every((p) => y.includes(p));
    if (!same(a.grant, base.permissions.grant) || !same(a.revoke, base.permissions.revoke)) out.permissions = a;
    return out;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    stale.replaceChildren();
    const body = changes();
    if (!Object.keys(body).length) {
      location.hash = `#/users/${encodeURIComponent(id)}`;
      return;
    }
    button.disabled = true;
    const r = await api('PATCH', apiPath('/users/', id), { body, ifMatch: base.version, keepPage: true });
    button.disabled = false;
    if (r.status === 401) {
      sessionEnded(form);
      return;
    }
    if (r.status === 412) {
      await offerFresh(id, body);
      return;
    }
    if (!r.ok) {
      showProblem(form, r);
      return;
    }
    const u = r.body;
    flash(body.holdInvite === false
      ? `Access released for ${fullName(u)}: OpsOS is emailing them a temporary password.`
      : `Saved ${fullName(u)}.`);
    location.hash = `#/users/${encodeURIComponent(id)}`;
  });

  // offerFresh tells the manager someone else saved the user first, shows
  // what is now saved beside what they typed (which stays in the form),
  // and lets them take the fresh copy or save theirs over it.
  async function offerFresh(userID, mine) {
    const r = await api('GET', apiPath('/users/', userID), { keepPage: true });
    if (r.status === 401) { sessionEnded(form); return; }
    if (!r.ok) { showProblem(form, r); return; }
    const fresh = r.body;
    // What they changed and what you changed, side by side.
    const perms = (x) => `grant ${show(x.permissions.grant)}; revoke ${show(x.permissions.revoke)}`;
    const saved = (x, k) => (k === 'permissions' ? perms(x) : k === 'role' ? roleName(cat, x.role) : show(x[k]));
    const keys = [...new Set([...Object.keys(labels).filter((k) => saved(fresh, k) !== saved(base, k)), ...Object.keys(mine)])];
    const rows = keys.map((k) => h('tr', null, h('th', { scope: 'row' }, labels[k] || k), h('td', null, saved(fresh, k)),
      h('td', null, k in mine ? saved({ ...fresh, ...mine }, k) : 'unchanged')));
    const use = h('button', { type: 'button', id: 'use-fresh' }, 'Load the fresh copy');
    const keep = h('button', { type: 'button', id: 'keep-mine' }, 'Save my changes over it');
    use.addEventListener('click', () => {
      base = fresh;
      form.dataset.version = fresh.version;
      f.set({ ...fresh, phone: fresh.phone || '', jobTitle: fresh.jobTitle || '' });
      hold.control.value = fresh.holdInvite ? 'yes' : 'no';
      for (const [name, s] of Object.entries(adjust)) {
        s.value = fresh.permissions.grant.includes(name) ? 'grant' : fresh.permissions.revoke.includes(name) ? 'revoke' : '';
      }
      refresh();
      stale.replaceChildren(h('p', { class: 'notice', role: 'status' }, `The form now shows the copy saved by ${fresh.updatedBy || 'someone else'} at ${when(fresh.updatedAt)}.`));
      f.typeField.querySelector('input:checked')?.focus();
    });
    keep.addEventListener('click', () => {
      base = fresh;
      form.dataset.version = fresh.version;
      stale.replaceChildren();
      form.requestSubmit();
    });
    stale.replaceChildren(h('div', { class: 'alert', role: 'alert', tabindex: '-1', id: 'stale-alert' },
      h('p', null, h('strong', null, 'Someone else changed this user while you were editing.'),
        ` ${fresh.updatedBy || 'Another manager'} saved it at ${when(fresh.updatedAt)}. Nothing of yours was saved, and what you typed is still in the form.`),
      h('table', null, h('thead', null, h('tr', null, ['Field', 'Saved now', 'Yours'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', null, rows)),
      h('div', { class: 'actions' }, use, keep)));
    stale.querySelector('#stale-alert').focus();
  }

  main.replaceChildren(
    h('p', null, h('a', { href: `#/users/${encodeURIComponent(id)}` }, `← ${fullName(base)}`)),
    h('h1', { tabindex: '-1' }, `Edit ${fullName(base)}`, ' ', badge(base.status)), form);
  restoreDraft(form);
}
