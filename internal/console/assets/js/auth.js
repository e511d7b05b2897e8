// Signing the manager in and out. The session (the ID token and who it
// is) lives in this tab's sessionStorage only: never in a URL, a cookie
// or a log. Local mode signs in with the local logins (or the
// administrator's token that `make run` prints); AWS with Cognito managed
// login, authorization code flow with PKCE.
import { h, field, clearErrors } from './dom.js';

// base is where the API is: the console is served beside it, at /console.
export const base = location.pathname.replace(/\/console(\/.*)?$/, '');

const SESSION = 'opsos.console.session';
const PKCE = 'opsos.console.pkce';

let config = { signIn: 'local' };
let onChange = () => {};

export function session() {
  try { return JSON.parse(sessionStorage.getItem(SESSION) || 'null'); } catch { return null; }
}

export function token() { return session()?.token || ''; }

function save(s) {
  sessionStorage.setItem(SESSION, JSON.stringify(s));
  onChange();
}

// expired ends a session the API no longer accepts.
export function expired() {
  if (!session()) return;
  sessionStorage.removeItem(SESSION);
  onChange('Your session has ended: sign in again.');
}

// Drafts: what the manager changed in a form, kept in this tab while
// they sign in again, under the page's address, and put back when the
// page is drawn. Only the controls changed from what the page drew are
// kept, so a fresh copy of what is saved shows under the changes. A form
// that edits a saved copy names its version in data-version.
const DRAFT = 'opsos.console.draft:';

function draftControls(form) {
  return [...form.elements].filter((el) => el.matches('input, select, textarea') && el.type !== 'password');
}

function changed(el) {
  if (el.type === 'checkbox' || el.type === 'radio') return el.checked !== el.defaultChecked;
  if (el.tagName === 'SELECT') return [...el.options].some((o) => o.selected !== o.defaultSelected);
  return el.value !== el.defaultValue;
}

function saveDraft(form) {
  const fields = draftControls(form).map((el, i) => ({ i, k: el.name || el.id, v: el.value, c: el.checked, changed: changed(el) }))
    .filter((f) => f.changed);
  sessionStorage.setItem(DRAFT + location.hash, JSON.stringify({ form: form.id, version: form.dataset.version, fields }));
}

function forgetDrafts() {
  for (const k of Object.keys(sessionStorage)) if (k.startsWith(DRAFT)) sessionStorage.removeItem(k);
}

// restoreDraft puts back into form what was changed in it on this page
// before signing in again, and says so; it answers whether it did.
export function restoreDraft(form) {
  const key = DRAFT + location.hash;
  let draft = null;
  try { draft = JSON.parse(sessionStorage.getItem(key) || 'null'); } catch { /* none */ }
  if (!draft || draft.form !== form.id || !form.isConnected) return false;
  sessionStorage.removeItem(key);
  const els = draftControls(form);
  for (const f of draft.fields) {
    const el = els[f.i];
    if (!el || (el.name || el.id) !== f.k) continue;
    if (el.type === 'checkbox' || el.type === 'radio') el.checked = f.c;
    else el.value = f.v;
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }
  const since = draft.version !== form.dataset.version;
  form.prepend(h('p', { class: 'notice draft-restored', role: 'status', id: 'draft-restored' }, since
    ? 'Someone else saved this since you started: the form shows what is saved now, with your changes back on top. Check it, then save.'
    : 'What you typed before signing in again is back in the form: check it, then save.'));
  return true;
}

// sessionEnded tells, next to form's buttons, that the API refused the
// session when the form was sent: nothing was saved, and what was typed
// stays. "Sign in again" keeps the form's values for after the sign-in.
export function sessionEnded(form) {
  form.querySelectorAll('.session-ended').forEach((e) => e.remove());
  const again = h('button', { type: 'button', class: 'primary', id: 'sign-in-again' }, 'Sign in again');
  again.addEventListener('click', () => {
    saveDraft(form);
    sessionStorage.removeItem(SESSION);
    onChange('Your session had ended. Sign in again: what you typed will be back in the form.');
  });
  const box = h('div', { class: 'alert session-ended', role: 'alert', tabindex: '-1', id: 'session-ended' },
    h('p', null, h('strong', null, 'Your session has ended, so nothing was saved.'), ' What you typed is still in the form.'),
    h('div', { class: 'actions' }, again));
  const actions = [...form.children].filter((c) => c.classList.contains('actions')).pop();
  form.insertBefore(box, actions || null);
  box.focus();
}

