import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, replace, errorText } from '../dom.js';

// Two-factor step and password help (docs/accounts.md).
const TWO_FACTOR = {
  get code() { return t('login.twoFactorCode'); },
  get ask() { return t('login.twoFactorAsk'); },
  get wrong() { return t('login.twoFactorWrong'); },
  get forgot() { return t('login.forgot'); },
};

export function renderLogin(root, onLoggedIn) {
  const error = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
  const email = h('input', { type: 'email', id: 'login-email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'login-password', name: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'primary', text: t('login.submit') });
  const code = h('input', { id: 'login-code', name: 'code', autocomplete: 'one-time-code', inputmode: 'text', maxlength: 64 });
  const codeRow = h('div', { hidden: true, id: 'login-code-row' }, h('label', { for: 'login-code', text: TWO_FACTOR.code }), code);
  const form = h('form', { class: 'login-card', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title', text: 'Switchboard' }),
    h('p', { class: 'muted', text: t('login.intro') }),
    h('label', { for: 'login-email', text: t('login.email') }), email,
    h('label', { for: 'login-password', text: t('login.password') }), password,
    codeRow, error, button, h('p', {}, h('a', { href: '#/forgot', id: 'forgot-link', text: TWO_FACTOR.forgot })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    button.disabled = true;
    try {
      await api.login(email.value.trim(), password.value, code.value.trim() || undefined);
      const me = await api.me();
      await onLoggedIn(me);
    } catch (err) {
      if (err.code === 'totp_required' || (err.details && err.details.reason === 'totp_wrong')) {
        codeRow.hidden = false;
        error.textContent = err.code === 'totp_required' ? TWO_FACTOR.ask : TWO_FACTOR.wrong;
        code.focus();
        return;
      }
      error.textContent = err.status === 401 || err.status === 400 ? t('login.wrong') : errorText(err);
    } finally {
      button.disabled = false;
    }
  });
  replace(root, h('div', { class: 'login-page' }, form));
  email.focus();
}
