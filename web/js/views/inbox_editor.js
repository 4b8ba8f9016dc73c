// One inbox's settings: channel fields (secrets write-only), test connection, members,
// business hours + holidays, first-response targets per priority, widget embed snippet.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { channelInfo } from '../channels.js';
import { channelForm, fieldLabels, fieldOfError } from './channel_fields.js';
import { t } from '../i18n.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const PRIORITIES = ['urgent', 'high', 'medium', 'low', 'none'];
const PRIORITY_TEXT = { none: 'actions.prio.none', low: 'actions.prio.low', medium: 'actions.prio.medium', high: 'actions.prio.high', urgent: 'actions.prio.urgent' };

export async function renderInboxEditor(root, app, id) {
  const [{ items }, agents] = await Promise.all([api.get('/api/admin/inboxes'), api.get('/api/admin/agents')]);
  const inbox = items.find((i) => i.id === id);
  if (!inbox) { replace(root, h('p', { text: t('editor.notFound') })); return; }
  const ch = channelInfo(inbox.kind);
  const reload = () => renderInboxEditor(root, app, id);
  replace(root,
    h('p', {}, h('a', { href: '#/admin/inboxes', text: t('editor.allInboxes') })),
    h('h1', {}, h('span', { 'aria-hidden': 'true', text: `${ch.icon} ` }), inbox.name, h('span', { class: 'muted small', text: `  ${ch.name} · ${t('editor.key', { key: inbox.public_key })}` })),
    settingsCard(inbox, reload, items),
    inbox.kind === 'webchat' ? embedCard(inbox) : null,
    testCard(inbox),
    membersCard(inbox, agents.items),
    hoursCard(inbox, reload),
    targetsCard(inbox, reload),
    targetsCard(inbox, reload, 'nrt_targets'),
    deleteCard(inbox));
}

async function patch(inbox, body, message) {
  try {
    await api.patch(`/api/admin/inboxes/${inbox.id}`, body);
    toast(message || t('editor.saved'));
    return true;
  } catch (err) {
    toast(errorText(err), 'error');
    return false;
  }
}

