// Client state. Events may arrive twice (resume overlaps a refetch) or out of order across
// REST and the socket, so every entity is replaced only by a strictly newer version.
import { t } from './i18n.js';

export class Store {
  constructor() {
    this.conversations = new Map();
    this.messages = new Map(); // conversation id -> Map(message id -> message)
    this.unread = new Map(); // conversation id -> count of customer messages not yet seen
    this.contacts = new Map(); // contact id -> brief; events carry only contact_id
    this.listeners = new Set();
    this.me = null;
    this.inboxes = [];
    this.agents = [];
    this.teams = [];
  }

  subscribe(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }
  emit(change) { for (const fn of this.listeners) fn(change); }

  /** Apply a conversation; returns true when it changed local state. */
  putConversation(conv) {
    if (conv.contact) this.contacts.set(conv.contact.id, conv.contact);
    const old = this.conversations.get(conv.id);
    if (old && (old.version ?? 0) >= (conv.version ?? 0)) {
      // Keep the extra fields that some endpoints add (contact, channel) on an equal version.
      if (old.version === conv.version) this.conversations.set(conv.id, { ...conv, ...old });
      return false;
    }
    this.conversations.set(conv.id, { ...(old || {}), ...conv });
    this.emit({ kind: 'conversation', id: conv.id, created: !old });
    return true;
  }

  putMessage(msg) {
    let map = this.messages.get(msg.conversation_id);
    if (!map) { map = new Map(); this.messages.set(msg.conversation_id, map); }
    const old = map.get(msg.id);
    if (old && (old.version ?? 0) >= (msg.version ?? 0)) return false;
    map.set(msg.id, msg);
    this.emit({ kind: 'message', id: msg.id, conversationId: msg.conversation_id, created: !old });
    return true;
  }

  messagesOf(conversationId) {
    const map = this.messages.get(conversationId);
    return map ? [...map.values()].sort((a, b) => a.id - b.id) : [];
  }

  lastMessageId(conversationId) {
    const list = this.messagesOf(conversationId).filter((m) => m.kind !== 'activity');
    return list.length ? list[list.length - 1].id : null;
  }

  /** The contact brief of a conversation, fetched once when an event brought only the id. */
  contactOf(conv, fetchContact) {
    const known = conv.contact || this.contacts.get(conv.contact_id);
    if (known) return known;
    if (fetchContact && !this.contacts.has(conv.contact_id)) {
      this.contacts.set(conv.contact_id, null);
      fetchContact(conv.contact_id).then((c) => {
        this.contacts.set(c.id, c);
        this.emit({ kind: 'contact', id: c.id });
      }).catch(() => this.contacts.delete(conv.contact_id));
    }
    return null;
  }

  markUnread(conversationId) {
    this.unread.set(conversationId, (this.unread.get(conversationId) || 0) + 1);
    this.emit({ kind: 'unread', id: conversationId });
  }

  markRead(conversationId) {
    if (!this.unread.get(conversationId)) return;
    this.unread.delete(conversationId);
    this.emit({ kind: 'unread', id: conversationId });
  }

  agentName(id) {
    if (id === null || id === undefined) return null;
    if (this.me && this.me.id === id) return t('actions.you', { name: this.me.name });
    const a = this.agents.find((x) => x.id === id);
    if (!a && this.onUnknownAgent) this.onUnknownAgent(id); // created after login: refetch
    return a ? a.name : t('store.agent', { id });
  }

  teamName(id) {
    const team = this.teams.find((x) => x.id === id);
    return team ? team.name : t('store.team', { id });
  }

  inboxName(id) {
    const i = this.inboxes.find((x) => x.id === id);
    if (!i && this.onUnknownInbox) this.onUnknownInbox(id);
    return i ? i.name : t('store.inbox', { id });
  }

  /** Forget everything except identity: used on resync_required before a REST refetch. */
  reset() {
    this.conversations.clear();
    this.messages.clear();
    this.emit({ kind: 'reset' });
  }
}

/** Apply one bus event (the `event` of a socket frame) to the store. */
export function applyEvent(store, event) {
  const p = event.payload || {};
  switch (event.type) {
    case 'conversation.created':
    case 'conversation.updated':
      if (p.conversation) return store.putConversation(p.conversation);
      return false;
    case 'message.created':
    case 'message.updated':
      if (p.message) return store.putMessage(p.message);
      return false;
    case 'contact.updated':
      if (p.contact) {
        // A visitor's attributes arrive as the entries that changed (attributes_changed).
        const old = store.contacts.get(p.contact.id) || {};
        const { attributes_changed: changed, ...fields } = p.contact;
        const attributes = changed ? { ...(old.attributes || {}), ...changed } : (fields.attributes || old.attributes);
        store.contacts.set(p.contact.id, { ...old, ...fields, attributes });
        store.emit({ kind: 'contact', id: p.contact.id });
      }
      store.emit({ kind: 'event', event });
      return true;
    default:
      store.emit({ kind: 'event', event });
      return false;
  }
}
