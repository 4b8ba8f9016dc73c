// The account page (#/account): own password, two-factor with recovery codes, sessions,
// API tokens. Admins also get the team pages (account_admin.js) in the same side menu.
import { t } from '../i18n.js';
import { api } from '../api.js';
import { h, replace, toast } from '../dom.js';
import { field, passwordInput, say, submitting, table, when, device, COMMON } from './account_common.js';
import { renderAgentsAdmin, renderSecurity, renderAudit } from './account_admin.js';

const TEXT = {
  get menu() { return t('account.menu'); },
  get me() { return t('account.me'); },
  get agents() { return t('account.agents'); },
  get security() { return t('account.security'); },
  get audit() { return t('account.audit'); },
  get title() { return t('account.title'); },
  get setupTitle() { return t('account.setupTitle'); },
  get setupIntro() { return t('account.setupIntro'); },
  get password() { return t('account.password'); },
  get current() { return t('account.current'); },
  get newPassword() { return t('account.newPassword'); },
  get confirm() { return t('account.confirm'); },
  get changePassword() { return t('account.changePassword'); },
  get passwordChanged() { return t('account.passwordChanged'); },
  get twoFactor() { return t('account.twoFactor'); },
  get twoFactorOn() { return t('account.twoFactorOn'); },
  get twoFactorOff() { return t('account.twoFactorOff'); },
  get start() { return t('account.start'); },
  get secretIntro() { return t('account.secretIntro'); },
  get secret() { return t('account.secret'); },
  get uri() { return t('account.uri'); },
  get code() { return t('account.code'); },
  get enable() { return t('account.enable'); },
  get enabled() { return t('account.enabled'); },
  get codesTitle() { return t('account.codesTitle'); },
  get codesIntro() { return t('account.codesIntro'); },
  get codesDone() { return t('account.codesDone'); },
  get newCodes() { return t('account.newCodes'); },
  get turnOff() { return t('account.turnOff'); },
  get passwordPrompt() { return t('account.passwordPrompt'); },
  get confirmAction() { return t('account.confirmAction'); },
  get turnedOff() { return t('account.turnedOff'); },
  get sessions() { return t('account.sessions'); },
  get sessionsIntro() { return t('account.sessionsIntro'); },
  get deviceCol() { return t('account.deviceCol'); },
  get addressCol() { return t('account.addressCol'); },
  get startedCol() { return t('account.startedCol'); },
  get lastSeenCol() { return t('account.lastSeenCol'); },
  get thisDevice() { return t('account.thisDevice'); },
  get logOut() { return t('account.logOut'); },
  get loggedOut() { return t('account.loggedOut'); },
  get everywhere() { return t('account.everywhere'); },
  get everywhereDone() { return t('account.everywhereDone'); },
  get tokens() { return t('account.tokens'); },
  get tokensIntro() { return t('account.tokensIntro'); },
  get nameCol() { return t('account.nameCol'); },
  get createdCol() { return t('account.createdCol'); },
  get lastUsedCol() { return t('account.lastUsedCol'); },
  get expiresCol() { return t('account.expiresCol'); },
  get noExpiry() { return t('account.noExpiry'); },
  get revoke() { return t('account.revoke'); },
  get revoked() { return t('account.revoked'); },
  get noTokens() { return t('account.noTokens'); },
  get tokenName() { return t('account.tokenName'); },
  get tokenDays() { return t('account.tokenDays'); },
  get createToken() { return t('account.createToken'); },
  get tokenShown() { return t('account.tokenShown'); },
  get promoted() { return t('account.promoted'); },
  get demoted() { return t('account.demoted'); },
};

/** The socket closed with 4401: this session was ended (elsewhere, or by a password change). */
export function sessionEnded() {
  toast(COMMON.sessionEnded, 'warn');
}

