// Languages (docs/languages.md): every text a person reads goes through t() or tn().
// Catalogues live in web/i18n/<code>.js as one JSON object each; a key missing in a
// language falls back to English (and a test fails on it, tests/unit/test_i18n.py).
// Plurals follow the language's own rules (Intl.PluralRules: Polish has one/few/many).
import en from '../i18n/en.js';
import pl from '../i18n/pl.js';
import el from '../i18n/el.js';

export const LANGUAGES = { en: 'English', pl: 'Polski', el: 'Ελληνικά' };
const CATALOGUES = { en, pl, el };
const STORAGE_KEY = 'switchboard.language';

let current = choose();

function choose() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && CATALOGUES[saved]) return saved;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const code = String(tag).slice(0, 2).toLowerCase();
    if (CATALOGUES[code]) return code;
  }
  return 'en';
}

export function language() { return current; }

/** Switch language (kept in this browser); the caller re-renders. */
export function setLanguage(code) {
  if (!CATALOGUES[code]) return;
  current = code;
  localStorage.setItem(STORAGE_KEY, code);
  document.documentElement.lang = code;
}

function entry(key) {
  const found = CATALOGUES[current][key] ?? en[key];
  if (found === undefined) console.warn(`missing text: ${key}`);
  return found;
}

function fill(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The text for `key` in the current language, with {name} placeholders filled. */
export function t(key, params) {
  const found = entry(key);
  if (found === undefined) return key;
  return fill(typeof found === 'string' ? found : found.other, params);
}

/** A counted text: the plural form the language uses for `count` ({count} is filled in). */
export function tn(key, count, params) {
  const found = entry(key);
  if (found === undefined) return key;
  const form = typeof found === 'string' ? found
    : found[new Intl.PluralRules(current).select(count)] ?? found.other;
  return fill(form, { count: formatNumber(count), ...params });
}

export function formatNumber(value, options) {
  return new Intl.NumberFormat(current, options).format(value);
}

export function formatDateTime(date, options) {
  return new Intl.DateTimeFormat(current, options).format(date);
}
