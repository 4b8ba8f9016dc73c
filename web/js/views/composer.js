// Reply / note composer with /shortcut canned responses, the stale-reply guard and the
// reply-window warning (WhatsApp/Messenger accept free text only within 24 h of the customer).
import { api } from '../api.js';
import { h, replace, toast, errorText } from '../dom.js';
import { formatDuration, secondsUntil } from '../time.js';
import { t, tn } from '../i18n.js';
import { mentionAt, mentionCandidates } from './mentions.js';
import { macrosOf, matchingMacros } from './macro_menu.js';

// Typing frames at most every 3 s, and "stopped" after 4 s idle.
const TYPING_EVERY_MS = 3000;
const TYPING_IDLE_MS = 4000;

function clientId() {
  return (crypto.randomUUID && crypto.randomUUID()) || `c${Date.now()}${Math.random().toString(16).slice(2)}`;
}

export class Composer {
  constructor(app, pane) {
    this.app = app;
    this.pane = pane;
    this.store = app.store;
    this.conv = null;
    this.note = false;
    this.pending = null; // body held back by the stale-reply guard
    // The stale-reply guard is pinned to the newest message the agent had seen when the draft
    // started: a message that renders live while they type is still "new" to this draft.
    this.draftSeenId = null;
    this.arrived = []; // messages new to this draft, shown in the composer
    this.canned = null;
    this.build();
  }

  build() {
    this.replyTab = h('button', { type: 'button', class: 'tab', id: 'mode-reply', 'aria-pressed': 'true', text: t('composer.reply'), onclick: () => this.setMode(false) });
    this.noteTab = h('button', { type: 'button', class: 'tab', id: 'mode-note', 'aria-pressed': 'false', text: t('composer.note'), onclick: () => this.setMode(true) });
    this.text = h('textarea', { id: 'composer-text', rows: 4, 'aria-label': t('composer.replyLabel'), placeholder: t('composer.replyPlaceholder'),
      'aria-autocomplete': 'list', 'aria-controls': 'canned-suggest' });
    this.suggest = h('ul', { class: 'suggest', id: 'canned-suggest', role: 'listbox', hidden: true, 'aria-label': t('composer.canned') });
    this.windowEl = h('div', { class: 'window-warning', id: 'reply-window', role: 'status', hidden: true });
    this.staleEl = h('div', { class: 'stale', id: 'stale-warning', role: 'alert', hidden: true });
    this.sendBtn = h('button', { type: 'submit', class: 'primary', id: 'send', text: t('composer.send') });
    this.hint = h('span', { class: 'muted small', text: t('composer.hint') });
    this.files = []; // uploaded, not yet sent: {id, filename, size}
    this.fileInput = h('input', { type: 'file', id: 'composer-files', multiple: true, class: 'sr-only',
      onchange: () => this.uploadFiles() });
    this.fileList = h('ul', { class: 'pending-files', id: 'pending-files', 'aria-label': t('composer.files') });
    const attach = h('label', { for: 'composer-files', class: 'button small attach', text: t('composer.attach') });
    this.el = h('form', { class: 'composer', id: 'composer' },
      h('div', { class: 'tabs', role: 'group', 'aria-label': t('composer.type') }, this.replyTab, this.noteTab),
      this.windowEl, this.staleEl, this.text, this.suggest, this.fileList,
      h('div', { class: 'composer-foot' }, this.fileInput, attach, this.hint, h('span', { class: 'spacer' }), this.sendBtn));
    this.el.addEventListener('submit', (e) => { e.preventDefault(); this.submit(false); });
    this.text.addEventListener('keydown', (e) => this.onKey(e));
    this.text.addEventListener('input', () => { this.updateSuggest(); this.typing(); this.pinDraft(); });
  }

  setConversation(conv) {
    const changed = !this.conv || this.conv.id !== conv.id;
    this.conv = conv;
    if (changed) {
      this.text.value = '';
      this.draftSeenId = null;
      this.files = [];
      this.renderFiles();
      this.clearStale();
      this.setMode(false);
    }
    this.tick();
  }

  setMode(note) {
    this.note = note;
    this.replyTab.setAttribute('aria-pressed', String(!note));
    this.noteTab.setAttribute('aria-pressed', String(note));
    this.el.classList.toggle('is-note', note);
    this.text.setAttribute('aria-label', t(note ? 'composer.noteLabel' : 'composer.replyLabel'));
    this.text.placeholder = t(note ? 'composer.notePlaceholder' : 'composer.replyPlaceholder');
    this.sendBtn.textContent = t(note ? 'composer.addNote' : 'composer.send');
    this.hideSuggest(); // mentions only make sense in notes: switching closes the list
    this.tick();
  }

