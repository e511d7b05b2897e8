// The HTTP API, called with the signed-in manager's token. The console is
// served beside the API, so its routes are relative to where it runs.
import { base, token, expired } from './auth.js';

// api calls the API and answers {status, ok, body, etag}; a problem's
// body is the problem document. A 401 ends the session, unless keepPage
// says the page (a form being sent) tells the manager itself.
export async function api(method, path, { body, ifMatch, headers: extra, keepPage } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch != null) headers['If-Match'] = `"${ifMatch}"`;
  let r;
  try {
    r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    return { status: 0, ok: false, body: { detail: `The API could not be reached (${e.message}). Check the connection and try again.` } };
  }
  const text = await r.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (r.status === 401 && !keepPage) expired();
  return { status: r.status, ok: r.ok, body: data, etag: r.headers.get('ETag') };
}

export function apiPath(...parts) {
  return parts.map((p, i) => (i % 2 ? encodeURIComponent(p) : p)).join('');
}

let roles = null;

// catalogue answers GET /roles, read once and kept until a role changes.
export async function catalogue() {
  if (!roles) {
    roles = api('GET', '/roles').then((r) => {
      if (!r.ok) { roles = null; throw r; }
      return r.body;
    });
  }
  return roles;
}

export function forgetRoles() { roles = null; }

// effective is what a user with these settings may do, as the API
// computes it: the role's permissions, plus grants, minus revokes, plus
// the external access flags' views.
export function effective(cat, { role, grant, revoke, type, externalPlannerAccess, externalPurchasingAccess }) {
  const r = cat.roles.find((x) => x.id === role);
  const set = new Set(r ? r.permissions : []);
  grant.forEach((p) => set.add(p));
  revoke.forEach((p) => set.delete(p));
  if (type === 'external') {
    if (externalPlannerAccess) set.add('planner.view');
    if (externalPurchasingAccess) set.add('purchasing.view');
  }
  return cat.permissions.map((p) => p.name).filter((p) => set.has(p));
}
