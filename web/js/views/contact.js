// Contact side panel: details, identities on every channel, other conversations, merge.
import { api } from '../api.js';
import { h, replace, toast, errorText } from '../dom.js';
import { channelInfo } from '../channels.js';
import { clockTime } from '../time.js';
import { t } from '../i18n.js';

const REFRESH_DEBOUNCE_MS = 300;
const SEARCH_DEBOUNCE_MS = 250;
const STATUS = { open: 'conv.st.open', pending: 'conv.st.pending', snoozed: 'conv.st.snoozed', resolved: 'conv.st.resolved' };

export class ContactPanel {
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.contactId = null;
  }

  async show(contactId, conversationId) {
    const changed = contactId !== this.contactId;
    this.contactId = contactId;
    this.conversationId = conversationId;
    if (changed) await this.refresh();
  }

  async refresh() {
    const id = this.contactId;
    try {
      const [contact, convs] = await Promise.all([api.contact(id), api.contactConversations(id)]);
      if (id === this.contactId) this.render(contact, convs.items || []);
    } catch (err) {
      replace(this.root, h('p', { class: 'muted', text: t('contact.unavailable', { error: errorText(err) }) }));
    }
  }

  /** Refetch soon (several changes in a row — resolve, then an event — make one request). */
  refreshSoon() {
    clearTimeout(this.soon);
    this.soon = setTimeout(() => { if (this.contactId) this.refresh(); }, REFRESH_DEBOUNCE_MS);
  }

  /** Merge by search, with likely duplicates (same email, phone or name) offered first. */
  mergeSection(contact) {
    // Kept across re-renders of the same contact: a live refresh (an event about this
    // contact or conversation) used to rebuild the pane and wipe what the agent was
    // typing into the search, and the results it had found.
    if (this.mergeKept && this.mergeKept.id === contact.id) return this.mergeKept.section;
    const results = h('ul', { class: 'plain merge-results', id: 'merge-results', 'aria-live': 'polite' });
    const suggestions = h('ul', { class: 'plain merge-results', id: 'merge-suggestions' });
    const search = h('input', { type: 'search', id: 'merge-search', placeholder: t('contact.searchPlaceholder'), autocomplete: 'off' });
    const candidate = (c) => h('li', { class: 'merge-candidate' },
      h('span', {}, h('strong', { text: c.name || c.email || c.phone || t('contact.unnamed') }),
        h('span', { class: 'muted small', text: ` ${[c.email, c.phone].filter(Boolean).join(' · ')}` })),
      h('button', { type: 'button', class: 'small', text: t('contact.merge'), 'aria-label': t('contact.mergeLabel', { name: c.name || c.email || t('contact.thisContact') }),
        onclick: () => this.merge(contact, c) }));
    const find = async (q) => ((await api.get('/api/contacts', { q, limit: 8 })).items || []).filter((c) => c.id !== contact.id);
    let timer = null;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = search.value.trim();
        if (q.length < 2) { replace(results); return; }
        try {
          const found = await find(q);
          replace(results, found.length ? found.map(candidate) : h('li', { class: 'muted small', text: t('contact.noMatch') }));
        } catch (err) { replace(results, h('li', { class: 'muted small', text: errorText(err) })); }
      }, SEARCH_DEBOUNCE_MS);
    });
    const keys = [contact.email, contact.phone].filter(Boolean);
    Promise.all(keys.map(find)).then((lists) => {
      const seen = new Map();
      for (const c of lists.flat()) seen.set(c.id, c);
      replace(suggestions, [...seen.values()].map(candidate));
      suggestions.previousSibling.hidden = seen.size === 0;
    }).catch(() => {});
    const section = h('section', { class: 'merge' },
      h('h4', { text: t('contact.mergeTitle') }),
      h('p', { class: 'small muted', hidden: true, text: t('contact.likely') }), suggestions,
      h('label', { for: 'merge-search', class: 'small', text: t('contact.find') }), search, results);
    this.mergeKept = { id: contact.id, section, search };
    return section;
  }

  async merge(target, source) {
    const name = source.name || source.email || t('contact.thisContact');
    if (!confirm(t('contact.mergeConfirm', { name, target: target.name || target.email || t('contact.thisContact') }))) return;
    try {
      await api.mergeContact(target.id, source.id);
      toast(t('contact.merged'));
      this.mergeKept = null;  // its results and suggestions name the merged contact
      await this.refresh();
    } catch (err) { toast(errorText(err), 'error'); }
  }

  render(contact, convs) {
    const dl = h('dl', { class: 'facts' });
    const fact = (k, v) => { if (v) dl.append(h('dt', { text: k }), h('dd', { text: String(v) })); };
    fact(t('contact.email'), contact.email);
    fact(t('contact.phone'), contact.phone);
    for (const [k, v] of Object.entries(contact.attributes || {})) fact(k, typeof v === 'object' ? JSON.stringify(v) : v);
    const identities = (contact.identities || []).map((i) => {
      const ch = channelInfo(i.channel);
      return h('li', {}, h('span', { 'aria-hidden': 'true', text: `${ch.icon} ` }), `${ch.name}: ${i.external_id}`,
        i.verified ? h('span', { class: 'muted small', text: ` ✓ ${t('contact.verified')}` }) : null);
    });
    const others = convs.map((c) => {
      const ch = channelInfo(c.channel);
      return h('li', { class: c.id === this.conversationId ? 'current' : '' },
        h('a', { href: `#/inbox/${c.id}` }, `${ch.icon} #${c.id} · ${STATUS[c.status] ? t(STATUS[c.status]) : c.status}`),
        h('span', { class: 'muted small', text: ` ${clockTime(c.last_message_at)}` }));
    });
    const merge = this.mergeSection(contact);
    const typing = this.mergeKept && document.activeElement === this.mergeKept.search;
    replace(this.root,
      h('h3', { text: contact.name || contact.email || t('conv.contactNumber', { id: contact.id }) }),
      h('p', { class: 'muted small', text: t('conv.contactNumber', { id: contact.id }) }),
      dl,
      identities.length ? [h('h4', { text: t('contact.channels') }), h('ul', { class: 'plain' }, identities)] : null,
      h('h4', { text: t('contact.conversations', { n: convs.length }) }), h('ul', { class: 'plain' }, others),
      merge);
    if (typing) this.mergeKept.search.focus();  // moved, not replaced: the caret stays
  }
}