  focus(note) { this.setMode(note); this.text.focus(); }

  /** Reply-window state, re-evaluated every second so the countdown ticks. */
  tick() {
    const c = this.conv;
    const left = c ? secondsUntil(c.reply_window_closes_at) : null;
    const closed = left !== null && left <= 0 && !this.note;
    if (left === null || this.note) {
      this.windowEl.hidden = true;
    } else if (left <= 0) {
      this.windowEl.hidden = false;
      this.windowEl.className = 'window-warning closed';
      if (!this.templateEl) this.renderTemplate();
    } else if (left < 4 * 3600) {
      this.windowEl.hidden = false;
      this.windowEl.className = 'window-warning';
      replace(this.windowEl, h('span', { text: t('composer.windowCloses', { time: formatDuration(left) }) }));
      this.templateEl = null;
    } else {
      this.windowEl.hidden = true;
      this.templateEl = null;
    }
    this.closed = closed;
  }

  renderTemplate() {
    const name = h('input', { type: 'text', id: 'template-name', required: true, placeholder: t('composer.templateExample') });
    const lang = h('input', { type: 'text', id: 'template-language', value: 'en_US', size: 6 });
    const params = h('input', { type: 'text', id: 'template-params', placeholder: t('composer.paramsPlaceholder') });
    this.templateEl = { name, lang, params };
    replace(this.windowEl,
      h('p', { text: t('composer.windowClosed') }),
      h('div', { class: 'row' },
        h('label', {}, `${t('composer.template')} `, name), h('label', {}, `${t('composer.language')} `, lang),
        h('label', {}, `${t('composer.params')} `, params)));
  }

