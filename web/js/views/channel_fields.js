// Settings fields per channel kind, as form controls (never raw JSON). Secrets are write-only:
// the server only says whether each is set, so the form offers a "replace" field and never
// shows a value. Each row: [key (dots for nested), label, type, extra, {required, hint}].
import { h, option } from '../dom.js';

const SECURITY_IMAP = [['ssl', 'SSL/TLS (port 993)'], ['none', 'None (port 143, unencrypted)']];
const SECURITY_SMTP = [['starttls', 'STARTTLS (port 587)'], ['ssl', 'SSL/TLS (port 465)'], ['none', 'None (port 25, unencrypted)']];
const META_SECRETS = [
  ['access_token', 'Access token', 'secret', null, { required: true }],
  ['app_secret', 'App secret', 'secret', null, { required: true, hint: 'Used to verify the signature of every webhook call.' }],
  ['verify_token', 'Verify token', 'secret', null, { required: true, hint: 'Any phrase; type the same in the Meta app\'s webhook settings.' }],
];

export const CHANNEL_FIELDS = {
  email: [
    ['address', 'Inbox address', 'email', null, { required: true, hint: 'Customers write to this address; replies come from it.' }],
    ['from_name', 'From name', 'text'],
    ['imap_host', 'IMAP host', 'text', null, { hint: 'Leave empty to receive mail only through the SMTP endpoint.' }],
    ['imap_port', 'IMAP port', 'number'],
    // aioimaplib has no STARTTLS (adapters/email/config.py): only what the server accepts.
    ['imap_security', 'IMAP security', 'select', SECURITY_IMAP],
    ['imap_username', 'IMAP username', 'text', null, { hint: 'Defaults to the inbox address.' }],
    ['imap_password', 'IMAP password', 'secret'],
    ['imap_mailbox', 'IMAP mailbox', 'text', null, { hint: 'Defaults to INBOX.' }],
    ['smtp_host', 'SMTP host', 'text'], ['smtp_port', 'SMTP port', 'number'],
    ['smtp_security', 'SMTP security', 'select', SECURITY_SMTP],
    ['smtp_username', 'SMTP username', 'text'], ['smtp_password', 'SMTP password', 'secret'],
  ],
  webchat: [
    ['appearance.title', 'Widget title', 'text'], ['appearance.color', 'Colour', 'color'],
    ['appearance.position', 'Launcher position', 'select', [['right', 'Bottom right'], ['left', 'Bottom left']]],
    ['appearance.greeting', 'Greeting', 'text'], ['appearance.reply_time', 'Reply-time text', 'text'],
    ['appearance.offline_message', 'Offline message', 'text', null, { hint: 'Shown in the header while nobody is available.' }],
    ['allowed_origins', 'Allowed origins', 'list', null, { hint: 'One origin per line, e.g. https://shop.example. Empty: any site may embed the widget.' }],
    ['pre_chat', 'Pre-chat form', 'prechat'],
    ['email_continuity.enabled', 'Email replies the visitor missed', 'checkbox', null, { hint: 'Needs an email inbox below; the visitor must have given an email address.' }],
    ['email_continuity.email_inbox_id', 'Send them from', 'inbox', 'email'],
    ['email_continuity.after_minutes', 'After (minutes unseen)', 'number'],
    ['attachments.max_bytes', 'Largest attachment (bytes)', 'number', null, { hint: '0 turns attachments off; at most 10485760 (10 MiB).' }],
    ['attachments.types', 'Allowed file types', 'list', null, { hint: 'One MIME type per line, e.g. image/png.' }],
    ['identity_verification', 'Identity verification', 'select', [['off', 'Off'], ['optional', 'Optional'], ['required', 'Required']]],
    ['hmac_secret', 'Identity HMAC secret', 'secret'],
  ],
  telegram: [
    ['mode', 'Mode', 'select', [['webhook', 'Webhook (Telegram calls us)'], ['polling', 'Long polling (we ask Telegram)']]],
    ['bot_token', 'Bot token', 'secret', null, { required: true, hint: 'As given by @BotFather: 123456:ABC…' }],
    ['secret_token', 'Webhook secret token', 'secret', null, { hint: 'Needed in webhook mode: letters, digits, _ and -.' }],
  ],
  messenger: [['page_id', 'Page id', 'text', null, { required: true }], ...META_SECRETS],
  instagram: [['ig_account_id', 'Instagram account id', 'text', null, { required: true }], ...META_SECRETS],
  whatsapp: [['phone_number_id', 'Phone number id', 'text', null, { required: true }], ...META_SECRETS],
  api: [
    ['webhook_url', 'Webhook URL (outbound)', 'url'],
    ['inbound_token', 'Inbound token', 'secret'], ['webhook_secret', 'Webhook signing secret', 'secret'],
  ],
};

