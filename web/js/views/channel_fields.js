// Settings fields per channel kind, as form controls (never raw JSON). Secrets are write-only:
// the server only says whether each is set, so the form offers a "replace" field and never
// shows a value. Each row: [key (dots for nested), label, type, extra, {required, hint}];
// labels, hints and choices are text keys (web/i18n/*.js), read with t() where shown.
import { h, option } from '../dom.js';
import { t, LANGUAGES } from '../i18n.js';

const SECURITY_IMAP = [['ssl', 'cf.sslImap'], ['starttls', 'cf.starttlsImap'], ['none', 'cf.noneImap']];
const SECURITY_SMTP = [['starttls', 'cf.starttls'], ['ssl', 'cf.sslSmtp'], ['none', 'cf.noneSmtp']];
const META_SECRETS = [
  ['access_token', 'cf.accessToken', 'secret', null, { required: true }],
  ['app_secret', 'cf.appSecret', 'secret', null, { required: true, hint: 'cf.appSecretHint' }],
  ['verify_token', 'cf.verifyToken', 'secret', null, { required: true, hint: 'cf.verifyTokenHint' }],
];
// OAuth2 sign-in (XOAUTH2, adapters/email/README.md): these rows show only when it is chosen.
const OAUTH2 = { when: ['auth_method', 'oauth2'] };
const EMAIL_OAUTH2 = [
  ['auth_method', 'cf.authMethod', 'select', [['password', 'cf.authPassword'], ['oauth2', 'cf.authOAuth2']], { hint: 'cf.authMethodHint' }],
  ['oauth2_client_id', 'cf.oauth2ClientId', 'text', null, OAUTH2],
  ['oauth2_client_secret', 'cf.oauth2ClientSecret', 'secret', null, OAUTH2],
  ['oauth2_token_url', 'cf.oauth2TokenUrl', 'url', null, { ...OAUTH2, hint: 'cf.oauth2TokenUrlHint' }],
  ['oauth2_scope', 'cf.oauth2Scope', 'text', null, { ...OAUTH2, hint: 'cf.oauth2ScopeHint' }],
  ['oauth2_refresh_token', 'cf.oauth2RefreshToken', 'secret', null, { ...OAUTH2, hint: 'cf.oauth2RefreshTokenHint' }],
];

