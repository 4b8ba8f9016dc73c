// Boot, session, routing and the live connection. Views live in js/views/.
import { api } from './js/api.js';
import { h, replace, toast, errorText, clearToasts } from './js/dom.js';
import { Store, applyEvent } from './js/store.js';
import { AgentSocket, SocketState } from './js/socket.js';
import { renderLogin } from './js/views/login.js';
import { InboxView } from './js/views/inbox.js';
import { renderReports } from './js/views/reports.js';
import { renderSearch } from './js/views/search.js';
import { openNewConversation } from './js/views/new_conversation.js';
import { renderTrends, renderCsat } from './js/views/trends.js';
import { renderAdmin } from './js/views/admin.js';
import { renderAccount, agentUpdated, sessionEnded } from './js/views/account.js';
import { renderPublicPage } from './js/views/invite.js';
import { installShortcuts } from './js/shortcuts.js';
import { LANGUAGES, language, setLanguage, t } from './js/i18n.js';
import { themeChoice, setTheme } from './js/theme.js';
import { translateStatic } from './js/static_texts.js';
import { notifyAssigned } from './js/notify.js';
import { renderRules } from './js/views/rules.js'; // issue 15: automation page
import { installNotifications, notificationEvent } from './js/views/notifications.js'; // issue 15

// While the socket is down, poll every 5 s so the inbox is never more than 5 s stale.
const POLL_MS = 5000;

const app = {
  store: new Store(),
  socket: null,
  view: null,
  pollTimer: null,
  refreshers: new Set(),
  ephemeralListeners: new Set(),
  get isAdmin() { return app.store.me && app.store.me.role === 'admin'; },
  onRefresh(fn) { app.refreshers.add(fn); return () => app.refreshers.delete(fn); },
  onEphemeral(fn) { app.ephemeralListeners.add(fn); return () => app.ephemeralListeners.delete(fn); },
  refreshAll(reason) { for (const fn of app.refreshers) fn(reason); },
};
window.switchboard = app; // handy for debugging and for end-to-end tests

const main = () => document.getElementById('main');

async function boot() {
  api.onUnauthorized = () => { if (app.store.me) { app.store.me = null; showLogin(); } };
  try {
    const me = await api.me();
    await startSession(me);
  } catch (err) {
    showLogin();
  }
}

function showLogin() {
  stopSession();
  document.getElementById('topbar').hidden = true;
  setBanner(null);
  if (renderPublicPage(main(), async (me) => startSession(me))) return; // invite, reset (js/views/invite.js)
  renderLogin(main(), async (me) => startSession(me));
}

async function startSession(me) {
  const store = app.store;
  store.me = me.user;
  store.inboxes = me.inboxes || [];
  document.getElementById('topbar').hidden = false;
  document.getElementById('nav-admin').hidden = !app.isAdmin;
  replace(document.getElementById('whoami'), h('span', { text: me.user.name }));
  // Two-factor required and not set up yet: the account page only, no socket (docs/accounts.md).
  app.setupOnly = Boolean(me.account && me.account.two_factor_setup_required);
  if (app.setupOnly) { location.hash = '#/account'; route(); return; }
  store.onUnknownInbox = refreshInboxes;
  store.onUnknownAgent = refreshDirectory;
  await loadDirectory();
  startSocket();
  installNotifications(app); // issue 15: the bell and its unread count
  route();
}

/** Agents and teams give names to ids (the directory every agent may read). */
async function loadDirectory() {
  const store = app.store;
  const [agents, teams] = await Promise.all([
    api.get('/api/agents').catch(() => ({ items: [store.me] })),
    api.get('/api/teams').catch(() => ({ items: [] })),
  ]);
  store.agents = agents.items;
  store.teams = teams.items;
}

/** A conversation from an inbox we have no name for (created after login): refetch once. */
let inboxRefresh = null;
function refreshInboxes() {
  if (inboxRefresh) return;
  inboxRefresh = api.me().then((me) => {
    app.store.inboxes = me.inboxes || [];
    app.store.emit({ kind: 'directory' });
  }).catch(() => {}).finally(() => { setTimeout(() => { inboxRefresh = null; }, 10000); });
}

