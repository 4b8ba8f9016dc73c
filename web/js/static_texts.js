// The texts written in web/index.html (top bar, help dialog), set in the chosen language at
// start (docs/languages.md). Ids and classes stay as they are; only texts and labels change.
import { t, language } from './i18n.js';

const TEXTS = [
  ['.skip-link', 'static.skip'],
  ['[data-nav="inbox"]', 'static.nav.inbox'],
  ['[data-nav="search"]', 'static.nav.search'],
  ['[data-nav="reports"]', 'static.nav.reports'],
  ['[data-nav="automation"]', 'static.nav.automation'],
  ['[data-nav="admin"]', 'static.nav.admin'],
  ['[data-nav="account"]', 'static.nav.account'],
  ['#new-conversation-btn', 'static.newConversation'],
  ['label.language .sr-only', 'static.language'],
  ['label.presence .sr-only', 'static.presence'],
  ['#presence option[value="online"]', 'static.online'],
  ['#presence option[value="away"]', 'static.away'],
  ['#logout', 'static.logout'],
  ['#help-title', 'static.help.title'],
  ['#help form button', 'static.help.close'],
];
const LABELS = [
  ['nav[aria-label]', 'static.nav.label'],
  ['#help-btn', 'static.help.title'],
  ['#topbar-more', 'static.more'],
];
// The help dialog's descriptions, in the order of index.html.
const HELP = ['static.help.step', 'static.help.reply', 'static.help.note', 'static.help.resolve',
  'static.help.search', 'static.help.send', 'static.help.help'];

export function translateStatic() {
  document.documentElement.lang = language();
  for (const [selector, key] of TEXTS) {
    const el = document.querySelector(selector);
    if (el) el.textContent = t(key);
  }
  for (const [selector, key] of LABELS) {
    const el = document.querySelector(selector);
    if (el) el.setAttribute('aria-label', t(key));
  }
  document.querySelectorAll('#help dd').forEach((dd, i) => { if (HELP[i]) dd.textContent = t(HELP[i]); });
}
