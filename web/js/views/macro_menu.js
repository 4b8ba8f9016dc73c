// "Run macro" in the open conversation (docs/automation.md, Macros): the agent's shared and
// personal macros, each run with one click; the composer's `/macro name` runs one too. The
// outcome is said in words here; the activity line arrives over the live socket anyway.
import { api } from '../api.js';
import { h, replace, toast, errorText } from '../dom.js';
import { t, tn } from '../i18n.js';
import { runMacro } from './rules.js';

/** The macros this agent may run (shared + own), fetched once per app and on demand. */
export async function macrosOf(app, refresh) {
  // One fetch at a time, and everyone asking meanwhile waits for it: a keystroke right
  // after `/macro ` must not be answered from the list as it was before the refresh.
  if (refresh || (!app.macros && !app.macrosLoading)) {
    app.macrosLoading = api.get('/api/macros')
      .then((r) => { app.macros = r.macros || []; return app.macros; })
      .catch(() => { app.macros = app.macros || []; return app.macros; })
      .finally(() => { app.macrosLoading = null; });
  }
  return app.macrosLoading || app.macros;
}

/** Macros whose name contains the query (case ignored), for `/macro name`. */
export function matchingMacros(macros, query) {
  const q = query.trim().toLowerCase();
  return macros.filter((m) => m.name.toLowerCase().includes(q)).slice(0, 8);
}

export class MacroMenu {
  constructor(app, pane) {
    this.app = app;
    this.pane = pane;
    this.list = h('ul', { class: 'macro-list', id: 'macro-menu', hidden: true, 'aria-label': t('macro.menu') });
    this.button = h('button', { type: 'button', class: 'small', id: 'macro-toggle', 'aria-expanded': 'false',
      'aria-controls': 'macro-menu', text: t('macro.run'), onclick: () => this.toggle() });
    this.outcome = h('p', { class: 'small macro-outcome', id: 'macro-outcome', role: 'status' });
    this.el = h('div', { class: 'conv-macros' }, this.button, this.list, this.outcome);
    this.el.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !this.list.hidden) { this.close(); this.button.focus(); } });
  }

  close() { this.list.hidden = true; this.button.setAttribute('aria-expanded', 'false'); }

  async toggle() {
    if (!this.list.hidden) { this.close(); return; }
    const macros = await macrosOf(this.app, true);
    replace(this.list, macros.length
      ? macros.map((m) => h('li', {}, h('button', { type: 'button', class: 'small ghost', dataset: { macroId: m.id },
        text: m.visibility === 'shared' ? t('macro.shared', { name: m.name }) : m.name, onclick: () => { this.close(); this.run(m); } })))
      : h('li', { class: 'muted small', text: t('macro.none') }));
    this.list.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    const first = this.list.querySelector('button');
    if (first) first.focus();
  }

  /** Run one macro on the open conversation and say what happened. */
  async run(macro) {
    const conv = this.pane.conv();
    if (!conv) return;
    this.outcome.textContent = t('macro.running', { name: macro.name });
    try {
      const r = await runMacro(conv.id, macro.id, { quiet: true });
      if (r.conversation) this.app.store.putConversation(r.conversation);
      this.outcome.textContent = describeOutcome(macro, r.results || []);
    } catch (err) {
      this.outcome.textContent = t('macro.failed', { name: macro.name, error: errorText(err) });
      toast(this.outcome.textContent, 'warn');
    }
  }
}

/** "Macro “Refund” done: added label refund, resolved the conversation." (the details are the
 * server's own words, as in the activity line). */
export function describeOutcome(macro, results) {
  const done = results.filter((x) => x.ok).map((x) => x.text).filter(Boolean);
  const failed = results.filter((x) => !x.ok).map((x) => x.error).filter(Boolean);
  const head = done.length ? t('macro.done', { name: macro.name, what: done.join(', ') }) : t('macro.doneNothing', { name: macro.name });
  return failed.length ? `${head} ${tn('macro.someFailed', failed.length, { why: failed.join('; ') })}` : head;
}
