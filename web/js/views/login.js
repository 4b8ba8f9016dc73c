import { api } from '../api.js';
import { h, replace, errorText } from '../dom.js';

export function renderLogin(root, onLoggedIn) {
  const error = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
  const email = h('input', { type: 'email', id: 'login-email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'login-password', name: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Log in' });
  const form = h('form', { class: 'login-card', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title', text: 'Switchboard' }),
    h('p', { class: 'muted', text: 'Sign in to your team inbox' }),
    h('label', { for: 'login-email', text: 'Email' }), email,
    h('label', { for: 'login-password', text: 'Password' }), password,
    error, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    button.disabled = true;
    try {
      await api.login(email.value.trim(), password.value);
      const me = await api.me();
      await onLoggedIn(me);
    } catch (err) {
      error.textContent = err.status === 401 || err.status === 400 ? 'Wrong email or password.' : errorText(err);
    } finally {
      button.disabled = false;
    }
  });
  replace(root, h('div', { class: 'login-page' }, form));
  email.focus();
}
