// The inbox screen: filters + conversation list on the left, the open conversation beside it.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { channelInfo } from '../channels.js';
import { slaBadge, waitingFor, clockTime, parseTime } from '../time.js';
import { ConversationPane } from './conversation.js';
import { requestPermission } from '../notify.js';
import { SavedViews } from './saved_views.js';
import { t, tn } from '../i18n.js';

const STATUSES = ['open', 'pending', 'snoozed', 'resolved'];
// The row's meta line keeps the lower-case words agents know ("open", "high").
const STATUS = { open: 'conv.st.open', pending: 'conv.st.pending', snoozed: 'conv.st.snoozed', resolved: 'conv.st.resolved' };
const PRIORITY = { low: 'inbox.prio.low', medium: 'inbox.prio.medium', high: 'inbox.prio.high', urgent: 'inbox.prio.urgent' };
const FILTER_KEY = 'switchboard.filters';
// Countdowns tick once a second; only the badge text changes, so rows never change size.
const TICK_MS = 1000;
// A background refresh that failed (say, mid-restart) is tried again after 3 s.
const RETRY_REFRESH_MS = 3000;

export class InboxView {
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.store = app.store;
    this.ids = [];
    this.currentId = null;
    this.filters = { assignee: 'any', status: 'open', inbox_id: '', team_id: '', label: '', q: '', sort: 'recent',
      ...JSON.parse(localStorage.getItem(FILTER_KEY) || '{}') };
    this.rows = new Map();
    this.lastSeen = new Map(); // conversation id -> last_message_at already counted for unread
    this.build();
    this.unsubscribe = this.store.subscribe((c) => this.onChange(c));
    this.offRefresh = app.onRefresh((reason) => this.refresh(reason));
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.load();
    requestPermission();
  }

  destroy() {
    this.unsubscribe();
    this.offRefresh();
    clearInterval(this.ticker);
    clearTimeout(this.retryRefresh);
    this.pane.destroy();
    if (this.views) this.views.destroy();
  }

  build() {
    const f = this.filters;
    const sel = (id, label, opts, key) => {
      const s = h('select', { id, onchange: () => this.setFilter(key, s.value) },
        opts.map(([v, l]) => option(v, l, String(f[key]) === String(v))));
      return h('label', { class: 'filter' }, h('span', { class: 'sr-only', text: label }), s);
    };
    this.search = h('input', { type: 'search', id: 'search', placeholder: t('inbox.searchPlaceholder'), value: f.q,
      'aria-label': t('inbox.search') });
    let searchTimer = null;
    this.search.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => this.setFilter('q', this.search.value.trim()), 300);
    });
    const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': t('inbox.assignee') },
      [['me', t('inbox.mine')], ['unassigned', t('inbox.unassigned')], ['any', t('inbox.all')]].map(([v, l]) =>
        h('button', { type: 'button', class: 'tab', 'aria-pressed': String(f.assignee === v), dataset: { assignee: v },
          onclick: () => this.setFilter('assignee', v), text: l })));
    this.label = h('input', { type: 'text', id: 'filter-label', placeholder: t('inbox.label'), value: f.label, 'aria-label': t('inbox.labelFilter'),
      onchange: () => this.setFilter('label', this.label.value.trim()) });
    const teams = this.store.teams.map((x) => [x.id, x.name]);
    const filters = h('div', { class: 'filters' },
      sel('filter-status', t('inbox.status'), [['', t('inbox.anyStatus')], ...STATUSES.map((s) => [s, t(`status.${s}`)])], 'status'),
      sel('filter-inbox', t('inbox.inbox'), [['', t('inbox.allInboxes')], ...this.store.inboxes.map((i) => [i.id, i.name])], 'inbox_id'),
      teams.length ? sel('filter-team', t('inbox.team'), [['', t('inbox.allTeams')], ...teams], 'team_id') : null,
      sel('filter-sort', t('inbox.sort'), [['recent', t('inbox.recent')], ['waiting', t('inbox.longestWaiting')]], 'sort'),
      this.label);
    this.listEl = h('ul', { class: 'conv-list', id: 'conv-list', 'aria-label': t('inbox.conversations') });
    this.countEl = h('p', { class: 'muted small list-count', 'aria-live': 'polite' });
    this.moreBtn = h('button', { type: 'button', class: 'ghost more', hidden: true, text: t('inbox.loadMore'), onclick: () => this.loadMore() });
    const side = h('section', { class: 'list-pane', 'aria-label': t('inbox.list') },
      h('div', { class: 'list-head' }, this.search, tabs, filters, this.countEl), this.listEl, this.moreBtn);
    if (this.views) this.views.destroy();
    this.views = new SavedViews(this.app, () => this.params(), (f) => this.applyView(f)); // docs/views.md
    side.insertBefore(this.views.el, side.firstChild.nextSibling);
    const paneEl = h('section', { class: 'conv-pane', id: 'conv-pane', 'aria-label': t('inbox.conversation') });
    replace(this.root, h('div', { class: 'inbox-layout' }, side, paneEl));
    this.pane = new ConversationPane(paneEl, this.app);
  }

  /** A saved view's filters replace the current ones (what a view does not set is reset). */
  applyView(filters) {
    const reset = { assignee: 'any', status: 'open', inbox_id: '', team_id: '', label: '', q: '', sort: 'recent' };
    this.filters = { ...reset, ...filters };
    if (this.filters.status === 'all') this.filters.status = '';
    const ids = { status: 'filter-status', inbox_id: 'filter-inbox', team_id: 'filter-team', sort: 'filter-sort', label: 'filter-label', q: 'search' };
    for (const [key, id] of Object.entries(ids)) {
      const el = this.root.querySelector(`#${id}`);
      if (el) el.value = this.filters[key];
    }
    this.setFilter('assignee', this.filters.assignee);
  }

  setFilter(key, value) {
    this.filters[key] = value;
    localStorage.setItem(FILTER_KEY, JSON.stringify(this.filters));
    for (const b of this.root.querySelectorAll('[data-assignee]')) {
      b.setAttribute('aria-pressed', String(b.dataset.assignee === this.filters.assignee));
    }
    this.load();
  }

  params() {
    // "Any status" is an explicit "all": an empty status would be dropped and mean "open".
    return { ...this.filters, status: this.filters.status || 'all' };
  }

  /** quiet: a background poll while the connection is down reports nothing to the agent. */
  async load(quiet) {
    const token = (this.loadToken = {});
    try {
      const page = await api.conversations(this.params());
      if (token !== this.loadToken) return; // a newer filter change won
      // What is already there when the list first loads is not "new"; later arrivals are.
      if (!this.primed) for (const c of page.items) this.lastSeen.set(c.id, c.last_message_at);
      this.primed = true;
      for (const c of page.items) this.store.putConversation(c);
      this.ids = page.items.map((c) => c.id);
      this.cursor = page.next_cursor;
      this.renderList();
      return true;
    } catch (err) {
      if (!quiet) toast(t('inbox.loadFailed', { error: errorText(err) }), 'error');
      return false;
    }
  }

  async loadMore() {
    if (!this.cursor) return;
    const page = await api.conversations({ ...this.params(), cursor: this.cursor });
    for (const c of page.items) this.store.putConversation(c);
    this.ids.push(...page.items.map((c) => c.id).filter((id) => !this.ids.includes(id)));
    this.cursor = page.next_cursor;
    this.renderList();
  }

  /** Poll or resync: refetch the list and the open conversation. */
  async refresh(reason) {
    if (String(reason).startsWith('resync')) this.store.reset();
    // A background refresh never raises a toast: the banner speaks for an outage, and a
    // refresh that failed (the server was still restarting) is simply tried again.
    const listed = await this.load(true);
    const opened = this.currentId ? await this.pane.reload(true) : true;
    clearTimeout(this.retryRefresh);
    if (!(listed && opened) && reason !== 'poll') this.retryRefresh = setTimeout(() => this.refresh('retry'), RETRY_REFRESH_MS);
  }

  open(id) {
    this.currentId = id;
    // On a phone one pane shows at a time: the list, or the open conversation (app.css).
    this.root.querySelector('.inbox-layout').classList.toggle('has-open', Boolean(id));
    for (const [cid, row] of this.rows) row.classList.toggle('selected', cid === id);
    if (id) this.store.markRead(id);
    this.pane.show(id);
  }

  step(delta) {
    if (!this.ids.length) return;
    const i = this.ids.indexOf(this.currentId);
    const next = this.ids[Math.max(0, Math.min(this.ids.length - 1, i < 0 ? 0 : i + delta))];
    location.hash = `#/inbox/${next}`;
  }

  focusComposer(note) { this.pane.focusComposer(note); }
  resolveCurrent() { this.pane.resolve(); }

  matches(c) {
    const f = this.filters;
    const me = this.store.me.id;
    if (f.status && c.status !== f.status) return false;
    if (f.inbox_id && String(c.inbox_id) !== String(f.inbox_id)) return false;
    if (f.team_id && String(c.team_id) !== String(f.team_id)) return false;
    if (f.label && !(c.labels || []).includes(f.label)) return false;
    if (f.assignee === 'me' && c.assignee_id !== me) return false;
    if (f.assignee === 'unassigned' && c.assignee_id !== null) return false;
    return true;
  }

  onChange(change) {
    if (change.kind === 'reset') { this.rows.clear(); this.ids = []; return; }
    if (change.kind === 'unread') { this.updateRow(change.id); return; }
    if (change.kind === 'message') { this.messageArrived(change.id, change.conversationId); return; }
    if (change.kind === 'directory') { this.renderList(); return; }
    if (change.kind === 'contact') {
      for (const id of this.known()) if (this.store.conversations.get(id).contact_id === change.id) this.updateRow(id);
      return;
    }
    if (change.kind !== 'conversation') return;
    const c = this.store.conversations.get(change.id);
    const listed = this.ids.includes(c.id);
    if (this.matches(c)) {
      if (!listed) {
        if (this.filters.q) return; // search results come from the server only
        this.ids.push(c.id);
      }
      if (c.id !== this.currentId && c.waiting_since && c.last_message_at !== this.lastSeen.get(c.id)) {
        this.store.markUnread(c.id);
      }
      this.lastSeen.set(c.id, c.last_message_at);
      this.sortIds();
      this.renderList();
    } else if (listed && c.id !== this.currentId) {
      this.ids = this.ids.filter((x) => x !== c.id);
      this.renderList();
    } else {
      this.updateRow(c.id);
    }
  }

  /** Ids whose conversation the store holds (a resync empties the store before the refetch). */
  known() {
    this.ids = this.ids.filter((id) => this.store.conversations.has(id));
    return this.ids;
  }

  sortIds() {
    this.known();
    const conv = (id) => this.store.conversations.get(id);
    if (this.filters.sort === 'waiting') {
      const w = (id) => parseTime(conv(id).waiting_since) ?? Infinity;
      this.ids.sort((a, b) => w(a) - w(b));
    } else {
      const r = (id) => parseTime(conv(id).last_message_at) ?? 0;
      this.ids.sort((a, b) => r(b) - r(a));
    }
  }

  renderList() {
    const items = this.known().map((id) => {
      const c = this.store.conversations.get(id);
      let row = this.rows.get(id);
      if (!row) { row = this.makeRow(id); this.rows.set(id, row); }
      this.fillRow(row, c);
      return row;
    });
    replace(this.listEl, items.length ? items : h('li', { class: 'empty', text: t('inbox.none') }));
    this.countEl.textContent = tn(this.cursor ? 'inbox.countMore' : 'inbox.count', this.ids.length);
    this.moreBtn.hidden = !this.cursor;
  }

  makeRow(id) {
    const link = h('a', { href: `#/inbox/${id}`, class: 'conv-link' },
      h('span', { class: 'chan', 'aria-hidden': 'true' }),
      h('span', { class: 'who' }), h('span', { class: 'unread' }), h('span', { class: 'when' }),
      h('span', { class: 'preview' }, h('span', { class: 'dir' }), h('span', { class: 'preview-text' })),
      h('span', { class: 'meta' }), h('span', { class: 'sla' }));
    return h('li', { class: 'conv-row', dataset: { id: String(id) } }, link);
  }

  fillRow(row, c) {
    const ch = channelInfo(c.channel);
    const q = (s) => row.querySelector(s);
    q('.chan').textContent = ch.icon;
    q('.chan').title = ch.name;
    const contact = this.store.contactOf(c, api.contact);
    q('.who').textContent = (contact && (contact.name || contact.email)) || t('conv.contactNumber', { id: c.contact_id });
    const unread = this.store.unread.get(c.id) || 0;
    q('.unread').textContent = unread ? String(unread) : '';
    q('.unread').setAttribute('aria-label', unread ? tn('inbox.unread', unread) : '');
    q('.when').textContent = clockTime(c.last_message_at);
    const bits = [ch.name, this.store.inboxName(c.inbox_id), STATUS[c.status] ? t(STATUS[c.status]) : c.status];
    if (c.assignee_id) bits.push(`→ ${this.store.agentName(c.assignee_id)}`);
    if (c.priority && c.priority !== 'none') bits.push(PRIORITY[c.priority] ? t(PRIORITY[c.priority]) : c.priority);
    if (c.labels && c.labels.length) bits.push(c.labels.map((l) => `#${l}`).join(' '));
    q('.meta').textContent = bits.join(' · ');
    this.fillPreview(row, this.lastMessage(c));
    row.classList.toggle('selected', c.id === this.currentId);
    row.classList.toggle('has-unread', unread > 0);
    this.fillTimers(row, c);
  }

  /** The last message: an arrow for its direction (named for screen readers) and its text. */
  fillPreview(row, last) {
    const dir = row.querySelector('.dir');
    const text = row.querySelector('.preview-text');
    if (!last) { dir.textContent = ''; text.textContent = ''; return; }
    const note = last.kind === 'note';
    const incoming = last.direction === 'in';
    dir.textContent = note ? '✎' : (incoming ? '↙' : '↗');
    dir.dataset.dir = note ? 'note' : last.direction;
    const who = note ? t('inbox.note') : (incoming ? t('conv.customer') : (last.sender_id === this.store.me.id ? t('inbox.you') : (this.store.agentName(last.sender_id) || t('inbox.agent'))));
    dir.setAttribute('aria-label', `${who}:`);
    dir.title = t(note ? 'msg.note' : (incoming ? 'inbox.fromCustomer' : 'composer.replyLabel'));
    const body = last.text || (last.attachments ? tn('inbox.attachments', last.attachments) : '');
    text.textContent = incoming ? body : `${who}: ${body}`;
  }

  /** The newer of the list's preview and the newest message the socket brought. */
  lastMessage(c) {
    const known = this.store.messagesOf(c.id).filter((m) => m.kind === 'message' || m.kind === 'note');
    const m = known[known.length - 1];
    if (!m || (c.last_message && c.last_message.id >= m.id)) return c.last_message;
    return { id: m.id, direction: m.direction, kind: m.kind, sender_type: m.sender_type,
      sender_id: m.sender_id, text: (m.text || '').replace(/\s+/g, ' ').slice(0, 160), attachments: (m.attachments || []).length };
  }

  /** A message the socket brought: its row's last-message line follows. */
  messageArrived(id, conversationId) {
    this.updateRow(conversationId);
  }

  fillTimers(row, c) {
    const sla = row.querySelector('.sla');
    const badge = slaBadge(c);
    const wait = c.waiting_since && !['resolved', 'snoozed'].includes(c.status) ? t('inbox.waiting', { time: waitingFor(c.waiting_since) }) : '';
    sla.textContent = [wait, badge ? badge.text : ''].filter(Boolean).join(' · ');
    sla.dataset.level = badge ? badge.level : '';
  }

  updateRow(id) {
    const row = this.rows.get(id);
    const c = this.store.conversations.get(id);
    if (row && c) this.fillRow(row, c);
  }

  tick() {
    for (const id of this.ids) {
      const row = this.rows.get(id);
      const c = this.store.conversations.get(id);
      if (row && c) this.fillTimers(row, c);
    }
    this.pane.tick();
  }
}