/** Field key → the label a person reads (for error messages that name a field). */
export function fieldLabels(kind) {
  const labels = {};
  for (const [key, label] of CHANNEL_FIELDS[kind] || []) labels[key] = label;
  return labels;
}

export function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
}

export function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}

const FIELD_TYPES = [['text', 'Text'], ['email', 'Email'], ['tel', 'Phone'], ['textarea', 'Long text'], ['select', 'Choice'], ['checkbox', 'Checkbox']];

/** The pre-chat form as rows of inputs: one row per field the visitor fills in. */
function preChatEditor(fid, value) {
  const v = value || { enabled: false, fields: [] };
  const enabled = h('input', { type: 'checkbox', id: `${fid}-enabled`, checked: Boolean(v.enabled) });
  const body = h('tbody');
  const addRow = (f) => {
    const name = h('input', { class: 'pc-name', value: f.name || '', 'aria-label': 'Field name', placeholder: 'email', pattern: '[a-z][a-z0-9_]*', size: 10 });
    const label = h('input', { class: 'pc-label', value: f.label || '', 'aria-label': 'Label shown', placeholder: 'Your email', size: 14 });
    const type = h('select', { class: 'pc-type', 'aria-label': 'Type' }, FIELD_TYPES.map(([t, l]) => option(t, l, t === (f.type || 'text'))));
    const required = h('input', { type: 'checkbox', class: 'pc-required', 'aria-label': 'Required', checked: Boolean(f.required) });
    const options = h('input', { class: 'pc-options', value: (f.options || []).join(', '), 'aria-label': 'Choices (comma-separated)', placeholder: 'for a choice', size: 12 });
    const row = h('tr', {}, h('td', {}, name), h('td', {}, label), h('td', {}, type), h('td', {}, required), h('td', {}, options),
      h('td', {}, h('button', { type: 'button', class: 'small ghost', text: 'Remove', onclick: () => { row.remove(); } })));
    body.append(row);
  };
  for (const f of v.fields || []) addRow(f);
  const el = h('div', { class: 'prechat', id: fid },
    h('label', { class: 'check' }, enabled, h('span', { text: 'Ask visitors these questions before the chat starts' })),
    h('div', { class: 'table-scroll' }, h('table', { class: 'data compact' },
      h('thead', {}, h('tr', {}, ['Name', 'Label', 'Type', 'Required', 'Choices', ''].map((t) => h('th', { scope: 'col', text: t })))), body)),
    h('button', { type: 'button', class: 'small', id: `${fid}-add`, text: '+ Add a question', onclick: () => addRow({}) }));
  el.read = () => ({
    enabled: enabled.checked,
    fields: [...body.rows].map((r) => {
      const q = (s) => r.querySelector(s);
      const f = { name: q('.pc-name').value.trim(), type: q('.pc-type').value, required: q('.pc-required').checked };
      if (q('.pc-label').value.trim()) f.label = q('.pc-label').value.trim();
      const opts = q('.pc-options').value.split(',').map((s) => s.trim()).filter(Boolean);
      if (opts.length) f.options = opts;
      return f;
    }).filter((f) => f.name),
  });
  return el;
}

