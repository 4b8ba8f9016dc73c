// Small pieces shared by the account screens (account.js, account_admin.js, invite.js).
import { language, t } from '../i18n.js';
import { h } from '../dom.js';

// Sentences shared by the account screens (texts in web/i18n/<language>.js).
export const COMMON = {
  get never() { return t('accountCommon.never'); },
  get unknownDevice() { return t('accountCommon.unknownDevice'); },
  get failed() { return t('accountCommon.failed'); },
  get offline() { return t('accountCommon.offline'); },
  get tooMany() { return t('accountCommon.tooMany'); },
  get notAllowed() { return t('accountCommon.notAllowed'); },
  get expiredLink() { return t('accountCommon.expiredLink'); },
  get sessionEnded() { return t('accountCommon.sessionEnded'); },
  get serverTrouble() { return t('accountCommon.serverTrouble'); },
  get mismatch() { return t('accountCommon.mismatch'); },
  get tooShort() { return t('accountCommon.tooShort'); },
};

/** A sentence for an error from the API: the server's own sentence when it wrote one. */
export function say(err) {
  if (!err || typeof err.status !== 'number') return COMMON.failed;
  if (err.status === 0) return COMMON.offline;
  if (err.status === 429) return COMMON.tooMany;
  if (err.status >= 500) return COMMON.serverTrouble;
  if (err.status === 404 && /link/.test(err.message || '')) return COMMON.expiredLink;
  if (err.status === 422 && /password/.test(err.message || '')) return COMMON.tooShort;
  const text = (err.message || '').replace(/^[a-z_]+: /, '');
  if (!text) return err.status === 403 ? COMMON.notAllowed : COMMON.failed;
  const sentence = text[0].toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** "2026-11-30T19:16:00Z" → a local date and time; null → "Never". */
export function when(iso) {
  if (!iso) return COMMON.never;
  return new Date(iso).toLocaleString(language(), { dateStyle: 'medium', timeStyle: 'short' });
}

/** A browser name and system from a user agent, for the sessions list. */
export function device(userAgent) {
  const ua = userAgent || '';
  if (!ua) return COMMON.unknownDevice;
  const browser = [['Edg/', 'Edge'], ['Firefox/', 'Firefox'], ['Chrome/', 'Chrome'], ['Safari/', 'Safari']]
    .find(([k]) => ua.includes(k));
  const system = [['Windows', 'Windows'], ['Android', 'Android'], ['iPhone', 'iPhone'], ['Mac OS', 'macOS'], ['Linux', 'Linux']]
    .find(([k]) => ua.includes(k));
  if (!browser && !system) return ua.slice(0, 60);
  return [browser && browser[1], system && system[1]].filter(Boolean).join(' on ');
}

export function field(id, label, control) {
  return [h('label', { for: id, text: label }), control];
}

export function table(headers, rows, attrs) {
  return h('table', { class: 'data', ...(attrs || {}) },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, rows));
}

export function passwordInput(id, autocomplete) {
  return h('input', { id, type: 'password', minlength: 8, maxlength: 1024, required: true, autocomplete });
}

/** Run a form's action with its button disabled; errors go to ``error`` as a sentence. */
export async function submitting(form, error, fn) {
  const button = form.querySelector('button[type=submit]');
  if (button) button.disabled = true;
  if (error) error.textContent = '';
  try {
    await fn();
  } catch (err) {
    if (error) error.textContent = say(err);
  } finally {
    if (button) button.disabled = false;
  }
}
