// Admin settings: inboxes (channel settings, members, hours, FRT targets), agents, teams, canned.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { channelInfo, CHANNEL_KINDS } from '../channels.js';
import { renderInboxEditor } from './inbox_editor.js';
import { channelForm, fieldLabels, fieldOfError } from './channel_fields.js';
import { t } from '../i18n.js';

const SECTIONS = [['inboxes', 'admin.inboxes'], ['agents', 'admin.agents'], ['teams', 'admin.teams'], ['canned', 'admin.canned']];

export async function renderAdmin(root, app, parts) {
  const section = parts[0] || 'inboxes';
  const content = h('div', { class: 'page', id: 'admin-content' });
  const nav = h('nav', { class: 'subnav', 'aria-label': t('admin.settings') }, SECTIONS.map(([k, label]) =>
    h('a', { href: `#/admin/${k}`, 'aria-current': k === section ? 'page' : null, text: t(label) })));
  replace(root, h('div', { class: 'page-layout' }, nav, content));
  try {
    if (section === 'inboxes' && parts[1]) await renderInboxEditor(content, app, Number(parts[1]));
    else if (section === 'inboxes') await renderInboxes(content, app);
    else if (section === 'agents') await renderAgents(content, app);
    else if (section === 'teams') await renderTeams(content, app);
    else if (section === 'canned') await renderCanned(content);
  } catch (err) {
    replace(content, h('p', { class: 'form-error', role: 'alert', text: errorText(err) }));
  }
}

function table(headers, rows) {
  return h('table', { class: 'data' }, h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', text: x })))),
    h('tbody', {}, rows));
}

function field(id, label, control) {
  return [h('label', { for: id, text: label }), control];
}

async function submitting(form, fn) {
  const btn = form.querySelector('button[type=submit]');
  if (btn) btn.disabled = true;
  try { await fn(); } catch (err) { toast(errorText(err), 'error'); } finally { if (btn) btn.disabled = false; }
}

async function renderInboxes(root, app) {
  const { items } = await api.get('/api/admin/inboxes');
  const rows = items.map((i) => {
    const ch = channelInfo(i.kind);
    return h('tr', {},
      h('td', {}, h('a', { href: `#/admin/inboxes/${i.id}`, text: i.name })),
      h('td', {}, h('span', { 'aria-hidden': 'true', text: `${ch.icon} ` }), ch.name),
      h('td', { text: t(i.is_active ? 'admin.active' : 'admin.disabled') }),
      h('td', { text: secretsText(i) }),
      h('td', { class: 'actions' }, h('button', { type: 'button', class: 'small danger', text: t('admin.delete'), 'aria-label': t('admin.deleteInbox', { name: i.name }),
        onclick: () => removing(t('admin.deleteInboxConfirm', { name: i.name }),
          () => api.del(`/api/admin/inboxes/${i.id}`), t('admin.inboxDeleted'), () => renderInboxes(root, app)) })));
  });
  const name = h('input', { id: 'new-inbox-name', required: true });
  const kind = h('select', { id: 'new-inbox-kind' }, CHANNEL_KINDS.map((k) => option(k, channelInfo(k).name)));
  // The channel's own settings are asked here: most channels cannot be created without them.
  const fieldsHost = h('div', { class: 'form-grid', id: 'new-inbox-fields' });
  let fields = null;
  const showFields = () => {
    fields = channelForm(kind.value, { prefix: 'new-cfg', inboxes: items });
    replace(fieldsHost, fields.grid);
  };
  kind.addEventListener('change', showFields);
  showFields();
  const error = h('p', { class: 'form-error', role: 'alert', id: 'new-inbox-error' });
  const form = h('form', {}, h('div', { class: 'form-grid' }, field('new-inbox-name', t('admin.name'), name), field('new-inbox-kind', t('admin.channel'), kind)),
    fieldsHost, error, h('button', { type: 'submit', class: 'primary', text: t('admin.createInbox') }));
  form.addEventListener('submit', (e) => { e.preventDefault(); error.textContent = ''; submitting(form, async () => {
    try {
      const created = await api.post('/api/admin/inboxes', { name: name.value, kind: kind.value, config: fields.collect(false) });
      location.hash = `#/admin/inboxes/${created.id}`;
    } catch (err) {
      error.textContent = errorText(err, { ...fieldLabels(kind.value), name: t('admin.name'), kind: t('admin.channel') });
      fields.markInvalid(fieldOfError(err.message));
    }
  }); });
  replace(root, h('h1', { text: t('admin.inboxes') }),
    h('div', { class: 'card' }, items.length ? table([t('admin.name'), t('admin.channel'), t('admin.state'), t('admin.secrets'), ''], rows)
      : h('p', { class: 'muted', text: t('admin.noInboxes') })),
    h('div', { class: 'card' }, h('h2', { text: t('admin.newInbox') }),
      h('p', { class: 'muted small', text: t('admin.newInboxHint') }), form));
}