function control(fid, type, extra, value, ctx) {
  if (type === 'select') {
    return h('select', { id: fid }, option('', 'Default', value === undefined || value === null),
      extra.map(([v, l]) => option(v, l, v === value)));
  }
  if (type === 'inbox') {
    const choices = (ctx.inboxes || []).filter((i) => i.kind === extra);
    return h('select', { id: fid }, option('', choices.length ? 'Choose an email inbox' : 'No email inbox yet', !value),
      choices.map((i) => option(i.id, i.name, i.id === value)));
  }
  if (type === 'list') return h('textarea', { id: fid, rows: 3, value: (value || []).join('\n') });
  if (type === 'color') return h('input', { type: 'color', id: fid, value: value || '#1f6feb' });
  if (type === 'checkbox') return h('input', { type: 'checkbox', id: fid, checked: value === undefined ? false : Boolean(value) });
  if (type === 'prechat') return preChatEditor(fid, value);
  const input = { number: 'number', email: 'email', url: 'url' }[type] || 'text';
  return h('input', { type: input, id: fid, value: value ?? '' });
}

function read(type, el) {
  if (type === 'prechat') return el.read();
  if (type === 'checkbox') return el.checked;
  if (type === 'number' || type === 'inbox') return el.value === '' ? null : Number(el.value);
  if (type === 'list') return el.value.split('\n').map((s) => s.trim()).filter(Boolean);
  if (type === 'select') return el.value === '' ? null : el.value;
  return el.value.trim();
}

/** The channel's fields as labelled controls. prefix keeps ids unique per form ('cfg', 'new-cfg').
 * collect(onlyChanged) gives the config to send: nested keys carry their whole object. */
export function channelForm(kind, { config = {}, secretsSet = {}, prefix = 'cfg', inboxes = [] } = {}) {
  const grid = [];
  const controls = [];
  for (const [key, label, type, extra, opts = {}] of CHANNEL_FIELDS[kind] || []) {
    const fid = `${prefix}-${key.replace(/\./g, '-')}`;
    const value = getPath(config, key);
    let el;
    if (type === 'secret') {
      const set = Boolean(secretsSet[key]);
      el = h('input', { type: 'password', id: fid, autocomplete: 'new-password', required: opts.required && !set,
        placeholder: set ? 'Leave blank to keep' : 'Not set' });
      grid.push(h('label', { for: fid }, label, prefix === 'cfg'
        ? h('span', { class: `secret-state ${set ? 'set' : 'unset'}`, text: set ? '● set' : '○ not set' }) : null), el);
    } else {
      el = control(fid, type, extra, value, { inboxes });
      if (opts.required) el.required = true;
      grid.push(h('label', { for: fid, text: label }), el);
    }
    if (opts.hint) grid.push(h('span'), h('p', { class: 'hint', text: opts.hint }));
    const snapshot = () => JSON.stringify(type === 'secret' ? el.value : read(type, el));
    controls.push({ key, type, el, initial: snapshot(), snapshot });
  }
  const collect = (onlyChanged) => {
    const cfg = {};
    for (const c of controls) {
      if (onlyChanged && c.snapshot() === c.initial) continue;
      if (c.type === 'secret') { if (c.el.value) cfg[c.key] = c.el.value; continue; }
      const v = read(c.type, c.el);
      if (!onlyChanged && (v === null || v === '' || (Array.isArray(v) && !v.length))) continue;
      const top = c.key.split('.')[0];
      if (c.key.includes('.') && !(top in cfg)) cfg[top] = structuredClone(config[top] || {});
      if (!c.key.includes('.')) { cfg[c.key] = v; continue; }
      if (v === null) { // an emptied nested setting goes back to its default
        const parent = getPath(cfg, c.key.split('.').slice(0, -1).join('.'));
        if (parent) delete parent[c.key.split('.').pop()];
      } else setPath(cfg, c.key, v);
    }
    return cfg;
  };
  const markInvalid = (key) => {
    for (const c of controls) {
      const bad = key && (c.key === key || c.key.startsWith(`${key}.`) || key.startsWith(`${c.key}.`));
      if (bad) c.el.setAttribute('aria-invalid', 'true'); else c.el.removeAttribute('aria-invalid');
    }
  };
  return { grid, collect, markInvalid };
}

/** The field named at the start of a server message ("config.bot_token: …" → "bot_token"). */
export function fieldOfError(message) {
  const m = /^(?:config\.)?([A-Za-z_][\w.]*)(?:\[\d+\])?[.\w]*:/.exec(message || '');
  return m ? m[1] : null;
}