/** An agent or team we have no name for (added after login): reload the directory once. */
// At most one reload per 3 s; a request meanwhile is served once that window ends.
const DIRECTORY_MIN_MS = 3000;
let directoryBusy = false;
let directoryAgain = false;
function refreshDirectory() {
  if (directoryBusy) { directoryAgain = true; return; }
  directoryBusy = true;
  loadDirectory().then(() => app.store.emit({ kind: 'directory' })).catch(() => {}).finally(() => {
    setTimeout(() => {
      directoryBusy = false;
      if (directoryAgain) { directoryAgain = false; refreshDirectory(); }
    }, DIRECTORY_MIN_MS);
  });
}

function stopSession() {
  if (app.socket) app.socket.stop();
  app.socket = null;
  clearInterval(app.pollTimer);
  app.pollTimer = null;
  if (app.view && app.view.destroy) app.view.destroy();
  app.view = null;
}

/** A channel watcher connected, failed or started lagging (sent to admins only). */
function watcherHealthChanged(frame) {
  const health = frame.health || {};
  const inbox = (app.store.inboxes || []).find((i) => i.id === frame.inbox_id);
  const name = inbox ? inbox.name : t('app.inboxNumber', { id: frame.inbox_id });
  const lagging = health.lag != null && health.lag > 60;
  const error = health.error;
  if (!health.connected) toast(error ? t('app.watcherDownBecause', { name, error }) : t('app.watcherDown', { name }), 'warn');
  else if (lagging) toast(t('app.watcherLag', { name, seconds: Math.round(health.lag) }), 'warn');
  else toast(t('app.watcherUp', { name }));
  const status = document.getElementById('watcher-status');
  if (status && status.dataset.inbox === String(frame.inbox_id)) {
    status.className = `small ${health.connected ? 'ok' : 'fail'}`;
    status.textContent = health.connected ? t('app.watcherConnected')
      : (error ? t('app.watcherDisconnectedBecause', { error }) : t('app.watcherDisconnected'));
  }
}

function startSocket() {
  const store = app.store;
  app.socket = new AgentSocket({
    onEvent: (event) => {
      if (event.type === 'inbox.updated') { refreshInboxes(); refreshDirectory(); } // membership decides the assignee menu
      if (event.type === 'agent.updated') refreshDirectory();
      if (event.type === 'agent.updated') agentUpdated(app, event);
      const before = event.payload && event.payload.conversation
        ? store.conversations.get(event.payload.conversation.id) : null;
      applyEvent(store, event);
      notifyAssigned(store, before, event);
      notificationEvent(app, event); // issue 15
    },
    onResync: (reason) => { app.refreshAll(`resync:${reason}`); },
    onEphemeral: (frame) => {
      if (frame.type === 'inbox.health') watcherHealthChanged(frame);
      for (const fn of app.ephemeralListeners) fn(frame);
    },
    onState: (state) => socketStateChanged(state),
    onRevoked: () => { app.store.me = null; showLogin(); sessionEnded(); }, // 4401: logged out at once
  });
  app.socket.start();
  const presence = document.getElementById('presence');
  presence.onchange = () => app.socket.setSticky('presence', { type: 'presence', status: presence.value });
}

// One banner while the connection is down and one "Reconnected." when it is back: a restart
// or a network blip is said once, quietly; failed polls meanwhile are not shown to anyone.
function socketStateChanged(state) {
  if (state === SocketState.LIVE) {
    setBanner(null);
    clearInterval(app.pollTimer);
    app.pollTimer = null;
    if (app.wasDown) toast(t('app.reconnected'));
    app.wasDown = false;
    return;
  }
  if (state === SocketState.RETRYING) {
    app.wasDown = true;
    setBanner(t('app.reconnecting'));
    if (!app.pollTimer) app.pollTimer = setInterval(() => app.refreshAll('poll'), POLL_MS);
  }
}

