// Search: message text and notes across the inboxes the agent can see (docs/search.md).
// Hits are plain-text segments; matched words go into <mark> with textContent, never HTML.
import { api } from '../api.js';
import { h, option, replace, errorText } from '../dom.js';
import { channelInfo } from '../channels.js';
import { clockTime } from '../time.js';
import { t, tn } from '../i18n.js';

export function renderSearch(root, app) {
  const input = h('input', { type: 'search', id: 'search-q', placeholder: t('search.placeholder'), 'aria-label': t('search.label'), autocomplete: 'off' });
  const status = h('select', { id: 'search-status' }, option('all', t('search.anyStatus')), option('open', t('status.open')),
    option('pending', t('status.pending')), option('snoozed', t('status.snoozed')), option('resolved', t('status.resolved')));
  const kind = h('select', { id: 'search-kind' }, option('all', t('search.anyKind')), option('message', t('search.messagesOnly')), option('note', t('search.notesOnly')));
  const inbox = h('select', { id: 'search-inbox' }, option('', t('search.anyInbox')),
    (app.store.inboxes || []).map((i) => option(i.id, i.name)));
  const from = h('input', { type: 'date', id: 'search-from' });
  const to = h('input', { type: 'date', id: 'search-to' });
  const summary = h('p', { id: 'search-summary', class: 'muted', 'aria-live': 'polite', text: t('search.hint') });
  const list = h('ol', { id: 'search-results', class: 'search-results' });
  const more = h('button', { type: 'button', id: 'search-more', hidden: true, text: t('search.more') });
  const form = h('form', { class: 'search-form', role: 'search' },
    h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'primary', text: t('search.submit') })),
    h('div', { class: 'row filters' },
      h('label', {}, `${t('search.status')} `, status), h('label', {}, `${t('search.kind')} `, kind),
      h('label', {}, `${t('search.inbox')} `, inbox), h('label', {}, `${t('search.from')} `, from), h('label', {}, `${t('search.to')} `, to)));
  replace(root, h('div', { class: 'page' }, h('h1', { text: t('search.title') }), form, summary, list, more));
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
    if (!input.value.trim()) { replace(list); summary.textContent = t('search.hint'); more.hidden = true; return; }
    if (!append) { cursor = null; shown = 0; replace(list); }
    summary.textContent = t('search.loading');
    list.setAttribute('aria-busy', 'true');
    try {
      const page = await api.get('/api/search', { ...params(), ...(cursor ? { cursor } : {}) });
      for (const item of page.items) list.appendChild(hitRow(item));
      shown += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      summary.textContent = !shown ? t('search.none') : cursor ? tn('search.countMore', shown) : tn('search.count', shown);
    } catch (err) {
      summary.textContent = errorText(err, { q: t('search.label') });
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
  const who = item.kind === 'note' ? t('search.note') : item.direction === 'in' ? t('search.incoming') : t('search.outgoing');
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