export function signOut() {
  sessionStorage.removeItem(SESSION);
  forgetDrafts();
  if (config.signIn === 'cognito') {
    const u = new URL(`${config.cognitoDomain}/logout`);
    u.search = new URLSearchParams({ client_id: config.clientId, logout_uri: consoleURL() });
    location.assign(u);
    return;
  }
  onChange('You are signed out.');
}

// consoleURL is the console's address, registered on the app client as
// its sign-in callback and sign-out URL.
function consoleURL() {
  return `${location.origin}${base}/console`;
}

// init reads the configuration and finishes a managed login coming back
// with its code. changed is called whenever the session starts or ends.
export async function init(cfg, changed) {
  config = cfg;
  onChange = changed;
  if (cfg.signIn !== 'cognito') return;
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error') && !params.has('state')) return;
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || 'null');
  sessionStorage.removeItem(PKCE);
  // Only an answer to the sign-in this tab started is read: anyone can
  // send a manager a link to /console?error=…, but not with our state.
  const ours = !!saved && !!params.get('state') && saved.state === params.get('state');
  // The code or error leaves the address bar (and history) at once, whatever it was.
  history.replaceState(null, '', location.pathname + (ours && saved.back ? saved.back : '#/users'));
  if (!ours) throw new Error('That sign-in was not started from this page: sign in again.');
  // The address's error_description is never shown: it is whatever the link says.
  if (params.has('error')) throw new Error((Object.hasOwn(oauthErrors, params.get('error')) && oauthErrors[params.get('error')]) || 'Sign-in did not complete: sign in again.');
  if (!params.get('code')) throw new Error('Sign-in did not complete: sign in again.');
  const r = await fetch(`${cfg.cognitoDomain}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: cfg.clientId, code: params.get('code'), redirect_uri: consoleURL(), code_verifier: saved.verifier }),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok || !j.id_token) throw new Error(`Sign-in could not be completed (${j.error || r.status}): sign in again.`);
  const claims = jwtClaims(j.id_token);
  save({ token: j.id_token, who: claims.email || 'signed in', expires: claims.exp ? claims.exp * 1000 : 0 });
}

// oauthErrors are what the console says for the authorization
// endpoint's error codes (RFC 6749 §4.1.2.1).
const oauthErrors = {
  access_denied: 'Sign-in was cancelled or refused: sign in again, or ask an administrator for access.',
  temporarily_unavailable: 'The sign-in service is busy: try again in a minute.',
  server_error: 'The sign-in service had a problem: try again in a minute.',
  invalid_request: 'Sign-in could not start: the console is not set up for it. Tell an administrator.',
  unauthorized_client: 'Sign-in could not start: the console is not set up for it. Tell an administrator.',
  unsupported_response_type: 'Sign-in could not start: the console is not set up for it. Tell an administrator.',
  invalid_scope: 'Sign-in could not start: the console is not set up for it. Tell an administrator.',
};

function jwtClaims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch { return {}; }
}

function b64url(buf) {
  return btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function startManagedLogin() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, back: location.hash }));
  const u = new URL(`${config.cognitoDomain}/oauth2/authorize`);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: config.clientId, redirect_uri: consoleURL(), scope: 'openid email profile',
    state, code_challenge: challenge, code_challenge_method: 'S256',
  });
  location.assign(u);
}

// signInPage draws the sign-in into main.
export function signInPage(main, message) {
  document.title = 'Sign in · OpsOS';
  // replaceChildren writes null as the text "null": no message, no node.
  const notes = message ? [h('p', { class: 'notice', role: 'status' }, message)] : [];
  if (config.signIn === 'cognito') {
    main.replaceChildren(h('h1', { tabindex: '-1' }, 'Sign in to OpsOS'), ...notes,
      h('p', null, 'Managers sign in with their OpsOS account to manage users.'),
      h('button', { type: 'button', class: 'primary', id: 'signin-button', onclick: startManagedLogin }, 'Sign in'));
    return;
  }
  main.replaceChildren(h('h1', { tabindex: '-1' }, 'Sign in to OpsOS'), ...notes, localForms());
}

async function post(path, body) {
  let r;
  try {
    r = await fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    return { status: 0, body: { message: `The API could not be reached (${e.message}): check the connection, then try again.` } };
  }
  return { status: r.status, body: await r.json().catch(() => ({})) };
}

function localForms() {
  const email = field({ name: 'email', label: 'Email', type: 'email', autocomplete: 'username', required: true });
  const password = field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true });
  const alert = h('div', { class: 'alert', tabindex: '-1' });
  const signin = h('form', { class: 'card', id: 'signin', novalidate: true }, h('h2', null, 'With your email and password'), alert, email.wrap, password.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'signin-button' }, 'Sign in')));
  let sessionID = '';
  const newPw = field({ name: 'newPassword', label: 'New password', type: 'password', autocomplete: 'new-password', required: true,
    hint: 'At least 12 characters, with upper- and lower-case letters, a digit and a symbol.' });
  const again = field({ name: 'confirm', label: 'Repeat the new password', type: 'password', autocomplete: 'new-password', required: true });
  const alert2 = h('div', { class: 'alert', tabindex: '-1' });
  const challenge = h('form', { class: 'card', id: 'newpassword', novalidate: true, hidden: true },
    h('h2', null, 'Choose your own password'), h('p', null, 'The temporary password works only once: choose your own before you do anything else.'),
    alert2, newPw.wrap, again.wrap, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Set password and sign in')));
  const fail = (a, msg) => { a.replaceChildren(h('p', null, msg)); a.setAttribute('role', 'alert'); a.focus(); };
  const done = (tokens) => save({ token: tokens.idToken, who: email.control.value.trim(), expires: Date.now() + tokens.expiresIn * 1000 });
  signin.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(signin);
    const r = await post('/_local/auth/initiate', { email: email.control.value.trim(), password: password.control.value });
    if (r.status !== 200) { fail(alert, r.body.message || 'Sign-in failed.'); return; }
    if (r.body.challengeName === 'NEW_PASSWORD_REQUIRED') {
      sessionID = r.body.session;
      signin.hidden = true;
      challenge.hidden = false;
      newPw.control.focus();
      return;
    }
    done(r.body.tokens);
  });
  challenge.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(challenge);
    if (newPw.control.value !== again.control.value) { fail(alert2, 'The two passwords differ.'); return; }
    const r = await post('/_local/auth/respond', { email: email.control.value.trim(), session: sessionID, newPassword: newPw.control.value });
    if (r.status !== 200) { fail(alert2, r.body.message || 'The password was not accepted.'); return; }
    done(r.body.tokens);
  });

  const tok = field({ name: 'token', label: 'Administrator token', type: 'password', autocomplete: 'off', required: true,
    hint: 'make run prints it at start (export OPSOS_TOKEN=…).' });
  const alert3 = h('div', { class: 'alert', tabindex: '-1' });
  const admin = h('form', { class: 'card', id: 'token-signin', novalidate: true }, h('h2', null, 'Or with the administrator’s token'), alert3, tok.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'token-button' }, 'Sign in with the token')));
  admin.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(admin);
    const value = tok.control.value.trim();
    // The token signs in only once the API has answered a request with it.
    let r;
    try {
      r = await fetch(`${base}/roles`, { headers: { Authorization: `Bearer ${value}` }, cache: 'no-store', credentials: 'omit' });
    } catch (e) {
      fail(alert3, `The API could not be reached (${e.message}): check that make run is still running, then try again.`);
      return;
    }
    if (r.status === 401) { fail(alert3, 'That token is not accepted: copy it again from make run’s output.'); return; }
    if (r.status === 403) { fail(alert3, 'That token may not manage users: sign in with the administrator’s token or a manager’s account.'); return; }
    if (!r.ok) { fail(alert3, `The API answered ${r.status}, so the token could not be checked: try again.`); return; }
    save({ token: value, who: 'the administrator (token)', expires: 0 });
  });
  return h('div', null, signin, challenge, admin);
}
