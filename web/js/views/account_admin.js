// Admin pages of the account menu: agents and invites (role, invite links), the workspace's
// two-factor switch, and the audit log (with CSV export).
import { t } from '../i18n.js';
import { api } from '../api.js';
import { h, option, replace, toast } from '../dom.js';
import { field, say, submitting, table, when } from './account_common.js';

const TEXT = {
  get agentsTitle() { return t('accountAdmin.agentsTitle'); },
  get nameCol() { return t('accountAdmin.nameCol'); },
  get emailCol() { return t('accountAdmin.emailCol'); },
  get roleCol() { return t('accountAdmin.roleCol'); },
  get stateCol() { return t('accountAdmin.stateCol'); },
  get twoFactorCol() { return t('accountAdmin.twoFactorCol'); },
  get agent() { return t('accountAdmin.agent'); },
  get admin() { return t('accountAdmin.admin'); },
  get bot() { return t('accountAdmin.bot'); },
  get active() { return t('accountAdmin.active'); },
  get disabled() { return t('accountAdmin.disabled'); },
  get invited() { return t('accountAdmin.invited'); },
  get on() { return t('accountAdmin.on'); },
  get off() { return t('accountAdmin.off'); },
  roleChanged: (name, role) => (role === 'admin'
    ? t('accountAdmin.roleNowAdmin', { name }) : t('accountAdmin.roleNowAgent', { name })),
  roleLabel: (name) => t('accountAdmin.roleLabel', { name }),
  get newLink() { return t('accountAdmin.newLink'); },
  get inviteTitle() { return t('accountAdmin.inviteTitle'); },
  get inviteIntro() { return t('accountAdmin.inviteIntro'); },
  get name() { return t('accountAdmin.name'); },
  get email() { return t('accountAdmin.email'); },
  get role() { return t('accountAdmin.role'); },
  get send() { return t('accountAdmin.send'); },
  emailed: (email) => t('accountAdmin.emailed', { email }),
  get notEmailed() { return t('accountAdmin.notEmailed'); },
  get securityTitle() { return t('accountAdmin.securityTitle'); },
  get require() { return t('accountAdmin.require'); },
  get requireHelp() { return t('accountAdmin.requireHelp'); },
  get save() { return t('accountAdmin.save'); },
  get saved() { return t('accountAdmin.saved'); },
  get auditTitle() { return t('accountAdmin.auditTitle'); },
  get auditIntro() { return t('accountAdmin.auditIntro'); },
  get download() { return t('accountAdmin.download'); },
  get older() { return t('accountAdmin.older'); },
  get atCol() { return t('accountAdmin.atCol'); },
  get whoCol() { return t('accountAdmin.whoCol'); },
  get actionCol() { return t('accountAdmin.actionCol'); },
  get targetCol() { return t('accountAdmin.targetCol'); },
  get fromCol() { return t('accountAdmin.fromCol'); },
  get detailsCol() { return t('accountAdmin.detailsCol'); },
  get system() { return t('accountAdmin.system'); },
  get empty() { return t('accountAdmin.empty'); },
};

// Audit actions as people say them; an action without a phrase shows its name.
const ACTIONS = {
  get 'agent.create'() { return t('audit.agent.create'); },
  get 'agent.update'() { return t('audit.agent.update'); },
  get 'agent.invite'() { return t('audit.agent.invite'); },
  get 'team.create'() { return t('audit.team.create'); },
  get 'team.update'() { return t('audit.team.update'); },
  get 'inbox.create'() { return t('audit.inbox.create'); },
  get 'inbox.update'() { return t('audit.inbox.update'); },
  get 'inbox.members'() { return t('audit.inbox.members'); },
  get 'canned.create'() { return t('audit.canned.create'); },
  get 'canned.update'() { return t('audit.canned.update'); },
  get 'canned.delete'() { return t('audit.canned.delete'); },
  get 'token.revoke'() { return t('audit.token.revoke'); },
  get 'workspace.require_two_factor'() { return t('audit.workspace.require_two_factor'); },
  get 'account.password_change'() { return t('audit.account.password_change'); },
  get 'account.logout_everywhere'() { return t('audit.account.logout_everywhere'); },
  get 'account.totp_enable'() { return t('audit.account.totp_enable'); },
  get 'account.totp_disable'() { return t('audit.account.totp_disable'); },
  get 'account.recovery_codes_renew'() { return t('audit.account.recovery_codes_renew'); },
  get 'account.invite_used'() { return t('audit.account.invite_used'); },
  get 'account.reset_used'() { return t('audit.account.reset_used'); },
};

