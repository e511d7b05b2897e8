// Settings → Users: the list, and Create User (the help page's Step 1).
import { api, catalogue } from './api.js';
import { restoreDraft, sessionEnded } from './auth.js';
import { h, field, showProblem, clearErrors, badge, fullName, statusLabels, flash } from './dom.js';

export const plannerWorker = { value: 'planner-worker', label: 'Planner Worker (sees only their shifts)' };

export function roleOptions(cat, withPlannerWorker) {
  const opts = cat.roles.map((r) => ({ value: r.id, label: r.name }));
  return withPlannerWorker ? [...opts, plannerWorker] : opts;
}

export function roleName(cat, id) {
  return cat.roles.find((r) => r.id === id)?.name || id;
}

export async function usersPage(main, q) {
  main.setTitle('Users · OpsOS');
  const cat = await catalogue();
  const params = new URLSearchParams();
  for (const k of ['status', 'role', 'type', 'q', 'cursor', 'limit']) if (q.get(k)) params.set(k, q.get(k));
  if (!params.has('limit')) params.set('limit', '25');
  const res = await api('GET', `/users?${params}`);
  if (!res.ok) throw res;

  const search = field({ name: 'q', label: 'Search', type: 'search', value: q.get('q') || '', hint: null });
  const status = field({ name: 'status', label: 'Status', type: 'select', value: q.get('status') || '',
    options: [{ value: '', label: 'Any status' }, ...Object.entries(statusLabels).map(([value, label]) => ({ value, label }))] });
  const role = field({ name: 'role', label: 'Role', type: 'select', value: q.get('role') || '',
    options: [{ value: '', label: 'Any role' }, ...roleOptions(cat, false)] });
  const type = field({ name: 'type', label: 'Type', type: 'select', value: q.get('type') || '',
    options: [{ value: '', label: 'Internal and external' }, { value: 'internal', label: 'Internal' }, { value: 'external', label: 'External' }] });
  const filters = h('form', { class: 'bar', role: 'search', 'aria-label': 'Find users' },
    search.wrap, status.wrap, role.wrap, type.wrap, h('button', { type: 'submit' }, 'Show'));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    for (const c of [search.control, status.control, role.control, type.control]) if (c.value.trim()) next.set(c.name, c.value.trim());
    location.hash = `#/users?${next}`;
  });

  const items = res.body.items;
  const rows = items.map((u) => h('tr', null,
    h('td', null, h('a', { href: `#/users/${encodeURIComponent(u.id)}` }, fullName(u))),
    h('td', null, u.email),
    h('td', null, roleName(cat, u.role)),
    h('td', null, u.type === 'external' ? 'External' : 'Internal'),
    h('td', null, badge(u.status))));
  const table = items.length
    ? h('table', { class: 'users' }, h('caption', { class: 'hint' }, `${items.length} user${items.length === 1 ? '' : 's'} on this page`),
      h('thead', null, h('tr', null, ['Name', 'Email', 'Role', 'Type', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, rows))
    : h('p', null, 'No users match.');

  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  if (q.get('cursor')) {
    const first = new URLSearchParams(q);
    first.delete('cursor');
    pager.append(h('a', { class: 'button', href: `#/users?${first}` }, 'First page'));
  }
  if (res.body.nextCursor) {
    const next = new URLSearchParams(q);
    next.set('cursor', res.body.nextCursor);
    pager.append(h('a', { class: 'button', href: `#/users?${next}`, id: 'next-page' }, 'Next page'));
  }

  main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Users'),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/users/new', id: 'create-user' }, 'Create User')),
    h('h2', null, 'Find users'), filters, table, pager);
}