/** "Bot token set, Webhook secret token missing": the secrets column in words. */
function secretsText(inbox) {
  const labels = fieldLabels(inbox.kind);
  return Object.entries(inbox.secrets_set || {}).map(([k, v]) => t(v ? 'admin.secretSet' : 'admin.secretMissing', { name: labels[k] || k })).join(', ');
}

async function renderAgents(root, app) {
  const { items } = await api.get('/api/admin/agents');
  app.store.agents = items;
  const rows = items.map((a) => h('tr', {},
    h('td', { text: a.name }), h('td', { text: a.email }), h('td', { text: t(a.is_bot ? 'admin.role.bot' : (a.role === 'admin' ? 'admin.role.admin' : 'admin.role.agent')) }),
    h('td', { text: t(a.is_active ? 'admin.active' : 'admin.disabled') }),
    h('td', {}, a.id === app.store.me.id ? null : h('button', { type: 'button', class: 'small',
      text: t(a.is_active ? 'admin.disable' : 'admin.enable'),
      onclick: async () => {
        try { await api.patch(`/api/admin/agents/${a.id}`, { is_active: !a.is_active }); renderAgents(root, app); } catch (err) { toast(errorText(err), 'error'); }
      } }))));
  const name = h('input', { id: 'agent-name', required: true });
  const email = h('input', { id: 'agent-email', type: 'email', required: true });
  const role = h('select', { id: 'agent-role' }, option('agent', t('admin.agent')), option('admin', t('admin.admin')));
  const password = h('input', { id: 'agent-password', type: 'password', minlength: 8, autocomplete: 'new-password' });
  const form = h('form', { class: 'form-grid' }, field('agent-name', t('admin.name'), name), field('agent-email', t('admin.email'), email),
    field('agent-role', t('admin.role'), role), field('agent-password', t('admin.initialPassword'), password),
    h('span'), h('div', {}, h('button', { type: 'submit', class: 'primary', text: t('admin.addAgent') })));
  form.addEventListener('submit', (e) => { e.preventDefault(); submitting(form, async () => {
    await api.post('/api/admin/agents', { name: name.value, email: email.value, role: role.value, password: password.value || null });
    toast(t('admin.agentAdded'));
    renderAgents(root, app);
  }); });
  replace(root, h('h1', { text: t('admin.agents') }),
    h('div', { class: 'card' }, table([t('admin.name'), t('admin.email'), t('admin.role'), t('admin.state'), ''], rows)),
    h('div', { class: 'card' }, h('h2', { text: t('admin.addAnAgent') }), form));
}

async function renderTeams(root, app) {
  const [{ items }, agents] = await Promise.all([api.get('/api/admin/teams'), api.get('/api/admin/agents')]);
  app.store.teams = items;
  const nameOf = (id) => (agents.items.find((a) => a.id === id) || { name: `#${id}` }).name;
  const reload = () => renderTeams(root, app);
  const membersSelect = (id, chosen) => h('select', { id, multiple: true, size: Math.min(6, Math.max(2, agents.items.length)) },
    agents.items.map((a) => option(a.id, a.name, chosen.includes(a.id))));
  const chosenIds = (select) => [...select.selectedOptions].map((o) => Number(o.value));
  const rows = items.map((team) => {
    const row = h('tr', { dataset: { team: String(team.id) } });
    const show = () => replace(row, h('td', { text: team.name }), h('td', { text: team.member_ids.map(nameOf).join(', ') || t('admin.noMembers') }),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'small', text: t('admin.edit'), 'aria-label': t('admin.editTeam', { name: team.name }), onclick: edit }),
        h('button', { type: 'button', class: 'small danger', text: t('admin.delete'), 'aria-label': t('admin.deleteTeam', { name: team.name }),
          onclick: () => removing(t('admin.deleteTeamConfirm', { name: team.name }),
            () => api.del(`/api/admin/teams/${team.id}`), t('admin.teamDeleted'), reload) })));
    function edit() {
      const name = h('input', { id: `team-${team.id}-name`, value: team.name, required: true, 'aria-label': t('admin.teamName') });
      const members = membersSelect(`team-${team.id}-members`, team.member_ids);
      members.setAttribute('aria-label', t('admin.members'));
      const save = h('button', { type: 'button', class: 'small primary', text: t('admin.save'), onclick: async () => {
        try {
          await api.patch(`/api/admin/teams/${team.id}`, { name: name.value.trim(), member_ids: chosenIds(members) });
          toast(t('admin.teamSaved'));
          reload();
        } catch (err) { toast(errorText(err, { name: t('admin.teamName') }), 'error'); }
      } });
      replace(row, h('td', {}, name), h('td', {}, members),
        h('td', { class: 'actions' }, save, h('button', { type: 'button', class: 'small ghost', text: t('admin.cancel'), onclick: show })));
      name.focus();
    }
    show();
    return row;
  });
  const name = h('input', { id: 'team-name', required: true });
  const members = membersSelect('team-members', []);
  const form = h('form', { class: 'form-grid' }, field('team-name', t('admin.name'), name), field('team-members', t('admin.members'), members),
    h('span'), h('div', {}, h('button', { type: 'submit', class: 'primary', text: t('admin.createTeam') })));
  form.addEventListener('submit', (e) => { e.preventDefault(); submitting(form, async () => {
    await api.post('/api/admin/teams', { name: name.value, member_ids: chosenIds(members) });
    toast(t('admin.teamCreated'));
    reload();
  }); });
  replace(root, h('h1', { text: t('admin.teams') }),
    h('div', { class: 'card' }, items.length ? table([t('admin.team'), t('admin.members'), ''], rows) : h('p', { class: 'muted', text: t('admin.noTeams') })),
    h('div', { class: 'card' }, h('h2', { text: t('admin.newTeam') }), form));
}

