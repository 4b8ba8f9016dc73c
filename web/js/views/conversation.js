// The open conversation: header with actions, the thread, the composer and the contact panel.
import { api } from '../api.js';
import { h, replace, toast, errorText } from '../dom.js';
import { channelInfo } from '../channels.js';
import { slaBadge, waitingFor } from '../time.js';
import { renderMessage } from './messages.js';
import { renderActions } from './actions.js';
import { Composer } from './composer.js';
import { MacroMenu } from './macro_menu.js';
import { ContactPanel } from './contact.js';
import { onboardingChecklist } from './onboarding.js';
import { t } from '../i18n.js';

// "X is typing" fades after 6 s without a refresh: senders repeat every few seconds while typing.
const TYPING_TTL_MS = 6000;
// The status pill keeps the lower-case word agents know ("open"), in the chosen language.
const STATUS = { open: 'conv.st.open', pending: 'conv.st.pending', snoozed: 'conv.st.snoozed', resolved: 'conv.st.resolved' };

export class ConversationPane {
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.store = app.store;
    this.id = null;
    this.peers = new Map(); // user id -> {typing: until, viewing: until, private}
    this.unsubscribe = this.store.subscribe((c) => this.onChange(c));
    this.offEphemeral = app.onEphemeral((f) => this.onEphemeral(f));
    this.empty();
  }

  destroy() { this.unsubscribe(); this.offEphemeral(); }

  empty() {
    const placeholder = h('div', { class: 'placeholder' },
      h('p', { text: t('conv.select') }), h('p', { class: 'muted small', text: t('conv.keysHint') }));
    replace(this.root, placeholder);
    onboardingChecklist(this.app).then((card) => {
      if (card && !this.id && placeholder.isConnected) placeholder.prepend(card);
    });
  }

  async show(id) {
    this.id = id;
    this.peers.clear();
    if (!id) {
      if (this.app.socket) this.app.socket.setSticky('viewing', { type: 'viewing', conversation_id: null });
      this.empty();
      return;
    }
    this.buildSkeleton();
    await this.reload();
    if (this.app.socket) this.app.socket.setSticky('viewing', { type: 'viewing', conversation_id: id });
  }

  async reload(quiet) {
    const id = this.id;
    try {
      const [conv, page] = await Promise.all([api.conversation(id), api.messages(id, { limit: 100 })]);
      if (id !== this.id) return;
      this.store.putConversation(conv);
      this.cycles = conv.response_cycles || [];
      for (const m of page.items) this.store.putMessage(m);
      this.renderHeader();
      this.renderThread(true);
      this.contact.show(conv.contact_id, conv.id);
      this.panelState = `${conv.status}:${conv.contact_id}`;
      return true;
    } catch (err) {
      if (id === this.id && !quiet) toast(t('conv.openFailed', { error: errorText(err) }), 'error');
      return false;
    }
  }

  buildSkeleton() {
    this.headerEl = h('div', { class: 'conv-header' });
    this.actionsEl = h('div', { class: 'conv-actions', role: 'toolbar', 'aria-label': t('conv.actions') });
    this.threadEl = h('ol', { class: 'thread', id: 'thread', 'aria-label': t('conv.messages'), 'aria-live': 'polite' });
    this.presenceEl = h('p', { class: 'peers muted small', 'aria-live': 'polite' });
    this.composer = new Composer(this.app, this);
    this.macroMenu = new MacroMenu(this.app, this); // issue 15: "Run macro" and /macro
    const contactBody = h('div');
    const close = h('button', { type: 'button', class: 'small contact-close', text: t('conv.close'), onclick: () => {
      this.layoutEl.classList.remove('show-contact');
      const toggle = this.root.querySelector('#contact-toggle');
      if (toggle) { toggle.setAttribute('aria-expanded', 'false'); toggle.focus(); }
    } });
    const contactEl = h('aside', { class: 'contact-pane', 'aria-label': t('conv.contact') }, close, contactBody);
    this.contact = new ContactPanel(contactBody, this.app);
    const center = h('div', { class: 'conv-main' }, this.headerEl, this.actionsEl, this.macroMenu.el, this.threadEl, this.presenceEl, this.composer.el);
    this.layoutEl = h('div', { class: 'conv-layout' }, center, contactEl);
    replace(this.root, this.layoutEl);
  }

  conv() { return this.store.conversations.get(this.id); }

  renderHeader() {
    const c = this.conv();
    if (!c) return;
    const ch = channelInfo(c.channel);
    const contact = this.store.contactOf(c, api.contact);
    const name = (contact && (contact.name || contact.email)) || t('conv.contactNumber', { id: c.contact_id });
    const toggle = h('button', { type: 'button', id: 'contact-toggle', class: 'small contact-toggle',
      'aria-expanded': String(this.layoutEl.classList.contains('show-contact')), text: t('conv.contact'),
      onclick: () => {
        const open = this.layoutEl.classList.toggle('show-contact');
        toggle.setAttribute('aria-expanded', String(open));
      } });
    const back = h('a', { href: '#/inbox', id: 'back-to-list', class: 'back-to-list', 'aria-label': t('conv.back'), text: t('conv.all') });
    replace(this.headerEl, back, toggle,
      h('h2', { id: 'conv-title' }, h('span', { class: 'chan', title: ch.name, 'aria-hidden': 'true', text: ch.icon }), ' ', name),
      h('p', { class: 'muted small' },
        `${ch.name} · ${this.store.inboxName(c.inbox_id)} · #${c.id}`, c.subject ? ` · ${c.subject}` : ''),
      h('p', { class: 'conv-status' },
        h('span', { class: `pill status-${c.status}`, id: 'conv-status', text: STATUS[c.status] ? t(STATUS[c.status]) : c.status }),
        h('span', { class: 'conv-timers small', id: 'conv-timers' })));
    this.tick();
    // A live update must not steal focus or typed text from the agent mid-action.
    const active = document.activeElement;
    const keep = active && this.actionsEl.contains(active) && active.id
      ? { id: active.id, value: active.tagName === 'INPUT' ? active.value : null } : null;
    renderActions(this.actionsEl, this.app, c);
    if (keep) {
      const el = this.actionsEl.querySelector(`#${keep.id}`);
      if (el) {
        const added = el.id === 'label-add' && (c.labels || []).includes(keep.value.trim());
        if (keep.value !== null && !added) el.value = keep.value;
        el.focus();
      }
    }
    this.composer.setConversation(c);
  }

  tick() {
    const c = this.conv();
    const el = this.root.querySelector('#conv-timers');
    if (!c || !el) return;
    const badge = slaBadge(c);
    const wait = c.waiting_since && c.status !== 'resolved' ? t('conv.waiting', { time: waitingFor(c.waiting_since) }) : '';
    el.textContent = [wait, badge ? badge.text : ''].filter(Boolean).join(' · ');
    el.dataset.level = badge ? badge.level : '';
    this.renderPeers();
    this.composer.tick();
  }

  renderThread(scrollToEnd) {
    const c = this.conv();
    const atBottom = this.threadEl.scrollHeight - this.threadEl.scrollTop - this.threadEl.clientHeight < 40;
    const ctx = {
      store: this.store,
      contactName: (c && this.store.contactOf(c) && (this.store.contactOf(c).name || this.store.contactOf(c).email)) || t('conv.customer'),
      retry: (m) => this.retry(m),
    };
    const list = this.store.messagesOf(this.id);
    replace(this.threadEl, list.length ? list.map((m) => renderMessage(m, ctx)) : h('li', { class: 'muted', text: t('conv.noMessages') }));
    if (scrollToEnd || atBottom) this.threadEl.scrollTop = this.threadEl.scrollHeight;
  }

  async retry(msg) {
    try {
      await api.retry(this.id, msg.id);
      toast(t('conv.retrying'));
    } catch (err) { toast(errorText(err), 'error'); }
  }

  onChange(change) {
    if (!this.id) return;
    if (change.kind === 'conversation' && change.id === this.id) {
      this.renderHeader();
      // The contact panel lists this conversation's status: snooze/resolve/reopen show there too.
      const c = this.conv();
      const seen = `${c.status}:${c.contact_id}`;
      if (this.panelState && this.panelState !== seen) this.contact.refreshSoon();
      this.panelState = seen;
    }
    if (change.kind === 'directory') { // an agent or team we had no name for: names everywhere
      this.renderHeader();
      this.renderThread(false);
      this.composer.refreshNotice();
    }
    if (change.kind === 'contact' && this.conv() && this.conv().contact_id === change.id) this.renderHeader();
    if (change.kind === 'message' && change.conversationId === this.id) {
      this.renderThread(false);
      const msg = (this.store.messages.get(this.id) || new Map()).get(change.id);
      if (msg && change.created) this.composer.messageArrived(msg);
    }
    if (change.kind === 'event' && change.event.type === 'contact.merged') this.contact.refreshSoon();
    if (change.kind === 'contact' && this.conv() && this.conv().contact_id === change.id) this.contact.refreshSoon();
  }

  onEphemeral(frame) {
    if (!this.id || !this.store.me) return;
    if (frame.type === 'presence') {
      this.store.presence = this.store.presence || new Map();
      this.store.presence.set(frame.user_id, frame.status);
      return;
    }
    if (frame.conversation_id !== this.id) return;
    // The customer typing in the widget comes with contact_id instead of user_id (PROTOCOL.md).
    const isContact = frame.sender_type === 'contact' || (frame.user_id == null && frame.contact_id != null);
    if (!isContact && frame.user_id === this.store.me.id) return;
    const key = isContact ? `contact:${frame.contact_id}` : frame.user_id;
    const peer = this.peers.get(key) || { name: frame.user_name || frame.name, contact: isContact };
    const now = Date.now();
    if (frame.type === 'typing') peer.typing = frame.active === false ? 0 : now + TYPING_TTL_MS;
    if (frame.type === 'typing') peer.private = Boolean(frame.private);
    // Viewing lasts until the server says the agent left (active: false) or the socket closed.
    if (frame.type === 'viewing') peer.viewing = frame.active === false ? 0 : Infinity;
    this.peers.set(key, peer);
    this.renderPeers();
  }

  renderPeers() {
    if (!this.presenceEl) return;
    const now = Date.now();
    const typing = [];
    const viewing = [];
    for (const [uid, p] of this.peers) {
      if (p.contact) {
        if (p.typing > now) typing.push(t('conv.customerTyping', { name: this.customerName() }));
        continue;
      }
      const name = p.name || this.store.agentName(uid) || t('conv.anotherAgent');
      if (p.typing > now) typing.push(t(p.private ? 'conv.writingNote' : 'conv.typingReply', { name }));
      else if (p.viewing > now) viewing.push(name);
    }
    const parts = [...typing];
    if (viewing.length === 1) parts.push(t('conv.viewingOne', { name: viewing[0] }));
    else if (viewing.length) parts.push(t('conv.viewingMany', { names: viewing.join(', ') }));
    const text = parts.join(' · ');
    if (this.presenceEl.textContent !== text) this.presenceEl.textContent = text;
  }

  /** The customer as agents know them: their name, else "Customer" (never "null"). */
  customerName() {
    const c = this.conv();
    const contact = c && this.store.contactOf(c);
    const name = contact && (contact.name || contact.email);
    return name ? t('conv.customerNamed', { name }) : t('conv.theCustomer');
  }

  focusComposer(note) { if (this.id) this.composer.focus(note); }

  async resolve() {
    const c = this.conv();
    if (!c) return;
    try {
      const r = await api.setStatus(c.id, c.status === 'resolved' ? 'open' : 'resolved');
      this.store.putConversation(r.conversation);
      toast(t(r.conversation.status === 'resolved' ? 'conv.resolved' : 'conv.reopened'));
    } catch (err) { toast(errorText(err), 'error'); }
  }
}