function settingsCard(inbox, reload, inboxes) {
  const labels = fieldLabels(inbox.kind);
  const fields = channelForm(inbox.kind, { config: inbox.config || {}, secretsSet: inbox.secrets_set || {}, inboxes });
  const nameInput = h('input', { id: 'inbox-name', value: inbox.name, required: true });
  const active = h('input', { type: 'checkbox', id: 'inbox-active', checked: inbox.is_active });
  const grid = h('div', { class: 'form-grid' }, h('label', { for: 'inbox-name', text: t('admin.name') }), nameInput,
    h('label', { for: 'inbox-active', text: t('editor.active') }), h('div', {}, active), fields.grid);
  const error = h('p', { class: 'form-error', role: 'alert', id: 'inbox-error' });
  const form = h('form', {}, grid, error, h('button', { type: 'submit', class: 'primary', id: 'save-inbox', text: t('editor.saveSettings') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const body = {};
    if (nameInput.value !== inbox.name) body.name = nameInput.value;
    if (active.checked !== inbox.is_active) body.is_active = active.checked;
    const cfg = fields.collect(true);
    if (Object.keys(cfg).length) body.config = cfg;
    if (!Object.keys(body).length) { toast(t('editor.nothingChanged')); return; }
    try {
      await api.patch(`/api/admin/inboxes/${inbox.id}`, body);
      toast(t('editor.settingsSaved'));
      reload();
    } catch (err) {
      error.textContent = errorText(err, { ...labels, name: t('admin.name') });
      fields.markInvalid(fieldOfError(err.message));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'settings-h' }, h('h2', { id: 'settings-h', text: t('editor.channelSettings') }),
    h('p', { class: 'muted small', text: t('editor.secretsNote') }), form);
}

function embedCard(inbox) {
  const pre = h('pre', { class: 'snippet', id: 'embed-snippet', text: t('editor.loading') });
  api.get(`/api/admin/inboxes/${inbox.id}/embed`).then((r) => {
    pre.textContent = typeof r === 'string' ? r : (r.snippet || r.html || JSON.stringify(r, null, 2));
  }).catch((err) => { pre.textContent = t('editor.unavailable', { error: errorText(err) }); });
  return h('section', { class: 'card' }, h('h2', { text: t('editor.embed') }),
    h('p', { class: 'muted small', text: t('editor.embedHint') }), pre);
}

function testCard(inbox) {
  const out = h('ul', { class: 'checks', id: 'test-results', 'aria-live': 'polite' });
  const btn = h('button', { type: 'button', id: 'test-connection', text: t('editor.test') });
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    replace(out, h('li', { class: 'muted', text: t('editor.testing') }));
    try {
      const r = await api.post(`/api/admin/inboxes/${inbox.id}/test`, {});
      const checks = r.checks || (Array.isArray(r) ? r : []);
      replace(out, checks.length ? checks.map((c) => h('li', { class: c.ok ? 'ok' : 'fail',
        text: `${c.ok ? '✓' : '✗'} ${c.name || c.check || ''}${c.detail || c.message ? ` — ${c.detail || c.message}` : ''}` }))
        : h('li', { text: r.ok === false ? `✗ ${t('editor.failed')}` : `✓ ${t('editor.ok')}` }));
    } catch (err) {
      replace(out, h('li', { class: 'fail', text: `✗ ${errorText(err)}` }));
    } finally { btn.disabled = false; }
  });
  // Watcher status (IMAP IDLE, Telegram polling…) comes from /readyz, keyed by inbox id.
  const watcher = h('p', { class: 'small', id: 'watcher-status', 'data-inbox': String(inbox.id) });
  fetch('/readyz', { credentials: 'same-origin' }).then((r) => r.json()).then((r) => {
    const w = ((r.checks || {}).watchers || {})[String(inbox.id)];
    if (!w) return;
    watcher.className = `small ${w.connected ? 'ok' : 'fail'}`;
    watcher.textContent = w.connected ? t('app.watcherConnected')
      : (w.error ? t('app.watcherDisconnectedBecause', { error: w.error }) : t('app.watcherDisconnected'));
  }).catch(() => {});
  return h('section', { class: 'card' }, h('h2', { text: t('editor.connection') }), watcher, btn, out);
}

