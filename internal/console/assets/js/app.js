// The console's entry point: configuration, session, and the pages, one
// per address after the '#' (so every page is a link and Back works).
import { base, init, session, signInPage, signOut } from './auth.js';
import { h, showFlash } from './dom.js';
import { usersPage, createUserPage } from './users.js';
import { userPage, editUserPage } from './user.js';
import { rolesPage, roleFormPage } from './roles.js';

const main = document.getElementById('main');

// Each page draws into a view of main; the pages' data arrive in any
// order.
const routes = [
  [/^\/users$/, (view, q) => usersPage(view, q)],
  [/^\/users\/new$/, (view) => createUserPage(view)],
  [/^\/users\/([^/]+)\/edit$/, (view, q, id) => editUserPage(view, id)],
  [/^\/users\/([^/]+)$/, (view, q, id) => userPage(view, id)],
  [/^\/roles$/, (view) => rolesPage(view)],
  [/^\/roles\/new$/, (view) => roleFormPage(view, null)],
  [/^\/roles\/([^/]+)$/, (view, q, id) => roleFormPage(view, id)],
];

let renders = 0;

// viewFor is main for the render numbered n: once a newer render has
// started (the address changed again, or the session did), what an older,
// slower page draws is dropped, so it never covers the newer page.
function viewFor(n) {
  const current = () => n === renders;
  return {
    current,
    replaceChildren(...nodes) { if (current()) main.replaceChildren(...nodes); },
    setTitle(t) { if (current()) document.title = t; },
  };
}

let signInMessage = '';

function chrome() {
  const s = session();
  document.getElementById('nav').hidden = !s;
  document.getElementById('who').hidden = !s;
  document.getElementById('who-name').textContent = s ? `Signed in as ${s.who}` : '';
}

async function render() {
  const view = viewFor(++renders);
  chrome();
  if (!session()) {
    signInPage(main, signInMessage);
    signInMessage = '';
    return;
  }
  const [path, query] = (location.hash.slice(1) || '/users').split('?');
  const q = new URLSearchParams(query || '');
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (path.startsWith(`/${a.dataset.nav}`)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const found = routes.find(([re]) => re.test(path));
  if (!found) {
    location.replace('#/users');
    return;
  }
  const [, ...params] = path.match(found[0]);
  try {
    await found[1](view, q, ...params.map(decodeURIComponent));
  } catch (e) {
    if (!view.current()) return;
    const detail = e?.body?.detail || e?.message || `The server answered ${e?.status}.`;
    const notManager = e?.status === 403 && !path.includes('/', 1);
    main.replaceChildren(h('h1', { tabindex: '-1' }, notManager ? 'Only managers can use the console' : 'This page could not be shown'),
      h('p', { class: 'alert', role: 'alert' }, detail),
      notManager
        ? h('p', null, 'Managing users needs an active account with the users.manage permission. Sign out, and sign in as a manager, or ask one.')
        : h('p', null, h('a', { href: '#/users' }, 'Back to Users')));
  }
  if (!view.current()) return;
  showFlash();
  // Tell assistive technology a new page is shown.
  main.querySelector('h1')?.focus();
}

async function start() {
  document.getElementById('signout').addEventListener('click', signOut);
  // The pages' addresses are after the '#': the skip link moves focus
  // instead of changing the address.
  document.querySelector('.skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
  let cfg = { signIn: 'local' };
  try {
    const r = await fetch(`${base}/console/config.json`, { cache: 'no-store' });
    if (r.ok) cfg = await r.json();
  } catch { /* local defaults */ }
  try {
    await init(cfg, (message) => { signInMessage = message || ''; render(); });
  } catch (e) {
    signInMessage = e.message;
  }
  window.addEventListener('hashchange', render);
  render();
}

start();