/** ``agent.updated`` about me: my role changed; the server already applies it. */
export function agentUpdated(app, event) {
  const user = event.payload && event.payload.user;
  const me = app.store.me;
  if (!user || !me || user.id !== me.id || user.role === me.role) return;
  me.role = user.role;
  document.getElementById('nav-admin').hidden = !app.isAdmin;
  toast(app.isAdmin ? TEXT.promoted : TEXT.demoted);
  if (!app.isAdmin && /^#\/(admin|account\/)/.test(location.hash)) location.hash = '#/inbox';
}

export async function renderAccount(root, app, parts) {
  const section = app.setupOnly ? 'me' : parts[0] || 'me';
  const content = h('div', { class: 'page', id: 'account-content' });
  const sections = [['me', TEXT.me]];
  if (app.isAdmin && !app.setupOnly) sections.push(['agents', TEXT.agents], ['security', TEXT.security], ['audit', TEXT.audit]);
  const nav = h('nav', { class: 'subnav', 'aria-label': TEXT.menu }, sections.map(([k, label]) =>
    h('a', { href: k === 'me' ? '#/account' : `#/account/${k}`, 'aria-current': k === section ? 'page' : null, text: label })));
  replace(root, h('div', { class: 'page-layout' }, nav, content));
  try {
    if (section === 'agents' && app.isAdmin) await renderAgentsAdmin(content, app);
    else if (section === 'security' && app.isAdmin) await renderSecurity(content);
    else if (section === 'audit' && app.isAdmin) await renderAudit(content);
    else await renderMe(content, app);
  } catch (err) {
    replace(content, h('p', { class: 'form-error', role: 'alert', text: say(err) }));
  }
}

async function renderMe(root, app) {
  const me = await api.me();
  const twoFactor = h('div', { class: 'card', id: 'account-2fa' });
  renderTwoFactor(twoFactor, me.account && me.account.two_factor, app);
  if (app.setupOnly) {
    replace(root, h('h1', { text: TEXT.setupTitle }), h('p', { text: TEXT.setupIntro }), twoFactor);
    return;
  }
  const sessions = h('div', { class: 'card', id: 'account-sessions' });
  const tokens = h('div', { class: 'card', id: 'account-tokens' });
  replace(root, h('h1', { text: TEXT.title }), passwordCard(), twoFactor, sessions, tokens);
  await Promise.all([renderSessions(sessions, app), renderTokens(tokens)]);
}

function passwordCard() {
  const current = passwordInput('pw-current', 'current-password');
  current.removeAttribute('minlength');
  const next = passwordInput('pw-new', 'new-password');
  const again = passwordInput('pw-again', 'new-password');
  const error = h('p', { class: 'form-error', role: 'alert', id: 'pw-error' });
  const form = h('form', {}, h('div', { class: 'form-grid' }, field('pw-current', TEXT.current, current),
    field('pw-new', TEXT.newPassword, next), field('pw-again', TEXT.confirm, again)), error,
  h('button', { type: 'submit', class: 'primary', text: TEXT.changePassword }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, error, async () => {
      if (next.value !== again.value) { error.textContent = COMMON.mismatch; return; }
      await api.post('/api/account/password', { current_password: current.value, new_password: next.value });
      form.reset();
      toast(TEXT.passwordChanged);
    });
  });
  return h('div', { class: 'card', id: 'account-password' }, h('h2', { text: TEXT.password }), form);
}

function renderTwoFactor(root, on, app) {
  if (!on) {
    const start = h('button', { type: 'button', class: 'primary', id: 'totp-start', text: TEXT.start });
    const error = h('p', { class: 'form-error', role: 'alert' });
    start.addEventListener('click', async () => {
      start.disabled = true;
      try { showSecret(root, await api.post('/api/account/totp/setup'), app); } catch (err) { error.textContent = say(err); start.disabled = false; }
    });
    replace(root, h('h2', { text: TEXT.twoFactor }), h('p', { text: TEXT.twoFactorOff }), error, start);
    return;
  }
  const prompt = h('div', { id: 'totp-prompt' });
  const ask = (label, fn) => () => askPassword(prompt, label, fn);
  replace(root, h('h2', { text: TEXT.twoFactor }), h('p', { id: 'totp-state', text: TEXT.twoFactorOn }),
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'totp-codes', text: TEXT.newCodes, onclick: ask(TEXT.newCodes, async (password) => {
        const { recovery_codes: codes } = await api.post('/api/account/recovery-codes', { password });
        showCodes(root, codes, app);
      }) }), ' ',
      h('button', { type: 'button', id: 'totp-off', text: TEXT.turnOff, onclick: ask(TEXT.turnOff, async (password) => {
        await api.post('/api/account/totp/disable', { password });
        toast(TEXT.turnedOff);
        renderTwoFactor(root, false, app);
      }) })),
    prompt);
}

function askPassword(host, label, fn) {
  const password = passwordInput('totp-password', 'current-password');
  password.removeAttribute('minlength');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { 'aria-label': label }, h('div', { class: 'form-grid' }, field('totp-password', TEXT.passwordPrompt, password)),
    error, h('button', { type: 'submit', class: 'primary', text: TEXT.confirmAction }));
  form.addEventListener('submit', (e) => { e.preventDefault(); submitting(form, error, () => fn(password.value)); });
  replace(host, form);
  password.focus();
}

