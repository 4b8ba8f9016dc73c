// Pages reached without a session: accept an invite (#/invite/<token>), reset a password
// (#/reset/<token>) and ask for a reset link (#/forgot). The token stays in the URL
// fragment, which browsers never send to a server or put in a Referer.
import { t } from '../i18n.js';
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { COMMON, field, passwordInput, say, submitting } from './account_common.js';

const TEXT = {
  get brand() { return t('invite.brand'); },
  welcome: (name) => t('invite.welcome', { name }),
  inviteIntro: (email) => t('invite.inviteIntro', { email }),
  get forgotAnswer() { return t('invite.forgotAnswer'); },
  get password() { return t('invite.password'); },
  get again() { return t('invite.again'); },
  get start() { return t('invite.start'); },
  get resetTitle() { return t('invite.resetTitle'); },
  get resetIntro() { return t('invite.resetIntro'); },
  get save() { return t('invite.save'); },
  get resetDone() { return t('invite.resetDone'); },
  get toLogin() { return t('invite.toLogin'); },
  get forgotTitle() { return t('invite.forgotTitle'); },
  get forgotIntro() { return t('invite.forgotIntro'); },
  get email() { return t('invite.email'); },
  get send() { return t('invite.send'); },
  get badLink() { return COMMON.expiredLink; },
};

/** Render a page for the current hash if it is one of ours; true when it was. */
export function renderPublicPage(root, onLoggedIn) {
  const [section, token] = location.hash.replace(/^#\/?/, '').split('/');
  if (section === 'invite' && token) renderInvite(root, token, onLoggedIn);
  else if (section === 'reset' && token) renderReset(root, token);
  else if (section === 'forgot') renderForgot(root);
  else return false;
  return true;
}

function card(title, ...children) {
  return h('div', { class: 'login-page' }, h('div', { class: 'login-card', role: 'region', 'aria-labelledby': 'public-title' },
    h('p', { class: 'muted', text: TEXT.brand }), h('h1', { id: 'public-title', text: title }), ...children));
}

function loginLink() {
  return h('p', {}, h('a', { href: '#/', id: 'to-login', text: TEXT.toLogin }));
}

function passwordForm(button, onPassword) {
  const password = passwordInput('new-password', 'new-password');
  const again = passwordInput('new-password-again', 'new-password');
  const error = h('p', { class: 'form-error', role: 'alert', id: 'public-error' });
  const form = h('form', {}, ...field('new-password', TEXT.password, password), ...field('new-password-again', TEXT.again, again),
    error, h('button', { type: 'submit', class: 'primary', text: button }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, error, async () => {
      if (password.value !== again.value) { error.textContent = COMMON.mismatch; return; }
      await onPassword(password.value);
    });
  });
  return form;
}

async function renderInvite(root, token, onLoggedIn) {
  let who;
  try {
    who = await api.post('/api/auth/links/invite', { token });
  } catch (err) {
    replace(root, card(TEXT.badLink, h('p', { class: 'form-error', role: 'alert', text: say(err) }), loginLink()));
    return;
  }
  const form = passwordForm(TEXT.start, async (password) => {
    await api.post('/api/auth/invite/accept', { token, password });
    history.replaceState(null, '', '#/account'); // the link is spent: do not keep it around
    await onLoggedIn(await api.me());
  });
  replace(root, card(TEXT.welcome(who.name), h('p', { text: TEXT.inviteIntro(who.email) }), form));
  root.querySelector('#new-password').focus();
}

function renderReset(root, token) {
  const form = passwordForm(TEXT.save, async (password) => {
    await api.post('/api/auth/password-reset/confirm', { token, password });
    history.replaceState(null, '', '#/');
    replace(root, card(TEXT.resetTitle, h('p', { role: 'status', id: 'reset-done', text: TEXT.resetDone }), loginLink()));
  });
  replace(root, card(TEXT.resetTitle, h('p', { text: TEXT.resetIntro }), form));
}

function renderForgot(root) {
  const email = h('input', { type: 'email', id: 'forgot-email', autocomplete: 'username', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const answer = h('p', { role: 'status', id: 'forgot-answer' });
  const form = h('form', {}, ...field('forgot-email', TEXT.email, email), error,
    h('button', { type: 'submit', class: 'primary', text: TEXT.send }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, error, async () => {
      await api.post('/api/auth/password-reset', { email: email.value.trim() });
      answer.textContent = TEXT.forgotAnswer; // the same answer for every address
    });
  });
  replace(root, card(TEXT.forgotTitle, h('p', { text: TEXT.forgotIntro }), form, answer, loginLink()));
  email.focus();
}
