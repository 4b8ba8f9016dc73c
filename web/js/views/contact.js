// Contact side panel: details, identities on every channel, other conversations, merge.
import { api } from '../api.js';
import { h, replace, toast, errorText } from '../dom.js';
import { channelInfo } from '../channels.js';
import { clockTime } from '../time.js';

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
      replace(this.root, h('p', { class: 'muted', text: `Contact unavailable: ${errorText(err)}` }));
    }
  }

  render(contact, convs) {
    const dl = h('dl', { class: 'facts' });
    const fact = (k, v) => { if (v) dl.append(h('dt', { text: k }), h('dd', { text: String(v) })); };
    fact('Email', contact.email);
    fact('Phone', contact.phone);
    for (const [k, v] of Object.entries(contact.attributes || {})) fact(k, typeof v === 'object' ? JSON.stringify(v) : v);
    const identities = (contact.identities || []).map((i) => {
      const ch = channelInfo(i.channel);
      return h('li', {}, h('span', { 'aria-hidden': 'true', text: `${ch.icon} ` }), `${ch.name}: ${i.external_id}`,
        i.verified ? h('span', { class: 'muted small', text: ' ✓ verified' }) : null);
    });
    const others = convs.map((c) => {
      const ch = channelInfo(c.channel);
      return h('li', { class: c.id === this.conversationId ? 'current' : '' },
        h('a', { href: `#/inbox/${c.id}` }, `${ch.icon} #${c.id} · ${c.status}`),
        h('span', { class: 'muted small', text: ` ${clockTime(c.last_message_at)}` }));
    });
    const source = h('input', { type: 'number', id: 'merge-source', min: 1, placeholder: 'Contact id', 'aria-label': 'Duplicate contact id' });
    const merge = h('form', { class: 'merge' },
      h('label', { for: 'merge-source', class: 'small', text: 'Merge a duplicate contact into this one' }),
      h('div', { class: 'row' }, source, h('button', { type: 'submit', text: 'Merge' })));
    merge.addEventListener('submit', async (e) => {
      e.preventDefault();
      const sid = Number(source.value);
      if (!sid) return;
      if (!confirm(`Merge contact #${sid} into ${contact.name || `#${contact.id}`}? Its identities and conversations move here.`)) return;
      try {
        await api.mergeContact(contact.id, sid);
        toast('Contacts merged');
        await this.refresh();
      } catch (err) { toast(errorText(err), 'error'); }
    });
    replace(this.root,
      h('h3', { text: contact.name || contact.email || `Contact #${contact.id}` }),
      h('p', { class: 'muted small', text: `Contact #${contact.id}` }),
      dl,
      identities.length ? [h('h4', { text: 'Channels' }), h('ul', { class: 'plain' }, identities)] : null,
      h('h4', { text: `Conversations (${convs.length})` }), h('ul', { class: 'plain' }, others),
      merge);
  }
}