export const CHANNEL_FIELDS = {
  email: [
    ['address', 'cf.address', 'email', null, { required: true, hint: 'cf.addressHint' }],
    ['from_name', 'cf.fromName', 'text'],
    ['imap_host', 'cf.imapHost', 'text', null, { hint: 'cf.imapHostHint' }],
    ['imap_port', 'cf.imapPort', 'number'],
    ['imap_security', 'cf.imapSecurity', 'select', SECURITY_IMAP],
    ['imap_username', 'cf.imapUsername', 'text', null, { hint: 'cf.imapUsernameHint' }],
    ['imap_password', 'cf.imapPassword', 'secret'],
    ['imap_mailbox', 'cf.imapMailbox', 'text', null, { hint: 'cf.imapMailboxHint' }],
    ['smtp_host', 'cf.smtpHost', 'text'], ['smtp_port', 'cf.smtpPort', 'number'],
    ['smtp_security', 'cf.smtpSecurity', 'select', SECURITY_SMTP],
    ['smtp_username', 'cf.smtpUsername', 'text'], ['smtp_password', 'cf.smtpPassword', 'secret'],
    ['tls_trusted_fingerprint', 'cf.tlsFingerprint', 'text', null, { hint: 'cf.tlsFingerprintHint' }],
    ['signature', 'cf.signature', 'multiline', null, { hint: 'cf.signatureHint' }],
    ...EMAIL_OAUTH2,
  ],
  webchat: [
    ['appearance.title', 'cf.title', 'text'], ['appearance.color', 'cf.color', 'color'],
    ['appearance.position', 'cf.position', 'select', [['right', 'cf.bottomRight'], ['left', 'cf.bottomLeft']]],
    ['appearance.greeting', 'cf.greeting', 'text'], ['appearance.reply_time', 'cf.replyTime', 'text'],
    ['appearance.language', 'cf.language', 'select', Object.entries(LANGUAGES), { hint: 'cf.languageHint', raw: true }],
    ['appearance.offline_message', 'cf.offline', 'text', null, { hint: 'cf.offlineHint' }],
    ['allowed_origins', 'cf.origins', 'list', null, { hint: 'cf.originsHint' }],
    ['pre_chat', 'cf.preChat', 'prechat'],
    ['email_continuity.enabled', 'cf.continuity', 'checkbox', null, { hint: 'cf.continuityHint' }],
    ['email_continuity.email_inbox_id', 'cf.sendFrom', 'inbox', 'email'],
    ['email_continuity.after_minutes', 'cf.afterMinutes', 'number'],
    ['attachments.max_bytes', 'cf.maxBytes', 'number', null, { hint: 'cf.maxBytesHint' }],
    ['attachments.types', 'cf.types', 'list', null, { hint: 'cf.typesHint' }],
    ['identity_verification', 'cf.identity', 'select', [['off', 'cf.off'], ['optional', 'cf.optional'], ['required', 'cf.required']]],
    ['hmac_secret', 'cf.hmac', 'secret'],
  ],
  telegram: [
    ['mode', 'cf.mode', 'select', [['webhook', 'cf.webhook'], ['polling', 'cf.polling']]],
    ['bot_token', 'cf.botToken', 'secret', null, { required: true, hint: 'cf.botTokenHint' }],
    ['secret_token', 'cf.secretToken', 'secret', null, { hint: 'cf.secretTokenHint' }],
  ],
  messenger: [['page_id', 'cf.pageId', 'text', null, { required: true }], ...META_SECRETS],
  instagram: [['ig_account_id', 'cf.igId', 'text', null, { required: true }], ...META_SECRETS],
  whatsapp: [['phone_number_id', 'cf.phoneId', 'text', null, { required: true }], ...META_SECRETS],
  api: [
    ['webhook_url', 'cf.webhookUrl', 'url'],
    ['inbound_token', 'cf.inboundToken', 'secret'], ['webhook_secret', 'cf.webhookSecret', 'secret'],
  ],
};