  onKey(e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.submit(false); return; }
    if (this.onSuggestKey(e)) return;
    if (!this.suggest.hidden && (e.key === 'Enter' || e.key === 'Tab')) {
      const first = this.suggest.querySelector('[aria-selected="true"]') || this.suggest.firstChild;
      if (first) { e.preventDefault(); first.click(); }
    }
    if (e.key === 'Escape') this.suggest.hidden = true;
  }

  async updateSuggest() {
    if (this.suggestMention() || await this.suggestMacros()) return;
    const m = /^\/([A-Za-z0-9_-]*)$/.exec(this.text.value);
    if (!m) { this.suggest.hidden = true; return; }
    if (!this.canned) {
      try { this.canned = (await api.canned()).items; } catch { this.canned = []; }
    }
    const hits = this.canned.filter((c) => c.short_code.toLowerCase().startsWith(m[1].toLowerCase())).slice(0, 8);
    replace(this.suggest, hits.map((c, i) => h('li', { role: 'option', 'aria-selected': String(i === 0), tabindex: -1,
      onclick: () => { this.text.value = c.content; this.suggest.hidden = true; this.text.focus(); } },
    h('strong', { text: `/${c.short_code}` }), ' ', h('span', { class: 'muted', text: c.content.slice(0, 80) }))));
    this.suggest.hidden = hits.length === 0;
  }

  typing() {
    const socket = this.app.socket;
    if (!socket || !this.conv) return;
    const now = Date.now();
    if (!this.lastTyping || now - this.lastTyping > TYPING_EVERY_MS) {
      socket.send({ type: 'typing', conversation_id: this.conv.id, private: this.note, active: true });
      this.lastTyping = now;
    }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      socket.send({ type: 'typing', conversation_id: this.conv.id, private: this.note, active: false });
      this.lastTyping = 0;
    }, TYPING_IDLE_MS);
  }

  async uploadFiles() {
    const conv = this.conv;
    for (const file of [...this.fileInput.files]) {
      try {
        this.files.push(await api.upload(conv.id, file));
      } catch (err) { toast(`${file.name}: ${errorText(err)}`, 'error'); }
    }
    this.fileInput.value = '';
    this.renderFiles();
  }

  renderFiles() {
    replace(this.fileList, this.files.map((f) => h('li', { class: 'chip' }, h('span', { text: f.filename }),
      h('button', { type: 'button', class: 'chip-x', 'aria-label': t('composer.remove', { name: f.filename }), text: '×',
        onclick: () => { this.files = this.files.filter((x) => x !== f); this.renderFiles(); } }))));
  }

  clearStale() { this.staleEl.hidden = true; replace(this.staleEl); this.pending = null; this.arrived = []; }

  /** A draft starts with its first character and ends when it is sent or emptied. */
  pinDraft() {
    if (!this.conv) return;
    if (!this.text.value.trim()) { this.draftSeenId = null; this.clearStale(); return; }
    if (this.draftSeenId === null) this.draftSeenId = this.store.lastMessageId(this.conv.id) ?? 0;
  }

  /** Called for every message of this conversation the store takes in (live or fetched). */
  messageArrived(msg) {
    if (!this.conv || this.draftSeenId === null || this.note || msg.id <= this.draftSeenId) return;
    if (!isNewToMe(msg, this.store.me)) return;
    if (this.arrived.some((m) => m.id === msg.id)) return;
    this.arrived.push(msg);
    this.showArrived(false);
  }

  /** Names became known (the agent directory was refreshed): say the notice again with them. */
  refreshNotice() {
    if (!this.staleEl.hidden && this.arrived.length) this.showArrived(Boolean(this.staleEl.querySelector('#send-anyway')));
  }

  /** The in-composer notice; confirming is one click on "Send anyway". */
  showArrived(held) {
    const list = this.arrived;
    const n = list.length;
    const last = list[n - 1];
    const who = last.direction === 'in' ? t('composer.theCustomer') : (this.store.agentName(last.sender_id) || t('composer.anotherAgent'));
    const quote = (last.text || '').length > 140 ? `${last.text.slice(0, 140)}…` : (last.text || t('composer.anAttachment'));
    this.staleEl.hidden = false;
    replace(this.staleEl,
      h('p', { class: 'stale-text' },
        h('strong', { text: tn('composer.newWhileWriting', n) }),
        ` ${t('composer.wrote', { who, quote })}`),
      h('p', { class: 'small', text: t(held ? 'composer.notSent' : 'composer.readFirst') }),
      h('div', { class: 'row' },
        held ? h('button', { type: 'button', id: 'send-anyway', class: 'small primary', text: t('composer.sendAnyway'), onclick: () => this.submit(true) }) : null,
        h('button', { type: 'button', class: 'small ghost', id: 'stale-review', text: t('composer.haveRead'), onclick: () => {
          this.pane.threadEl.scrollTop = this.pane.threadEl.scrollHeight;
          this.draftSeenId = this.store.lastMessageId(this.conv.id) ?? this.draftSeenId;
          this.clearStale();
          this.text.focus();
        } })));
  }

  body(force) {
    const body = { text: this.text.value, private: this.note, client_id: this.pendingClientId || clientId(),
      last_seen_message_id: this.draftSeenId ?? this.store.lastMessageId(this.conv.id), force,
      attachment_ids: this.files.map((f) => f.id) };
    if (!this.note && this.closed && this.templateEl) {
      const tpl = this.templateEl;
      // WhatsApp's template shape: body parameters become one "body" component.
      const params = tpl.params.value ? tpl.params.value.split(',').map((s) => s.trim()).filter(Boolean) : [];
      body.template = { name: tpl.name.value.trim(), language: tpl.lang.value.trim() || 'en_US' };
      if (params.length) {
        body.template.components = [{ type: 'body', parameters: params.map((text) => ({ type: 'text', text })) }];
      }
    }
    return body;
  }

  async submit(force) {
    if (!this.conv || this.sending) return;
    const template = !this.note && this.closed;
    if (!this.text.value.trim() && !template && !this.files.length) { this.text.focus(); return; }
    if (template && !(this.templateEl && this.templateEl.name.value.trim())) {
      toast(t('composer.chooseTemplate'), 'error');
      return;
    }
    const body = this.body(force);
    this.pendingClientId = body.client_id; // the same id on "send anyway" keeps it idempotent
    this.sending = true;
    this.sendBtn.disabled = true;
    try {
      const r = await api.send(this.conv.id, body);
      if (r.message) this.store.putMessage(r.message);
      this.text.value = '';
      this.files = [];
      this.renderFiles();
      this.pendingClientId = null;
      this.draftSeenId = null;
      this.clearStale();
      if (this.app.socket) this.app.socket.send({ type: 'typing', conversation_id: this.conv.id, private: this.note, active: false });
    } catch (err) {
      if (err.code === 'stale_reply') this.showStale(err.details || {});
      else toast(errorText(err), 'error');
    } finally {
      this.sending = false;
      this.sendBtn.disabled = false;
    }
  }

  showStale(details) {
    const fresh = details.messages || [];
    for (const m of fresh) this.store.putMessage(m);
    for (const m of fresh) if (!this.arrived.some((x) => x.id === m.id)) this.arrived.push(m);
    if (!this.arrived.length) this.arrived.push({ direction: 'in', text: '' });
    this.showArrived(true);
    const btn = this.staleEl.querySelector('#send-anyway');
    if (btn) btn.focus();
  }

  // @-mentions, /macro and keyboard moves in the suggestion list (issue 15) -----------------

  /** In a note, `@name` before the caret offers the agents and teams who see this inbox. */
  suggestMention() {
    const at = this.note && this.conv ? mentionAt(this.text.value, this.text.selectionStart) : null;
    if (!at) return false;
    const hits = mentionCandidates(this.store, this.conv.inbox_id, at.query);
    this.showSuggest(t('composer.mentions'), hits, (c) => [h('strong', { text: `@${c.handle}` }), ' ',
      h('span', { class: 'muted', text: c.kind === 'team' ? t('composer.mentionTeam', { name: c.name }) : c.name })],
    (c) => this.insertMention(at.start, c.handle));
    return true;
  }

  insertMention(start, handle) {
    const caret = this.text.selectionStart;
    const value = this.text.value;
    const inserted = `@${handle} `;
    this.text.value = value.slice(0, start) + inserted + value.slice(caret);
    const end = start + inserted.length;
    this.hideSuggest();
    this.text.focus();
    this.text.setSelectionRange(end, end);
    this.pinDraft();
  }

  /** `/macro name` offers the agent's macros; picking one runs it on this conversation. */
  async suggestMacros() {
    const m = /^\/macro(?:\s+(.*))?$/s.exec(this.text.value);
    if (!m || (m[1] === undefined && !/\s$/.test(this.text.value))) return false;
    // Fetched afresh when `/macro ` is first typed: a macro saved a moment ago is offered.
    const typed = this.text.value;
    const macros = await macrosOf(this.app, !m[1]);
    if (this.text.value !== typed) return true; // a later keystroke shows its own list
    const hits = matchingMacros(macros, m[1] || '');
    this.showSuggest(t('composer.macros'), hits, (x) => [h('strong', { text: `/macro ${x.name}` }), ' ',
      h('span', { class: 'muted', text: t('composer.macroRuns') })], (x) => {
      this.text.value = '';
      this.hideSuggest();
      this.pinDraft();
      if (this.pane.macroMenu) this.pane.macroMenu.run(x);
    });
    return true;
  }

  /** One list for canned replies, mentions and macros: click or tap picks, as Enter does. */
  showSuggest(label, items, render, pick) {
    this.suggest.setAttribute('aria-label', label);
    replace(this.suggest, items.map((item, i) => h('li', { role: 'option', id: `suggest-${i}`, 'aria-selected': String(i === 0), tabindex: -1,
      onmousedown: (e) => e.preventDefault(), // keep the caret in the text while clicking
      onclick: () => pick(item) }, render(item))));
    this.suggest.hidden = items.length === 0;
    this.markSelected();
  }

  hideSuggest() {
    this.suggest.hidden = true;
    this.text.removeAttribute('aria-activedescendant');
  }

  markSelected() {
    const sel = this.suggest.hidden ? null : this.suggest.querySelector('[aria-selected="true"]');
    if (sel && sel.id) this.text.setAttribute('aria-activedescendant', sel.id);
    else this.text.removeAttribute('aria-activedescendant');
  }

  /** Arrow keys move through the open list; Escape closes it. True when the key was used. */
  onSuggestKey(e) {
    if (this.suggest.hidden) return false;
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); this.hideSuggest(); return true; }
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return false;
    e.preventDefault();
    const items = [...this.suggest.children];
    const now = items.findIndex((li) => li.getAttribute('aria-selected') === 'true');
    const next = (now + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
    items.forEach((li, i) => li.setAttribute('aria-selected', String(i === next)));
    items[next].scrollIntoView({ block: 'nearest' });
    this.markSelected();
    return true;
  }
}

/** A message that should make an agent re-read before replying: the customer's, or another
 * person's public reply (the server's guard uses the same rule: server/actions/replies.py). */
function isNewToMe(msg, me) {
  if (msg.kind !== 'message') return false;
  return msg.direction === 'in' || msg.sender_id == null || !me || msg.sender_id !== me.id;
}
