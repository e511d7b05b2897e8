// Roles and Permissions: review the roles and what each allows; create
// and edit roles.
import { api, apiPath, catalogue, forgetRoles } from './api.js';
import { h, field, showProblem, clearErrors, flash } from './dom.js';
import { restoreDraft, sessionEnded } from './auth.js';

export async function rolesPage(main) {
  main.setTitle('Roles and Permissions · OpsOS');
  forgetRoles();
  const cat = await catalogue();
  main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Roles and Permissions'),
    h('p', null, 'A user has one role, and the role controls everything they can see and do. Adjust one user beyond their role on the user’s page.'),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/roles/new', id: 'create-role' }, 'Create role')),
    h('h2', null, 'Roles'),
    h('table', { class: 'users' },
      h('thead', null, h('tr', null, ['Role', 'Permissions', 'Change'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, cat.roles.map((r) => h('tr', null,
        h('td', null, h('strong', null, r.name), h('br'), h('span', { class: 'hint' }, r.description)),
        h('td', null, r.permissions.length ? r.permissions.join(', ') : 'None'),
        h('td', null, h('a', { href: `#/roles/${encodeURIComponent(r.id)}`, 'aria-label': `Edit ${r.name}` }, 'Edit')))))),
    h('h2', null, 'Permissions'),
    h('table', { class: 'perms' },
      h('thead', null, h('tr', null, ['Permission', 'Allows'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, cat.permissions.map((p) => h('tr', null, h('td', null, p.name), h('td', null, p.description))))),
    h('p', { class: 'hint' }, 'Planner workers are not system users: people who only see their shifts are added through the Planner’s worker onboarding flow.'));
}

export async function roleFormPage(main, id) {
  const cat = await catalogue();
  let role = { name: '', description: '', permissions: [] };
  if (id) {
    const r = await api('GET', apiPath('/roles/', id));
    if (!r.ok) throw r;
    role = r.body;
  }
  const title = id ? `Edit role ${role.name}` : 'Create role';
  main.setTitle(`${title} · OpsOS`);
  const name = field({ name: 'name', label: 'Name', value: role.name, required: true, autocomplete: 'off' });
  const description = field({ name: 'description', label: 'Description', value: role.description, autocomplete: 'off' });
  const boxes = cat.permissions.map((p) => {
    const bid = `perm-${p.name.replace(/\W/g, '-')}`;
    return h('div', { class: 'field inline' },
      h('input', { type: 'checkbox', id: bid, value: p.name, checked: role.permissions.includes(p.name) }),
      h('label', { for: bid }, h('strong', null, p.name), ` — ${p.description}`));
  });
  const perms = h('fieldset', { class: 'field', 'data-field': 'permissions' }, h('legend', null, 'Permissions'), boxes, h('p', { class: 'error' }));
  const alert = h('div', { class: 'alert', tabindex: '-1' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'save-role' }, id ? 'Save' : 'Create role');
  const del = id ? h('button', { type: 'button', id: 'delete-role' }, 'Delete role') : null;
  // Deleting asks first, on the page: the role's name, and that it is final.
  const confirmDelete = id ? h('button', { type: 'button', class: 'primary', id: 'confirm-delete-role' }, `Delete ${role.name}`) : null;
  const keep = id ? h('button', { type: 'button', id: 'keep-role' }, 'Keep it') : null;
  const confirmBox = id ? h('div', { class: 'confirm', id: 'confirm-delete', role: 'group', 'aria-labelledby': 'confirm-delete-q', tabindex: '-1', hidden: true },
    h('p', { id: 'confirm-delete-q' }, h('strong', null, `Delete the role ${role.name}?`), ' This cannot be undone.'),
    h('div', { class: 'actions' }, confirmDelete, keep)) : null;
  const form = h('form', { class: 'card', id: 'role-form', novalidate: true, 'data-version': id ? role.version : null }, alert, name.wrap, description.wrap, perms,
    h('div', { class: 'actions' }, button, h('a', { class: 'button', href: '#/roles' }, 'Cancel'), del), confirmBox);
  const values = () => ({
    name: name.control.value, description: description.control.value,
    permissions: [...perms.querySelectorAll('input:checked')].map((c) => c.value),
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    button.disabled = true;
    const r = id
      ? await api('PATCH', apiPath('/roles/', id), { body: values(), ifMatch: role.version, keepPage: true })
      : await api('POST', '/roles', { body: values(), keepPage: true });
    button.disabled = false;
    if (r.status === 401) {
      sessionEnded(form);
      return;
    }
    if (r.status === 412) {
      r.body = { ...r.body, detail: 'Someone else changed this role while you were editing; nothing was saved. Open the role again to see their change.' };
    }
    if (!r.ok) {
      showProblem(form, r);
      return;
    }
    forgetRoles();
    const warn = (r.body.warnings || []).join(' ');
    flash(`${id ? 'Saved' : 'Created'} the role ${r.body.name}.${warn ? ` ${warn}` : ''}`);
    location.hash = '#/roles';
  });
  del?.addEventListener('click', () => {
    confirmBox.hidden = false;
    confirmBox.focus();
  });
  keep?.addEventListener('click', () => {
    confirmBox.hidden = true;
    del.focus();
  });
  confirmDelete?.addEventListener('click', async () => {
    clearErrors(form);
    confirmBox.hidden = true;
    const r = await api('DELETE', apiPath('/roles/', id), { ifMatch: role.version, keepPage: true });
    if (r.status === 401) {
      sessionEnded(form);
      return;
    }
    if (!r.ok) {
      showProblem(form, r);
      return;
    }
    forgetRoles();
    flash(`Deleted the role ${role.name}.`);
    location.hash = '#/roles';
  });
  main.replaceChildren(h('p', null, h('a', { href: '#/roles' }, '← Roles and Permissions')), h('h1', { tabindex: '-1' }, title), form);
  restoreDraft(form);
}