// userFields draws the fields a user is created and edited with, in the
// help page's order, and reads them back.
export function userFields(cat, u, { creating }) {
  const type = u.type || 'internal';
  const typeField = h('fieldset', { 'data-field': 'type', class: 'field' }, h('legend', null, 'User type'),
    ...[['internal', 'Internal User'], ['external', 'External User']].map(([v, label]) => {
      const id = `type-${v}`;
      return h('div', { class: 'field inline' }, h('input', { type: 'radio', name: 'type', id, value: v, checked: type === v }), h('label', { for: id }, label));
    }),
    h('p', { class: 'hint' }, 'Internal users are your own staff; external users are contractors and suppliers.'),
    h('p', { class: 'error', id: 'type-error' }));
  const first = field({ name: 'firstName', label: 'First Name', value: u.firstName || '', required: true, autocomplete: 'off' });
  const last = field({ name: 'lastName', label: 'Last Name', value: u.lastName || '', required: true, autocomplete: 'off' });
  const email = field({ name: 'email', label: 'Email', type: 'email', value: u.email || '', required: true, autocomplete: 'off',
    hint: creating ? 'Their login, and where the invitation goes.' : 'Can change only while they are in Introduction Mode.' });
  const phone = field({ name: 'phone', label: 'Phone', type: 'tel', value: u.phone || '', autocomplete: 'off' });
  const job = field({ name: 'jobTitle', label: 'Job Title', value: u.jobTitle || '', autocomplete: 'off' });
  const role = field({ name: 'role', label: 'Role', type: 'select', value: u.role || '', required: true,
    options: [...(creating ? [{ value: '', label: 'Choose a role' }] : []), ...roleOptions(cat, true)],
    hint: 'One role per user: it controls everything they can see and do.' });
  const planner = field({ name: 'externalPlannerAccess', label: 'External Planner Access', type: 'checkbox', value: u.externalPlannerAccess });
  const purchasing = field({ name: 'externalPurchasingAccess', label: 'External Purchasing Access', type: 'checkbox', value: u.externalPurchasingAccess });
  const external = h('fieldset', { class: 'field', id: 'external-access' }, h('legend', null, 'External access'), planner.wrap, purchasing.wrap);
  const isExternal = () => typeField.querySelector('input:checked')?.value === 'external';
  const sync = () => { external.hidden = !isExternal(); };
  typeField.addEventListener('change', sync);
  sync();
  return {
    nodes: [typeField, h('div', { class: 'cols' }, first.wrap, last.wrap, email.wrap, phone.wrap, job.wrap, role.wrap), external],
    typeField, role: role.control, external: [planner.control, purchasing.control],
    values() {
      const ext = isExternal();
      return {
        type: ext ? 'external' : 'internal',
        firstName: first.control.value, lastName: last.control.value, email: email.control.value,
        phone: phone.control.value, jobTitle: job.control.value, role: role.control.value,
        externalPlannerAccess: ext && planner.control.checked, externalPurchasingAccess: ext && purchasing.control.checked,
      };
    },
    set(v) {
      typeField.querySelector(`input[value="${v.type}"]`).checked = true;
      first.control.value = v.firstName; last.control.value = v.lastName; email.control.value = v.email;
      phone.control.value = v.phone; job.control.value = v.jobTitle; role.control.value = v.role;
      planner.control.checked = v.externalPlannerAccess; purchasing.control.checked = v.externalPurchasingAccess;
      sync();
    },
  };
}

// randomKey names one create, so that a retried request makes one user.
// (crypto.randomUUID needs a secure context; local mode on a LAN address
// is plain http.)
function randomKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function createUserPage(main) {
  main.setTitle('Create User · OpsOS');
  const cat = await catalogue();
  const f = userFields(cat, {}, { creating: true });
  const hold = field({ name: 'holdInvite', label: 'Hold Invite (Introduction Mode)', type: 'checkbox', value: true,
    hint: 'Ticked: the account exists straight away, but they cannot log in yet and no invite is sent. Release access when everything is set up.' });
  const alert = h('div', { class: 'alert', tabindex: '-1' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'create-button' }, 'Create User');
  const form = h('form', { class: 'card', id: 'create-user-form', novalidate: true }, alert, ...f.nodes, hold.wrap, h('div', { class: 'actions' }, button,
    h('a', { class: 'button', href: '#/users' }, 'Cancel')));
  let key = '';
  let keyFor = ''; // the JSON body key was made for
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const v = f.values();
    const body = { ...v, holdInvite: hold.control.checked };
    if (v.type === 'internal') {
      delete body.externalPlannerAccess;
      delete body.externalPurchasingAccess;
    }
    // One key while the body is the same: a retry after a lost answer
    // is the same create (the API answers the user it made), while a
    // corrected form is a new one.
    const json = JSON.stringify(body);
    if (json !== keyFor) {
      key = randomKey();
      keyFor = json;
    }
    button.disabled = true;
    const res = await api('POST', '/users', { body, headers: { 'Idempotency-Key': key }, keepPage: true });
    button.disabled = false;
    if (res.status === 401) {
      sessionEnded(form);
      return;
    }
    if (!res.ok) {
      showProblem(form, res);
      return;
    }
    const u = res.body;
    flash(u.holdInvite
      ? `${fullName(u)} was created in Introduction Mode: they cannot log in yet and have not been told. Set up the account, then release access.`
      : `${fullName(u)} was created and access released: OpsOS is emailing them a temporary password.`);
    location.hash = `#/users/${encodeURIComponent(u.id)}`;
  });
  main.replaceChildren(h('h1', { tabindex: '-1' }, 'Create User'),
    h('p', null, 'New users start in Introduction Mode: the account exists, but they cannot log in and are not told until you release access.'),
    form);
  restoreDraft(form);
}