export async function renderAgentsAdmin(root, app) {
  const { items } = await api.get('/api/admin/agents');
  const linkBox = h('div', { id: 'invite-result', role: 'status' });
  const showLink = (data, email) => replace(linkBox,
    h('p', { text: data.emailed ? TEXT.emailed(email) : TEXT.notEmailed }),
    h('input', { readonly: true, id: 'invite-link', value: data.invite_url, 'aria-label': TEXT.newLink }));
  const rows = items.map((a) => {
    const role = h('select', { 'aria-label': TEXT.roleLabel(a.name), dataset: { agent: String(a.id) }, disabled: a.id === app.store.me.id || a.is_bot },
      option('agent', TEXT.agent, a.role === 'agent'), option('admin', TEXT.admin, a.role === 'admin'));
    role.addEventListener('change', async () => {
      try {
        await api.patch(`/api/admin/agents/${a.id}`, { role: role.value });
        toast(TEXT.roleChanged(a.name, role.value));
      } catch (err) { toast(say(err), 'error'); role.value = a.role; }
    });
    const state = a.pending_invite ? TEXT.invited : a.is_active ? TEXT.active : TEXT.disabled;
    const resend = a.pending_invite ? h('button', { type: 'button', class: 'small', text: TEXT.newLink, onclick: async () => {
      try { showLink(await api.post(`/api/admin/agents/${a.id}/invite`), a.email); } catch (err) { toast(say(err), 'error'); }
    } }) : null;
    return h('tr', {}, h('td', { text: a.name }), h('td', { text: a.email }), h('td', {}, a.is_bot ? TEXT.bot : role),
      h('td', { text: state }), h('td', { text: a.two_factor ? TEXT.on : TEXT.off }), h('td', {}, resend));
  });
  const name = h('input', { id: 'invite-name', required: true, maxlength: 200 });
  const email = h('input', { id: 'invite-email', type: 'email', required: true, maxlength: 320 });
  const role = h('select', { id: 'invite-role' }, option('agent', TEXT.agent), option('admin', TEXT.admin));
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { id: 'invite-form' }, h('div', { class: 'form-grid' }, field('invite-name', TEXT.name, name),
    field('invite-email', TEXT.email, email), field('invite-role', TEXT.role, role)), error,
  h('button', { type: 'submit', class: 'primary', text: TEXT.send }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, error, async () => {
      const data = await api.post('/api/admin/invites', { name: name.value, email: email.value, role: role.value });
      await renderAgentsAdmin(root, app);
      showLinkIn(root, data, email.value);
    });
  });
  const showLinkIn = (host, data, address) => {
    const box = host.querySelector('#invite-result');
    replace(box, h('p', { text: data.emailed ? TEXT.emailed(address) : TEXT.notEmailed }),
      h('input', { readonly: true, id: 'invite-link', value: data.invite_url, 'aria-label': TEXT.newLink }));
  };
  replace(root, h('h1', { text: TEXT.agentsTitle }),
    h('div', { class: 'card' }, table([TEXT.nameCol, TEXT.emailCol, TEXT.roleCol, TEXT.stateCol, TEXT.twoFactorCol, ''], rows, { id: 'agents-table' })),
    h('div', { class: 'card' }, h('h2', { text: TEXT.inviteTitle }), h('p', { class: 'muted small', text: TEXT.inviteIntro }), form, linkBox));
}

export async function renderSecurity(root) {
  const current = await api.get('/api/admin/security');
  const box = h('input', { type: 'checkbox', id: 'require-2fa', checked: current.require_two_factor });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', {}, h('label', { class: 'check' }, box, ` ${TEXT.require}`),
    h('p', { class: 'muted small', text: TEXT.requireHelp }), error, h('button', { type: 'submit', class: 'primary', text: TEXT.save }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, error, async () => {
      await api.put('/api/admin/security', { require_two_factor: box.checked });
      toast(TEXT.saved);
    });
  });
  replace(root, h('h1', { text: TEXT.securityTitle }), h('div', { class: 'card' }, form));
}

export async function renderAudit(root) {
  const body = h('tbody', {});
  const more = h('button', { type: 'button', id: 'audit-older', text: TEXT.older, hidden: true });
  let before = null;
  const load = async () => {
    const page = await api.get('/api/admin/audit', { before, limit: 100 });
    for (const entry of page.items) body.appendChild(auditRow(entry));
    before = page.next_before;
    more.hidden = !before;
    if (!body.children.length) body.appendChild(h('tr', {}, h('td', { colspan: 6, class: 'muted', text: TEXT.empty })));
  };
  more.addEventListener('click', () => load().catch((err) => toast(say(err), 'error')));
  const headers = [TEXT.atCol, TEXT.whoCol, TEXT.actionCol, TEXT.targetCol, TEXT.fromCol, TEXT.detailsCol];
  replace(root, h('h1', { text: TEXT.auditTitle }), h('p', { class: 'muted small', text: TEXT.auditIntro }),
    h('p', {}, h('a', { href: '/api/admin/audit.csv', download: 'audit-log.csv', id: 'audit-csv', text: TEXT.download })),
    h('div', { class: 'card' }, h('table', { class: 'data', id: 'audit-table' },
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col', text: t })))), body)), more);
  await load();
}

function auditRow(entry) {
  const details = Object.entries(entry.details || {})
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : v}`)
    .join('; ');
  return h('tr', { dataset: { action: entry.action } },
    h('td', { text: when(entry.at) }), h('td', { text: entry.actor_name || TEXT.system }),
    h('td', { text: ACTIONS[entry.action] || entry.action }),
    h('td', { text: entry.target_type ? `${entry.target_type} ${entry.target_id}` : '' }),
    h('td', { text: entry.address || '' }), h('td', { text: details }));
}