function membersCard(inbox, agents) {
  const members = new Set(inbox.member_ids || []);
  const boxes = agents.map((a) => {
    const box = h('input', { type: 'checkbox', id: `member-${a.id}`, value: a.id, checked: members.has(a.id) });
    return h('label', { class: 'row', for: `member-${a.id}` }, box, `${a.name} (${a.email})`);
  });
  const form = h('form', {}, h('div', { class: 'members' }, boxes), h('button', { type: 'submit', text: t('editor.saveMembers') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ids = [...form.querySelectorAll('input:checked')].map((b) => Number(b.value));
    try { await api.put(`/api/admin/inboxes/${inbox.id}/members`, { user_ids: ids }); toast(t('editor.membersSaved')); } catch (err) { toast(errorText(err), 'error'); }
  });
  return h('section', { class: 'card' }, h('h2', { text: t('admin.members') }),
    h('p', { class: 'muted small', text: t('editor.membersHint') }), form);
}

function hoursCard(inbox, reload) {
  const bh = inbox.business_hours || { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, weekly: {}, holidays: [] };
  const enabled = h('input', { type: 'checkbox', id: 'hours-enabled', checked: Boolean(inbox.business_hours) });
  const tz = h('input', { id: 'hours-tz', value: bh.timezone || 'UTC' });
  const grid = h('div', { class: 'hours-grid' }, h('span'), h('span', { class: 'small muted', text: t('editor.open') }),
    h('span', { class: 'small muted', text: t('editor.from') }), h('span', { class: 'small muted', text: t('editor.to') }));
  const rows = DAYS.map((key) => {
    const label = t(`day.${key}`);
    const span = (bh.weekly || {})[key] || [];
    const open = h('input', { type: 'checkbox', id: `day-${key}`, checked: span.length > 0 });
    const from = h('input', { type: 'time', value: span[0] ? span[0][0] : '09:00', 'aria-label': t('editor.opens', { day: label }) });
    const to = h('input', { type: 'time', value: span[0] ? (span[0][1] === '24:00' ? '23:59' : span[0][1]) : '17:00', 'aria-label': t('editor.closes', { day: label }) });
    grid.append(h('label', { for: `day-${key}`, text: label }), open, from, to);
    return { key, open, from, to };
  });
  const holidays = h('textarea', { id: 'hours-holidays', rows: 3, value: (bh.holidays || []).join('\n'), placeholder: '2026-12-25' });
  const form = h('form', { class: 'stack' },
    h('label', { class: 'check' }, enabled, h('span', { text: t('editor.useHours') })),
    h('label', { class: 'row' }, `${t('editor.timezone')} `, tz), grid,
    h('label', { for: 'hours-holidays', text: t('editor.holidays') }), holidays,
    h('div', {}, h('button', { type: 'submit', text: t('editor.saveHours') })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const weekly = {};
    for (const r of rows) if (r.open.checked) weekly[r.key] = [[r.from.value, r.to.value === '23:59' ? '24:00' : r.to.value]];
    const value = enabled.checked ? { timezone: tz.value.trim(), weekly,
      holidays: holidays.value.split('\n').map((s) => s.trim()).filter(Boolean) } : null;
    if (await patch(inbox, { business_hours: value }, t('editor.hoursSaved'))) reload();
  });
  return h('section', { class: 'card' }, h('h2', { text: t('editor.hours') }), form);
}

// Response-time targets per priority (docs/frt.md, "Targets, deadlines and SLA events").
const TARGET_CARDS = {
  frt_targets: { id: 'frt', title: 'editor.frtTitle', note: 'editor.frtNote' },
  nrt_targets: { id: 'nrt', title: 'editor.nrtTitle', note: 'editor.nrtNote' },
};

function targetsCard(inbox, reload, key = 'frt_targets') {
  const card = TARGET_CARDS[key];
  const targets = inbox[key] || {};
  const inputs = PRIORITIES.map((p) => {
    const input = h('input', { type: 'number', min: 1, id: `${card.id}-${p}`, value: targets[p] ? Math.round(targets[p] / 60) : '', placeholder: t('editor.noTarget') });
    return { p, input };
  });
  const form = h('form', { class: 'form-grid' },
    inputs.map(({ p, input }) => [h('label', { for: input.id, text: t('editor.minutes', { priority: t(PRIORITY_TEXT[p]) }) }), input]),
    h('span'), h('div', {}, h('button', { type: 'submit', text: t('editor.saveTargets') })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = {};
    for (const { p, input } of inputs) if (input.value) value[p] = Math.round(Number(input.value) * 60);
    if (await patch(inbox, { [key]: value }, t('editor.targetsSaved'))) reload();
  });
  return h('section', { class: 'card' }, h('h2', { text: t(card.title) }),
    h('p', { class: 'muted small', text: t(card.note) }), form);
}

function deleteCard(inbox) {
  const btn = h('button', { type: 'button', class: 'danger', id: 'delete-inbox', text: t('editor.deleteThis'), onclick: async () => {
    if (!confirm(t('admin.deleteInboxConfirm', { name: inbox.name }))) return;
    try {
      await api.del(`/api/admin/inboxes/${inbox.id}`);
      toast(t('admin.inboxDeleted'));
      location.hash = '#/admin/inboxes';
    } catch (err) { toast(errorText(err), 'error'); }
  } });
  return h('section', { class: 'card' }, h('h2', { text: t('admin.delete') }),
    h('p', { class: 'muted small', text: t('editor.deleteHint') }), btn);
}
