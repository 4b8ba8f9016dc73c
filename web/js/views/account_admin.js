// Admin pages of the account menu: agents and invites (role, invite links), the workspace's
// two-factor switch, and the audit log (with CSV export).
import { api } from '../api.js';
import { h, option, replace, toast } from '../dom.js';
import { field, say, submitting, table, when } from './account_common.js';

const TEXT = {
  agentsTitle: 'Agents and invites',
  nameCol: 'Name',
  emailCol: 'Email',
  roleCol: 'Role',
  stateCol: 'State',
  twoFactorCol: 'Two-factor',
  agent: 'Agent',
  admin: 'Admin',
  bot: 'Bot',
  active: 'Active',
  disabled: 'Disabled',
  invited: 'Invitation pending',
  on: 'On',
  off: 'Off',
  roleChanged: (name, role) => `${name} is now ${role === 'admin' ? 'an admin' : 'an agent'}.`,
  roleLabel: (name) => `Role of ${name}`,
  newLink: 'New invite link',
  inviteTitle: 'Invite an agent',
  inviteIntro: 'They get a link to choose their own password. The link works once, for 7 days.',
  name: 'Name',
  email: 'Email',
  role: 'Role',
  send: 'Send invite',
  emailed: (email) => `An invitation is on its way to ${email}. You can also pass on this link:`,
  notEmailed: 'Outgoing mail is not set up, so no email was sent. Pass this link on to the person yourself:',
  securityTitle: 'Security',
  require: 'Require two-factor authentication for everyone',
  requireHelp: 'People without it are logged out and must set it up at their next login. Bots and API tokens are not affected.',
  save: 'Save',
  saved: 'Security settings saved.',
  auditTitle: 'Audit log',
  auditIntro: 'Every change an admin made, newest first. Secret values are never recorded.',
  download: 'Download as CSV',
  older: 'Show older entries',
  atCol: 'When',
  whoCol: 'Who',
  actionCol: 'What',
  targetCol: 'Target',
  fromCol: 'From',
  detailsCol: 'Details',
  system: 'System',
  empty: 'Nothing recorded yet.',
};

// Audit actions as people say them; an action without a phrase shows its name.
const ACTIONS = {
  'agent.create': 'Added an agent',
  'agent.update': 'Changed an agent',
  'agent.invite': 'Invited an agent',
  'team.create': 'Created a team',
  'team.update': 'Changed a team',
  'inbox.create': 'Created an inbox',
  'inbox.update': 'Changed an inbox',
  'inbox.members': 'Changed inbox members',
  'canned.create': 'Added a canned response',
  'canned.update': 'Changed a canned response',
  'canned.delete': 'Deleted a canned response',
  'token.revoke': 'Ended a session or token',
  'workspace.require_two_factor': 'Changed the two-factor requirement',
  'account.password_change': 'Changed their password',
  'account.logout_everywhere': 'Logged out everywhere',
  'account.totp_enable': 'Turned on two-factor',
  'account.totp_disable': 'Turned off two-factor',
  'account.recovery_codes_renew': 'Made new recovery codes',
  'account.invite_used': 'Accepted an invitation',
  'account.reset_used': 'Reset their password',
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
