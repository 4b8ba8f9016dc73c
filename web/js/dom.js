// Tiny DOM builder. Everything that comes from outside is set with textContent, never innerHTML.
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
  0: 'The server cannot be reached. Check your connection; the app keeps trying.',
  401: 'Your session has ended. Please log in again.',
  403: 'You do not have permission to do that.',
  404: 'That item no longer exists, or you cannot see it.',
  413: 'That is too large to send.',
  429: 'Too many attempts. Wait a moment and try again.',
};

/** "config.bot_token: expected …" → "Bot token: expected …" (labels: field key → name). */
function humanField(message, labels) {
  const m = /^([A-Za-z_][\w.[\]]*):\s*(.*)$/s.exec(message || '');
  if (!m) return message;
  const path = m[1].replace(/^(config|body)\./, '');
  const key = path.replace(/\[\d+\]/g, '');
  // the longest known prefix names it: "pre_chat.fields.options" → the "Pre-chat form" field
  const parts = key.split('.');
  let name = null;
  for (let n = parts.length; n > 0 && !name; n -= 1) name = labels && labels[parts.slice(0, n).join('.')];
  name = name || parts[parts.length - 1].replace(/_/g, ' ');
  const Name = `${name[0].toUpperCase()}${name.slice(1)}`;
  let detail = m[2].trim().replace(/\.$/, '');
  if (/^expected /.test(detail)) {
    detail = detail.replace(/^expected /, '').replace(/, got (.*)$/, ' (not $1)');
    return `${Name} should be ${detail}.`;
  }
  if (/^(required|needed)\b/.test(detail)) return `${Name} is ${detail}.`;
  return `${Name}: ${detail}.`;
}

/** The server's field checks (pydantic) in plain words. */
function pydanticText(message) {
  const rules = [
    [/^Field required$/, 'required'],
    [/^String should match pattern/, 'not in the expected format'],
    [/^String should have at least (\d+) characters?$/, 'too short: at least $1 characters are needed'],
    [/^String should have at most (\d+) characters?$/, 'too long: at most $1 characters'],
    [/^Input should be a valid integer.*$/, 'expected a whole number'],
    [/^Input should be a valid number.*$/, 'expected a number'],
    [/^Input should be (.*)$/, 'expected $1'],
    [/^Extra inputs are not permitted$/, 'not something this form accepts'],
  ];
  for (const [re, text] of rules) if (re.test(message)) return message.replace(re, text);
  return message;
}

/** A sentence a person can act on, for any error: never a stack trace or a JS message. */
export function errorText(err, labels) {
  if (!err || typeof err.status !== 'number') {
    console.warn('Unexpected error in the page', err); // the detail stays in devtools
    return 'Something went wrong on this page. Reload it if this keeps happening.';
  }
  if (err.status >= 500) return 'The server had a problem with that. Please try again in a moment.';
  if (BY_STATUS[err.status] && !(err.status === 404 && err.message)) return BY_STATUS[err.status];
  const first = Array.isArray(err.details) && err.details[0];
  if (first && first.field !== undefined && first.message) {
    return humanField(`${first.field}: ${pydanticText(first.message)}`, labels);
  }
  return humanField(err.message, labels) || 'That did not work. Please check and try again.';
}