/** Ask, then delete; a refusal from the server (e.g. an inbox with history) is said as is. */
async function removing(question, call, done, reload) {
  if (!confirm(question)) return;
  try {
    await call();
    toast(done);
    reload();
  } catch (err) { toast(errorText(err), err.status === 409 ? 'warn' : 'error'); } // 409: a refusal, said as is
}

async function renderCanned(root) {
  const { items } = await api.canned();
  const reload = () => renderCanned(root);
  const rows = items.map((c) => {
    const row = h('tr', { dataset: { canned: String(c.id) } });
    const show = () => replace(row, h('td', {}, h('code', { text: `/${c.short_code}` })), h('td', { class: 'pre', text: c.content }),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'small', text: t('admin.edit'), 'aria-label': t('admin.editCanned', { code: c.short_code }), onclick: edit }),
        h('button', { type: 'button', class: 'small danger', text: t('admin.delete'), 'aria-label': t('admin.deleteCanned', { code: c.short_code }),
          onclick: () => removing(t('admin.deleteCannedConfirm', { code: c.short_code }),
            () => api.del(`/api/admin/canned-responses/${c.id}`), t('admin.cannedDeleted'), reload) })));
    function edit() {
      const text = h('textarea', { id: `canned-${c.id}-content`, rows: 3, value: c.content, 'aria-label': t('admin.cannedText', { code: c.short_code }) });
      const save = h('button', { type: 'button', class: 'small primary', text: t('admin.save'), onclick: async () => {
        try {
          await api.patch(`/api/admin/canned-responses/${c.id}`, { content: text.value });
          toast(t('admin.cannedSaved'));
          reload();
        } catch (err) { toast(errorText(err, { content: t('admin.text') }), 'error'); }
      } });
      replace(row, h('td', {}, h('code', { text: `/${c.short_code}` })), h('td', {}, text),
        h('td', { class: 'actions' }, save, h('button', { type: 'button', class: 'small ghost', text: t('admin.cancel'), onclick: show })));
      text.focus();
    }
    show();
    return row;
  });
  // \- : Chromium compiles pattern with the v flag, where a bare "-" at the end of a class
  // is a syntax error and the whole pattern is silently ignored.
  const code = h('input', { id: 'canned-code', required: true, pattern: '[A-Za-z0-9_\\-]+', maxlength: 100,
    title: t('admin.codeTitle'), 'aria-describedby': 'canned-code-hint' });
  const content = h('textarea', { id: 'canned-content', required: true, rows: 3 });
  const form = h('form', { class: 'form-grid' }, field('canned-code', t('admin.shortcut'), code),
    h('span'), h('p', { class: 'hint', id: 'canned-code-hint', text: t('admin.codeHint') }),
    field('canned-content', t('admin.text'), content),
    h('span'), h('div', {}, h('button', { type: 'submit', class: 'primary', text: t('admin.addCanned') })));
  form.addEventListener('submit', (e) => { e.preventDefault(); submitting(form, async () => {
    await api.post('/api/admin/canned-responses', { short_code: code.value, content: content.value });
    toast(t('admin.cannedAdded'));
    reload();
  }); });
  replace(root, h('h1', { text: t('admin.canned') }),
    h('div', { class: 'card' }, items.length ? table([t('admin.shortcut'), t('admin.text'), ''], rows) : h('p', { class: 'muted', text: t('admin.noneYet') })),
    h('div', { class: 'card' }, h('h2', { text: t('admin.newCanned') }), h('p', { class: 'muted small', text: t('admin.cannedHint') }), form));
}
