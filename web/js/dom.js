// Tiny DOM builder. Everything that comes from outside is set with textContent, never innerHTML.
import { t, tn } from './i18n.js';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export function option(value, label, selected) {
  return h('option', { value: String(value), selected: Boolean(selected), text: label });
}

// At most this many toasts at once: a burst (an outage, a bulk change) must not bury the page.
const MAX_TOASTS = 3;
const TOAST_MS = 5000;

/** A live region announcement plus a short-lived visible toast. The same text is shown once. */
export function toast(message, kind = 'info') {
  if (kind === 'error') console.error(`UI error: ${message}`); // visible to tests and devtools
  const host = document.getElementById('toasts');
  if (!host) return;
  for (const old of host.children) if (old.textContent === message) return;
  while (host.children.length >= MAX_TOASTS) host.firstElementChild.remove();
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', text: message });
  host.appendChild(el);
  setTimeout(() => el.remove(), TOAST_MS);
}

/** Toasts belong to the page they were raised on: called when the route changes. */
export function clearToasts() {
  const host = document.getElementById('toasts');
  if (host) clear(host);
}

const BY_STATUS = {
  0: 'error.offline',
  401: 'error.session',
  403: 'error.forbidden',
  404: 'error.gone',
  413: 'error.tooLarge',
  429: 'error.tooMany',
};

/** "config.bot_token" → the field's name a person reads (labels: field key → name). */
function fieldName(path, labels) {
  const key = path.replace(/^(config|body)\./, '').replace(/\[\d+\]/g, '');
  // the longest known prefix names it: "pre_chat.fields.options" → the "Pre-chat form" field
  const parts = key.split('.');
  let name = null;
  for (let n = parts.length; n > 0 && !name; n -= 1) name = labels && labels[parts.slice(0, n).join('.')];
  name = name || parts[parts.length - 1].replace(/_/g, ' ');
  return `${name[0].toUpperCase()}${name.slice(1)}`;
}

/** "config.bot_token: expected …" → "Bot token should be …" in the chosen language. */
function humanField(message, labels) {
  const m = /^([A-Za-z_][\w.[\]]*):\s*(.*)$/s.exec(message || '');
  if (!m) return message;
  const name = fieldName(m[1], labels);
  const detail = m[2].trim().replace(/\.$/, '');
  if (/^expected /.test(detail)) {
    return t('error.shouldBe', { name, detail: detail.replace(/^expected /, '').replace(/, got (.*)$/, ' (not $1)') });
  }
  if (/^(required|needed)$/.test(detail)) return t('error.required', { name });
  return t('error.fieldDetail', { name, detail });
}

/** The server's field checks (pydantic) as sentences in the chosen language. */
const FIELD_RULES = [
  [/^Field required$/, (name) => t('error.required', { name })],
  [/^String should match pattern/, (name) => t('error.pattern', { name })],
  [/^String should have at least (\d+) characters?$/, (name, n) => tn('error.tooShort', Number(n), { name })],
  [/^String should have at most (\d+) characters?$/, (name, n) => tn('error.tooLong', Number(n), { name })],
  [/^Input should be a valid integer/, (name) => t('error.wholeNumber', { name })],
  [/^Input should be a valid number/, (name) => t('error.number', { name })],
  [/^Input should be (.*)$/, (name, detail) => t('error.shouldBe', { name, detail })],
  [/^Extra inputs are not permitted$/, (name) => t('error.extra', { name })],
];

function pydanticText(field, message, labels) {
  const name = fieldName(String(field), labels);
  for (const [re, say] of FIELD_RULES) {
    const m = re.exec(message);
    if (m) return say(name, m[1]);
  }
  return t('error.fieldDetail', { name, detail: message.replace(/\.$/, '') });
}

/** A sentence a person can act on, for any error: never a stack trace or a JS message. */
export function errorText(err, labels) {
  if (!err || typeof err.status !== 'number') {
    console.warn('Unexpected error in the page', err); // the detail stays in devtools
    return t('error.page');
  }
  if (err.status >= 500) return t('error.server');
  if (BY_STATUS[err.status] && !(err.status === 404 && err.message)) return t(BY_STATUS[err.status]);
  const first = Array.isArray(err.details) && err.details[0];
  if (first && first.field !== undefined && first.message) return pydanticText(first.field, first.message, labels);
  return humanField(err.message, labels) || t('error.generic');
}