/** Field key → the label a person reads (for error messages that name a field). */
export function fieldLabels(kind) {
  const labels = {};
  for (const [key, label] of CHANNEL_FIELDS[kind] || []) labels[key] = t(label);
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

const FIELD_TYPES = [['text', 'cf.ft.text'], ['email', 'cf.ft.email'], ['tel', 'cf.ft.tel'], ['textarea', 'cf.ft.textarea'], ['select', 'cf.ft.select'], ['checkbox', 'cf.ft.checkbox']];

/** The pre-chat form as rows of inputs: one row per field the visitor fills in. */
function preChatEditor(fid, value) {
  const v = value || { enabled: false, fields: [] };
  const enabled = h('input', { type: 'checkbox', id: `${fid}-enabled`, checked: Boolean(v.enabled) });
  const body = h('tbody');
  const addRow = (f) => {
    const name = h('input', { class: 'pc-name', value: f.name || '', 'aria-label': t('cf.pc.name'), placeholder: 'email', pattern: '[a-z][a-z0-9_]*', size: 10 });
    const label = h('input', { class: 'pc-label', value: f.label || '', 'aria-label': t('cf.pc.label'), placeholder: t('cf.pc.labelExample'), size: 14 });
    const type = h('select', { class: 'pc-type', 'aria-label': t('cf.pc.type') }, FIELD_TYPES.map(([v, l]) => option(v, t(l), v === (f.type || 'text'))));
    const required = h('input', { type: 'checkbox', class: 'pc-required', 'aria-label': t('cf.pc.required'), checked: Boolean(f.required) });
    const options = h('input', { class: 'pc-options', value: (f.options || []).join(', '), 'aria-label': t('cf.pc.choicesLabel'), placeholder: t('cf.pc.choicesPlaceholder'), size: 12 });
    const row = h('tr', {}, h('td', {}, name), h('td', {}, label), h('td', {}, type), h('td', {}, required), h('td', {}, options),
      h('td', {}, h('button', { type: 'button', class: 'small ghost', text: t('cf.pc.remove'), onclick: () => { row.remove(); } })));
    body.append(row);
  };
  for (const f of v.fields || []) addRow(f);
  const el = h('div', { class: 'prechat', id: fid },
    h('label', { class: 'check' }, enabled, h('span', { text: t('cf.pc.enabled') })),
    h('div', { class: 'table-scroll' }, h('table', { class: 'data compact' },
      h('thead', {}, h('tr', {}, [t('cf.pc.nameCol'), t('cf.pc.labelCol'), t('cf.pc.type'), t('cf.pc.required'), t('cf.pc.choices'), ''].map((x) => h('th', { scope: 'col', text: x })))), body)),
    h('button', { type: 'button', class: 'small', id: `${fid}-add`, text: t('cf.pc.add'), onclick: () => addRow({}) }));
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

function control(fid, type, extra, value, ctx, raw) {
  if (type === 'select') { // raw: the choices are names as they are (languages), not text keys
    return h('select', { id: fid }, option('', t('cf.default'), value === undefined || value === null || value === ''),
      extra.map(([v, l]) => option(v, raw ? l : t(l), v === value)));
  }
  if (type === 'inbox') {
    const choices = (ctx.inboxes || []).filter((i) => i.kind === extra);
    return h('select', { id: fid }, option('', t(choices.length ? 'cf.chooseEmailInbox' : 'cf.noEmailInbox'), !value),
      choices.map((i) => option(i.id, i.name, i.id === value)));
  }
  if (type === 'list') return h('textarea', { id: fid, rows: 3, value: (value || []).join('\n') });
  if (type === 'multiline') return h('textarea', { id: fid, rows: 4, value: value ?? '' });
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
    const first = grid.length;
    const fid = `${prefix}-${key.replace(/\./g, '-')}`;
    const value = getPath(config, key);
    let el;
    if (type === 'secret') {
      const set = Boolean(secretsSet[key]);
      el = h('input', { type: 'password', id: fid, autocomplete: 'new-password', required: opts.required && !set,
        placeholder: t(set ? 'cf.keep' : 'cf.notSet') });
      grid.push(h('label', { for: fid }, t(label), prefix === 'cfg'
        ? h('span', { class: `secret-state ${set ? 'set' : 'unset'}`, text: t(set ? 'cf.set' : 'cf.unset') }) : null), el);
    } else {
      el = control(fid, type, extra, value, { inboxes }, opts.raw);
      if (opts.required) el.required = true;
      grid.push(h('label', { for: fid, text: t(label) }), el);
    }
    if (opts.hint) grid.push(h('span'), h('p', { class: 'hint', text: t(opts.hint) }));
    const snapshot = () => JSON.stringify(type === 'secret' ? el.value : read(type, el));
    controls.push({ key, type, el, initial: snapshot(), snapshot, when: opts.when, rows: grid.slice(first) });
  }
  showWhenChosen(controls);
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

/** Rows with `when: [key, value]` are shown only while the control `key` has that value. */
function showWhenChosen(controls) {
  for (const c of controls.filter((x) => x.when)) {
    const chooser = controls.find((x) => x.key === c.when[0]);
    if (!chooser) continue;
    const apply = () => { for (const row of c.rows) row.hidden = chooser.el.value !== c.when[1]; };
    chooser.el.addEventListener('change', apply);
    apply();
  }
}

/** The field named at the start of a server message ("config.bot_token: …" → "bot_token"). */
export function fieldOfError(message) {
  const m = /^(?:config\.)?([A-Za-z_][\w.]*)(?:\[\d+\])?[.\w]*:/.exec(message || '');
  return m ? m[1] : null;
}
