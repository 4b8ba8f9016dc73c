// Search: message text and notes across the inboxes the agent can see (docs/search.md).
// Hits are plain-text segments; matched words go into <mark> with textContent, never HTML.
import { api } from '../api.js';
import { h, option, replace, errorText } from '../dom.js';
import { channelInfo } from '../channels.js';
import { clockTime } from '../time.js';

const T = {
  title: 'Search',
  label: 'Search messages and notes',
  placeholder: 'Words from a message, e.g. refund order',
  submit: 'Search',
  status: 'Status', kind: 'Type', inbox: 'Inbox', from: 'From', to: 'To',
  anyStatus: 'Any status', open: 'Open', pending: 'Pending', snoozed: 'Snoozed', resolved: 'Resolved',
  anyKind: 'Messages and notes', messages: 'Messages only', notes: 'Notes only', anyInbox: 'All my inboxes',
  hint: 'Type a word or two from a message. Case and accents do not matter, and the last word may be unfinished.',
  loading: 'Searching…',
  none: 'No message or note matches these words with these filters.',
  more: 'Show more results',
  note: 'Note', incoming: 'From the customer', outgoing: 'Reply',
  count: (n, more) => (more ? `More than ${n} results` : n === 1 ? '1 result' : `${n} results`),
};

export function renderSearch(root, app) {
  const input = h('input', { type: 'search', id: 'search-q', placeholder: T.placeholder, 'aria-label': T.label, autocomplete: 'off' });
  const status = h('select', { id: 'search-status' }, option('all', T.anyStatus), option('open', T.open),
    option('pending', T.pending), option('snoozed', T.snoozed), option('resolved', T.resolved));
  const kind = h('select', { id: 'search-kind' }, option('all', T.anyKind), option('message', T.messages), option('note', T.notes));
  const inbox = h('select', { id: 'search-inbox' }, option('', T.anyInbox),
    (app.store.inboxes || []).map((i) => option(i.id, i.name)));
  const from = h('input', { type: 'date', id: 'search-from' });
  const to = h('input', { type: 'date', id: 'search-to' });
  const summary = h('p', { id: 'search-summary', class: 'muted', 'aria-live': 'polite', text: T.hint });
  const list = h('ol', { id: 'search-results', class: 'search-results' });
  const more = h('button', { type: 'button', id: 'search-more', hidden: true, text: T.more });
  const form = h('form', { class: 'search-form', role: 'search' },
    h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'primary', text: T.submit })),
    h('div', { class: 'row filters' },
      h('label', {}, `${T.status} `, status), h('label', {}, `${T.kind} `, kind),
      h('label', {}, `${T.inbox} `, inbox), h('label', {}, `${T.from} `, from), h('label', {}, `${T.to} `, to)));
  replace(root, h('div', { class: 'page' }, h('h1', { text: T.title }), form, summary, list, more));
  input.focus();

  let cursor = null;
  let shown = 0;
  const params = () => {
    const p = { q: input.value, status: status.value, kind: kind.value };
    if (inbox.value) p.inbox_id = inbox.value;
    if (from.value) p.from = from.value;
    if (to.value) p.to = nextDay(to.value); // "to" as a person means the whole day
    return p;
  };
  async function load(append) {
    if (!input.value.trim()) { replace(list); summary.textContent = T.hint; more.hidden = true; return; }
    if (!append) { cursor = null; shown = 0; replace(list); }
    summary.textContent = T.loading;
    list.setAttribute('aria-busy', 'true');
    try {
      const page = await api.get('/api/search', { ...params(), ...(cursor ? { cursor } : {}) });
      for (const item of page.items) list.appendChild(hitRow(item));
      shown += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      summary.textContent = shown ? T.count(shown, Boolean(cursor)) : T.none;
    } catch (err) {
      summary.textContent = errorText(err, { q: T.label });
      summary.className = 'error';
    } finally {
      list.removeAttribute('aria-busy');
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); summary.className = 'muted'; load(false); });
  for (const el of [status, kind, inbox, from, to]) el.addEventListener('change', () => load(false));
  more.addEventListener('click', () => load(true));
}

function nextDay(value) {
  const d = new Date(`${value}T00:00:00`);
  d.setDate(d.getDate() + 1);
  return d.toISOString();
}

function hitRow(item) {
  const { icon, name } = channelInfo(item.channel);
  const who = item.kind === 'note' ? T.note : item.direction === 'in' ? T.incoming : T.outgoing;
  const snippet = h('p', { class: 'snippet' },
    item.snippet.map((s) => (s.hit ? h('mark', { text: s.text }) : s.text)));
  return h('li', { class: `search-hit kind-${item.kind}` },
    h('a', { href: `#/inbox/${item.conversation_id}`, class: 'search-link' },
      h('div', { class: 'meta' },
        h('span', { 'aria-hidden': 'true', text: icon }), ' ',
        h('strong', { text: item.contact.name || item.contact.email || '' }),
        h('span', { class: 'muted', text: ` · ${item.inbox_name} (${name}) · ${who} · ${clockTime(item.sent_at)}` })),
      snippet));
}
