// One inbox's settings: channel fields (secrets write-only), test connection, members,
// business hours + holidays, first-response targets per priority, widget embed snippet.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { channelInfo } from '../channels.js';
import { channelForm, fieldLabels, fieldOfError } from './channel_fields.js';

const DAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];
const PRIORITIES = ['urgent', 'high', 'medium', 'low', 'none'];

export async function renderInboxEditor(root, app, id) {
  const [{ items }, agents] = await Promise.all([api.get('/api/admin/inboxes'), api.get('/api/admin/agents')]);
  const inbox = items.find((i) => i.id === id);
  if (!inbox) { replace(root, h('p', { text: 'Inbox not found.' })); return; }
  const ch = channelInfo(inbox.kind);
  const reload = () => renderInboxEditor(root, app, id);
  replace(root,
    h('p', {}, h('a', { href: '#/admin/inboxes', text: '← All inboxes' })),
    h('h1', {}, h('span', { 'aria-hidden': 'true', text: `${ch.icon} ` }), inbox.name, h('span', { class: 'muted small', text: `  ${ch.name} · key ${inbox.public_key}` })),
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
    toast(message || 'Saved');
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
  const grid = h('div', { class: 'form-grid' }, h('label', { for: 'inbox-name', text: 'Name' }), nameInput,
    h('label', { for: 'inbox-active', text: 'Active' }), h('div', {}, active), fields.grid);
  const error = h('p', { class: 'form-error', role: 'alert', id: 'inbox-error' });
  const form = h('form', {}, grid, error, h('button', { type: 'submit', class: 'primary', id: 'save-inbox', text: 'Save settings' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const body = {};
    if (nameInput.value !== inbox.name) body.name = nameInput.value;
    if (active.checked !== inbox.is_active) body.is_active = active.checked;
    const cfg = fields.collect(true);
    if (Object.keys(cfg).length) body.config = cfg;
    if (!Object.keys(body).length) { toast('Nothing changed'); return; }
    try {
      await api.patch(`/api/admin/inboxes/${inbox.id}`, body);
      toast('Settings saved');
      reload();
    } catch (err) {
      error.textContent = errorText(err, { ...labels, name: 'Name' });
      fields.markInvalid(fieldOfError(err.message));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'settings-h' }, h('h2', { id: 'settings-h', text: 'Channel settings' }),
    h('p', { class: 'muted small', text: 'Secrets are stored encrypted and never shown again; type a new value to replace one.' }), form);
}

function embedCard(inbox) {
  const pre = h('pre', { class: 'snippet', id: 'embed-snippet', text: 'Loading…' });
  api.get(`/api/admin/inboxes/${inbox.id}/embed`).then((r) => {
    pre.textContent = typeof r === 'string' ? r : (r.snippet || r.html || JSON.stringify(r, null, 2));
  }).catch((err) => { pre.textContent = `Unavailable: ${errorText(err)}`; });
  return h('section', { class: 'card' }, h('h2', { text: 'Embed snippet' }),
    h('p', { class: 'muted small', text: 'Paste this before </body> on your site.' }), pre);
}

function testCard(inbox) {
  const out = h('ul', { class: 'checks', id: 'test-results', 'aria-live': 'polite' });
  const btn = h('button', { type: 'button', id: 'test-connection', text: 'Test connection' });
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    replace(out, h('li', { class: 'muted', text: 'Testing…' }));
    try {
      const r = await api.post(`/api/admin/inboxes/${inbox.id}/test`, {});
      const checks = r.checks || (Array.isArray(r) ? r : []);
      replace(out, checks.length ? checks.map((c) => h('li', { class: c.ok ? 'ok' : 'fail',
        text: `${c.ok ? '✓' : '✗'} ${c.name || c.check || ''}${c.detail || c.message ? ` — ${c.detail || c.message}` : ''}` }))
        : h('li', { text: r.ok === false ? '✗ Failed' : '✓ OK' }));
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
    watcher.textContent = w.connected ? 'Watcher connected' : `Watcher disconnected${w.error ? ` — ${w.error}` : ''}`;
  }).catch(() => {});
  return h('section', { class: 'card' }, h('h2', { text: 'Connection' }), watcher, btn, out);
}

function membersCard(inbox, agents) {
  const members = new Set(inbox.member_ids || []);
  const boxes = agents.map((a) => {
    const box = h('input', { type: 'checkbox', id: `member-${a.id}`, value: a.id, checked: members.has(a.id) });
    return h('label', { class: 'row', for: `member-${a.id}` }, box, `${a.name} (${a.email})`);
  });
  const form = h('form', {}, h('div', { class: 'members' }, boxes), h('button', { type: 'submit', text: 'Save members' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ids = [...form.querySelectorAll('input:checked')].map((b) => Number(b.value));
    try { await api.put(`/api/admin/inboxes/${inbox.id}/members`, { user_ids: ids }); toast('Members saved'); } catch (err) { toast(errorText(err), 'error'); }
  });
  return h('section', { class: 'card' }, h('h2', { text: 'Members' }),
    h('p', { class: 'muted small', text: 'Agents who see and answer this inbox. Admins see every inbox.' }), form);
}

function hoursCard(inbox, reload) {
  const bh = inbox.business_hours || { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, weekly: {}, holidays: [] };
  const enabled = h('input', { type: 'checkbox', id: 'hours-enabled', checked: Boolean(inbox.business_hours) });
  const tz = h('input', { id: 'hours-tz', value: bh.timezone || 'UTC' });
  const grid = h('div', { class: 'hours-grid' }, h('span'), h('span', { class: 'small muted', text: 'Open' }),
    h('span', { class: 'small muted', text: 'From' }), h('span', { class: 'small muted', text: 'To' }));
  const rows = DAYS.map(([key, label]) => {
    const span = (bh.weekly || {})[key] || [];
    const open = h('input', { type: 'checkbox', id: `day-${key}`, checked: span.length > 0 });
    const from = h('input', { type: 'time', value: span[0] ? span[0][0] : '09:00', 'aria-label': `${label} opens` });
    const to = h('input', { type: 'time', value: span[0] ? (span[0][1] === '24:00' ? '23:59' : span[0][1]) : '17:00', 'aria-label': `${label} closes` });
    grid.append(h('label', { for: `day-${key}`, text: label }), open, from, to);
    return { key, open, from, to };
  });
  const holidays = h('textarea', { id: 'hours-holidays', rows: 3, value: (bh.holidays || []).join('\n'), placeholder: '2026-12-25' });
  const form = h('form', { class: 'stack' },
    h('label', { class: 'check' }, enabled, h('span', { text: 'Use business hours (FRT also counts business time only)' })),
    h('label', { class: 'row' }, 'Time zone ', tz), grid,
    h('label', { for: 'hours-holidays', text: 'Holidays (one date per line, YYYY-MM-DD)' }), holidays,
    h('div', {}, h('button', { type: 'submit', text: 'Save hours' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const weekly = {};
    for (const r of rows) if (r.open.checked) weekly[r.key] = [[r.from.value, r.to.value === '23:59' ? '24:00' : r.to.value]];
    const value = enabled.checked ? { timezone: tz.value.trim(), weekly,
      holidays: holidays.value.split('\n').map((s) => s.trim()).filter(Boolean) } : null;
    if (await patch(inbox, { business_hours: value }, 'Business hours saved')) reload();
  });
  return h('section', { class: 'card' }, h('h2', { text: 'Business hours' }), form);
}

// Response-time targets per priority (docs/frt.md, "Targets, deadlines and SLA events").
const TARGET_CARDS = {
  frt_targets: { id: 'frt', title: 'First-response targets', note: 'The SLA countdown in the inbox uses the target for the conversation\'s priority.' },
  nrt_targets: { id: 'nrt', title: 'Next-response targets', note: 'After a reply, how long a customer who writes again may wait for the next reply, by priority.' },
};

function targetsCard(inbox, reload, key = 'frt_targets') {
  const card = TARGET_CARDS[key];
  const targets = inbox[key] || {};
  const inputs = PRIORITIES.map((p) => {
    const input = h('input', { type: 'number', min: 1, id: `${card.id}-${p}`, value: targets[p] ? Math.round(targets[p] / 60) : '', placeholder: 'no target' });
    return { p, input };
  });
  const form = h('form', { class: 'form-grid' },
    inputs.map(({ p, input }) => [h('label', { for: input.id, text: `${p === 'none' ? 'No priority' : p[0].toUpperCase() + p.slice(1)} (minutes)` }), input]),
    h('span'), h('div', {}, h('button', { type: 'submit', text: 'Save targets' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = {};
    for (const { p, input } of inputs) if (input.value) value[p] = Math.round(Number(input.value) * 60);
    if (await patch(inbox, { [key]: value }, 'Targets saved')) reload();
  });
  return h('section', { class: 'card' }, h('h2', { text: card.title }),
    h('p', { class: 'muted small', text: card.note }), form);
}

function deleteCard(inbox) {
  const btn = h('button', { type: 'button', class: 'danger', id: 'delete-inbox', text: 'Delete this inbox', onclick: async () => {
    if (!confirm(`Delete the inbox “${inbox.name}”? This cannot be undone.`)) return;
    try {
      await api.del(`/api/admin/inboxes/${inbox.id}`);
      toast('Inbox deleted');
      location.hash = '#/admin/inboxes';
    } catch (err) { toast(errorText(err), 'error'); }
  } });
  return h('section', { class: 'card' }, h('h2', { text: 'Delete' }),
    h('p', { class: 'muted small', text: 'Only an inbox without conversations can be deleted. To stop one that has history, untick “Active” above: its channel stops and its conversations stay.' }), btn);
}