function showSecret(root, setup, app) {
  const code = h('input', { id: 'totp-code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9 ]{6,7}', required: true });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'totp-error' });
  const form = h('form', {}, h('div', { class: 'form-grid' }, field('totp-code', TEXT.code, code)), error,
    h('button', { type: 'submit', class: 'primary', text: TEXT.enable }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, error, async () => {
      const { recovery_codes: codes } = await api.post('/api/account/totp/enable', { code: code.value.replace(/\s/g, '') });
      toast(TEXT.enabled);
      showCodes(root, codes, app);
    });
  });
  const grouped = setup.secret.match(/.{1,4}/g).join(' ');
  replace(root, h('h2', { text: TEXT.twoFactor }), h('p', { text: TEXT.secretIntro }),
    h('dl', { class: 'totp-setup' },
      h('dt', { text: TEXT.secret }), h('dd', {}, h('code', { id: 'totp-secret', dataset: { secret: setup.secret }, text: grouped })),
      h('dt', { text: TEXT.uri }), h('dd', {}, h('code', { id: 'totp-uri', text: setup.otpauth_uri }))),
    form);
  code.focus();
}

function showCodes(root, codes, app) {
  const done = h('button', { type: 'button', class: 'primary', id: 'codes-done', text: TEXT.codesDone });
  done.addEventListener('click', () => {
    if (app.setupOnly) { location.hash = '#/inbox'; location.reload(); return; } // a full session now
    renderTwoFactor(root, true, app);
  });
  replace(root, h('h2', { text: TEXT.codesTitle }), h('p', { text: TEXT.codesIntro }),
    h('ul', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', { text: c })))), done);
}

async function renderSessions(root, app) {
  const { items } = await api.get('/api/account/sessions');
  const rows = items.map((s) => h('tr', { dataset: { session: String(s.id) } },
    h('td', { text: device(s.user_agent) }), h('td', { text: s.address || '' }),
    h('td', { text: when(s.created_at) }), h('td', { text: when(s.last_used_at || s.created_at) }),
    h('td', {}, s.current ? h('span', { class: 'muted', text: TEXT.thisDevice })
      : h('button', { type: 'button', class: 'small', text: TEXT.logOut, onclick: async () => {
        try { await api.del(`/api/account/sessions/${s.id}`); toast(TEXT.loggedOut); renderSessions(root, app); } catch (err) { toast(say(err), 'error'); }
      } }))));
  const everywhere = h('button', { type: 'button', id: 'logout-everywhere', text: TEXT.everywhere, onclick: async () => {
    try { await api.post('/api/account/logout-everywhere'); toast(TEXT.everywhereDone); location.reload(); } catch (err) { toast(say(err), 'error'); }
  } });
  replace(root, h('h2', { text: TEXT.sessions }), h('p', { class: 'muted small', text: TEXT.sessionsIntro }),
    table([TEXT.deviceCol, TEXT.addressCol, TEXT.startedCol, TEXT.lastSeenCol, ''], rows, { id: 'sessions-table' }), everywhere);
}

async function renderTokens(root) {
  const { items } = await api.get('/api/account/tokens');
  const rows = items.map((t) => h('tr', {},
    h('td', { text: t.name || '' }), h('td', { text: when(t.created_at) }), h('td', { text: when(t.last_used_at) }),
    h('td', { text: t.expires_at ? when(t.expires_at) : TEXT.noExpiry }),
    h('td', {}, h('button', { type: 'button', class: 'small', text: TEXT.revoke, onclick: async () => {
      try { await api.del(`/api/account/tokens/${t.id}`); toast(TEXT.revoked); renderTokens(root); } catch (err) { toast(say(err), 'error'); }
    } }))));
  const name = h('input', { id: 'token-name', required: true, maxlength: 200 });
  const days = h('input', { id: 'token-days', type: 'number', min: 1, max: 3650 });
  const shown = h('div', { id: 'token-shown', role: 'status' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', {}, h('div', { class: 'form-grid' }, field('token-name', TEXT.tokenName, name), field('token-days', TEXT.tokenDays, days)),
    error, h('button', { type: 'submit', class: 'primary', text: TEXT.createToken }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, error, async () => {
      const made = await api.post('/api/auth/tokens', { name: name.value, expires_in_days: days.value ? Number(days.value) : null });
      await renderTokens(root);
      replace(root.querySelector('#token-shown'), h('p', { text: TEXT.tokenShown }), h('input', { readonly: true, value: made.token, class: 'token-once', 'aria-label': TEXT.tokenShown }));
    });
  });
  replace(root, h('h2', { text: TEXT.tokens }), h('p', { class: 'muted small', text: TEXT.tokensIntro }),
    items.length ? table([TEXT.nameCol, TEXT.createdCol, TEXT.lastUsedCol, TEXT.expiresCol, ''], rows) : h('p', { class: 'muted', text: TEXT.noTokens }),
    shown, form);
}