function setBanner(text) {
  const el = document.getElementById('banner');
  el.hidden = !text;
  el.textContent = text || '';
}

function route() {
  clearToasts(); // a toast belongs to the page it was raised on
  if (!app.store.me) { showLogin(); return; }
  if (app.setupOnly) { renderAccount(main(), app, []); return; } // until 2FA is on (docs/accounts.md)
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const section = parts[0] || 'inbox';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (section === 'inbox') {
    const id = parts[1] ? Number(parts[1]) : null;
    if (!(app.view instanceof InboxView)) {
      if (app.view && app.view.destroy) app.view.destroy();
      app.view = new InboxView(main(), app);
    }
    app.view.open(id);
    return;
  }
  if (app.view && app.view.destroy) app.view.destroy();
  app.view = null;
  if (section === 'account') renderAccount(main(), app, parts.slice(1));
  else if (section === 'reports' && parts[1] === 'trends') renderTrends(main(), app);
  else if (section === 'reports' && parts[1] === 'csat') renderCsat(main(), app);
  else if (section === 'reports') renderReports(main(), app, parts.slice(1));
  else if (section === 'search') renderSearch(main(), app, parts.slice(1));
  else if (section === 'automation') renderRules(main(), app); // issue 15
  else if (section === 'admin' && app.isAdmin) renderAdmin(main(), app, parts.slice(1));
  else location.hash = '#/inbox';
}

window.addEventListener('hashchange', route);
// a phone's "More" row closes when the agent goes elsewhere
window.addEventListener('hashchange', () => {
  document.getElementById('topbar').classList.remove('more-open');
  document.getElementById('topbar-more').setAttribute('aria-expanded', 'false');
});
document.getElementById('logout').addEventListener('click', async () => {
  try { await api.logout(); } catch (err) { toast(errorText(err), 'error'); }
  app.store.me = null;
  location.hash = '#/inbox';
  showLogin();
});
document.getElementById('help-btn').addEventListener('click', () => document.getElementById('help').showModal());
// Phones: language, theme, help and log out sit in a second row that "More" opens.
const moreButton = document.getElementById('topbar-more');
moreButton.append(dotsIcon());
moreButton.addEventListener('click', () => {
  const open = document.getElementById('topbar').classList.toggle('more-open');
  moreButton.setAttribute('aria-expanded', String(open));
});
// The agent's language (docs/languages.md): kept in this browser; the app starts again in it.
const languagePicker = document.getElementById('language');
for (const [code, name] of Object.entries(LANGUAGES)) languagePicker.append(new Option(name, code, false, code === language()));
translateStatic(); // index.html's own texts (js/static_texts.js)
moreButton.title = t('static.more');
languagePicker.addEventListener('change', () => { setLanguage(languagePicker.value); location.reload(); });
// Light, dark or the device's setting (web/js/theme.js).
const themePicker = document.getElementById('theme');
for (const choice of ['system', 'light', 'dark']) themePicker.append(new Option(t(`theme.${choice}`), choice, false, choice === themeChoice()));
themePicker.setAttribute('aria-label', t('theme.label'));
themePicker.addEventListener('change', () => setTheme(themePicker.value));
document.getElementById('new-conversation-btn').addEventListener('click', () => openNewConversation(app));
installShortcuts(app);
boot();

/** Three dots, drawn (a glyph would depend on the machine's fonts). */
function dotsIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: '20', height: '20', 'aria-hidden': 'true',
    focusable: 'false', fill: 'currentColor', class: 'icon' })) svg.setAttribute(k, v);
  for (const cy of [5, 12, 19]) {
    const dot = document.createElementNS(ns, 'circle');
    for (const [k, v] of Object.entries({ cx: '12', cy: String(cy), r: '2' })) dot.setAttribute(k, v);
    svg.appendChild(dot);
  }
  return svg;
}
