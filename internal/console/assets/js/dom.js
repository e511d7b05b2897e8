// Small helpers to build the pages with the DOM alone: no HTML strings,
// so nothing a user typed is ever read as markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

let seq = 0;

// field builds a labelled control with its hint and the place its error
// is shown. name is the API's field name, so a problem's errors find it.
export function field({ name, label, type = 'text', value = '', options = [], hint, required, autocomplete, inputmode }) {
  const id = `f-${name.replace(/[^a-zA-Z0-9]/g, '-')}-${++seq}`;
  const errId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  let control;
  if (type === 'select') {
    control = h('select', { id, name }, options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
  } else if (type === 'checkbox') {
    control = h('input', { id, name, type: 'checkbox', checked: !!value });
  } else if (type === 'textarea') {
    control = h('textarea', { id, name, rows: 3 }, value);
  } else {
    control = h('input', { id, name, type, value, autocomplete, inputmode, required: !!required, spellcheck: type === 'text' ? 'false' : null });
  }
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  const labelEl = h('label', { for: id }, label, required ? h('span', { 'aria-hidden': 'true' }, ' *') : null);
  const wrap = type === 'checkbox'
    ? h('div', { class: 'field', 'data-field': name }, h('div', { class: 'field inline' }, control, labelEl),
      hint && h('p', { class: 'hint', id: hintId }, hint), h('p', { class: 'error', id: errId }))
    : h('div', { class: 'field', 'data-field': name }, labelEl, control,
      hint && h('p', { class: 'hint', id: hintId }, hint), h('p', { class: 'error', id: errId }));
  return { wrap, control };
}

// clearErrors empties every error shown in form.
export function clearErrors(form) {
  form.querySelectorAll('.session-ended, .draft-restored').forEach((e) => e.remove());
  form.querySelectorAll('.error').forEach((e) => { e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const alert = form.querySelector('.alert');
  if (alert) alert.replaceChildren();
}

// showProblem puts a problem+json answer on form: each field error next
// to its field, the rest at the top. The values typed stay as they are.
export function showProblem(form, res) {
  clearErrors(form);
  const p = res.body || {};
  const alert = form.querySelector('.alert');
  const loose = [];
  let first = null;
  for (const e of p.errors || []) {
    const slot = findField(form, e.field);
    if (!slot) { loose.push(`${e.field}: ${e.message}`); continue; }
    const err = slot.querySelector('.error');
    err.textContent = err.textContent ? `${err.textContent} ${sentence(e.message)}` : sentence(e.message);
    const control = slot.querySelector('input, select, textarea');
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      first = first || control;
    }
  }
  const lines = [];
  if (!(p.errors && p.errors.length) || loose.length) lines.push(p.detail || p.title || `The server answered ${res.status}.`);
  lines.push(...loose);
  if (p.errors && p.errors.length && !loose.length) lines.unshift(`${p.errors.length === 1 ? 'One field needs' : `${p.errors.length} fields need`} attention: see below.`);
  if (alert) {
    alert.replaceChildren(...lines.map((l) => h('p', null, l)));
    alert.setAttribute('role', 'alert');
  }
  (first || alert)?.focus?.();
}

function findField(form, name) {
  if (!name) return null;
  let n = name;
  for (;;) {
    const slot = form.querySelector(`[data-field="${CSS.escape(n)}"]`);
    if (slot) return slot;
    const dot = Math.max(n.lastIndexOf('.'), n.lastIndexOf('['));
    if (dot <= 0) return null;
    n = n.slice(0, dot);
  }
}

function sentence(msg) {
  const s = String(msg || '');
  return s ? s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : s;
}

export const statusLabels = {
  introduction: 'Introduction Mode',
  releasing: 'Releasing',
  invited: 'Invited',
  active: 'Active',
  suspended: 'Suspended',
  release_failed: 'Release failed',
};

export function badge(status) {
  return h('span', { class: `badge ${status}` }, statusLabels[status] || status);
}

export function fullName(u) {
  return `${u.firstName} ${u.lastName}`.trim() || u.email;
}

export function when(t) {
  if (!t) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

let flashText = '';

// flash shows message on the next page drawn (and announces it).
export function flash(message) { flashText = message; }

export function showFlash() {
  const el = document.getElementById('flash');
  el.replaceChildren();
  if (flashText) el.append(h('p', { class: 'notice' }, flashText));
  flashText = '';
}
