// Notification centre: a bell with the unread count in the top bar, a panel listing my
// notifications (newest first), "mark all read", and preferences. Live: the server sends
// `notification.created` to everyone who can see the inbox; we keep those for us
// (docs/automation.md "Mentions and notifications").
import { api } from '../api.js';
import { h, replace, toast, errorText } from '../dom.js';
import { t, tn } from '../i18n.js';

const KIND_LABELS = {
  assigned: 'notif.kind.assigned',
  message: 'notif.kind.message',
  mention: 'notif.kind.mention',
  sla_near_breach: 'notif.kind.slaNear',
  sla_breached: 'notif.kind.slaBreached',
  new_conversation: 'notif.kind.newConversation',
};

const state = { unread: 0, items: [], button: null, badge: null, panel: null, app: null };

/** The bell as a drawn icon: an emoji glyph depends on the machine's fonts (a box where
 * none has it, as on a bare Linux desktop). */
function bellIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: '18', height: '18', 'aria-hidden': 'true',
    focusable: 'false', fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round',
    'stroke-linejoin': 'round', class: 'icon' })) svg.setAttribute(k, v);
  for (const d of ['M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9', 'M10.3 21a1.94 1.94 0 0 0 3.4 0']) {
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    svg.appendChild(path);
  }
  return svg;
}

/** Add the bell to the top bar (once per page) and load the unread count. */
export function installNotifications(app) {
  state.app = app;
  if (!state.button) {
    state.badge = h('span', { class: 'badge', id: 'notif-badge', hidden: true });
    state.button = h('button', { type: 'button', class: 'ghost', id: 'notif-btn', 'aria-haspopup': 'dialog',
      'aria-label': t('notif.title'), onclick: togglePanel }, bellIcon(), state.badge);
    state.panel = h('div', { id: 'notif-panel', class: 'card notif-panel', role: 'dialog', 'aria-label': t('notif.title'), hidden: true });
    const anchor = document.getElementById('whoami');
    anchor.parentNode.insertBefore(state.button, anchor);
    anchor.parentNode.insertBefore(state.panel, anchor);
  }
  refresh();
}

async function refresh() {
  try {
    const data = await api.get('/api/notifications', { limit: 30 });
    state.items = data.notifications;
    setUnread(data.unread);
    if (!state.panel.hidden) renderPanel();
  } catch (err) { /* the bell stays as it was; the next event or click tries again */ }
}

function setUnread(n) {
  state.unread = n;
  state.badge.hidden = n === 0;
  state.badge.textContent = n > 99 ? '99+' : String(n);
  state.button.setAttribute('aria-label', n ? tn('notif.unread', n) : t('notif.title'));
}

/** Feed every live event here; returns true when it was one of mine. */
export function notificationEvent(app, event) {
  const payload = event.payload || {};
  const me = app.store.me && app.store.me.id;
  if (event.type === 'notification.read' && payload.user_id === me) { refresh(); return true; }
  if (event.type !== 'notification.created' || payload.user_id !== me) return false;
  const item = payload.notification;
  if (state.items.some((x) => x.id === item.id)) return true; // replayed after a resume
  state.items.unshift(item);
  setUnread(state.unread + 1);
  if (!state.panel.hidden) renderPanel();
  if (typeof Notification !== 'undefined' && Notification.permission === 'granted' && document.hidden) {
    new Notification('Switchboard', { body: item.text }); // eslint-disable-line no-new
  }
  return true;
}

function togglePanel() {
  state.panel.hidden = !state.panel.hidden;
  state.button.setAttribute('aria-expanded', String(!state.panel.hidden));
  if (!state.panel.hidden) renderPanel();
}

function renderPanel() {
  const list = state.items.length
    ? h('ul', { class: 'notif-list', id: 'notif-list' }, state.items.map((n) => h('li', { class: n.read_at ? 'read' : 'unread' },
      h('a', { href: n.conversation_id ? `#/inbox/${n.conversation_id}` : '#/inbox', text: n.text,
        onclick: () => { markRead([n.id]); state.panel.hidden = true; } }))))
    : h('p', { class: 'small', id: 'notif-list', text: t('notif.empty') });
  replace(state.panel,
    h('div', { class: 'row' }, h('strong', { text: t('notif.title') }),
      h('button', { type: 'button', class: 'ghost', id: 'notif-read-all', text: t('notif.readAll'), onclick: () => markRead(null) }),
      h('button', { type: 'button', class: 'ghost', text: t('notif.prefs'), onclick: renderPrefs })),
    list);
}

async function markRead(ids) {
  try {
    const r = await api.post('/api/notifications/read', ids ? { ids } : {});
    const now = new Date().toISOString();
    for (const n of state.items) if (!ids || ids.includes(n.id)) n.read_at = n.read_at || now;
    setUnread(r.unread);
    if (!state.panel.hidden) renderPanel();
  } catch (err) { toast(errorText(err), 'error'); }
}

async function renderPrefs() {
  let prefs = {};
  try { prefs = (await api.get('/api/notifications/preferences')).prefs; } catch (err) { toast(errorText(err), 'error'); return; }
  const boxes = {};
  const rows = Object.entries(KIND_LABELS).map(([kind, key]) => {
    const text = t(key);
    boxes[kind] = {
      app: h('input', { type: 'checkbox', checked: Boolean((prefs[kind] || {}).app), 'aria-label': t('notif.inAppLabel', { kind: text }) }),
      desktop: h('input', { type: 'checkbox', checked: Boolean((prefs[kind] || {}).desktop), 'aria-label': t('notif.desktopLabel', { kind: text }) }),
    };
    return h('tr', {}, h('td', { text }), h('td', {}, boxes[kind].app), h('td', {}, boxes[kind].desktop));
  });
  const save = h('button', { type: 'button', class: 'primary', text: t('notif.save'), onclick: async () => {
    const body = {};
    for (const [kind, b] of Object.entries(boxes)) body[kind] = { app: b.app.checked, desktop: b.desktop.checked };
    if (Object.values(body).some((x) => x.desktop) && typeof Notification !== 'undefined') Notification.requestPermission();
    try { await api.put('/api/notifications/preferences', { prefs: body }); toast(t('notif.saved')); renderPanel(); } catch (err) { toast(errorText(err), 'error'); }
  } });
  replace(state.panel, h('strong', { text: t('notif.about') }),
    h('table', { class: 'data' }, h('thead', {}, h('tr', {}, h('th', { text: '' }), h('th', { text: t('notif.inApp') }), h('th', { text: t('notif.desktop') }))),
      h('tbody', {}, rows)), save);
}
