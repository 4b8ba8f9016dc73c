// Admin settings: inboxes (channel settings, members, hours, FRT targets), agents, teams, canned.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { channelInfo, CHANNEL_KINDS } from '../channels.js';
import { renderInboxEditor } from './inbox_editor.js';
import { channelForm, fieldLabels, fieldOfError } from './channel_fields.js';

const SECTIONS = [['inboxes', 'Inboxes'], ['agents', 'Agents'], ['teams', 'Teams'], ['canned', 'Canned responses']];

export async function renderAdmin(root, app, parts) {
  const section = parts[0] || 'inboxes';
  const content = h('div', { class: 'page', id: 'admin-content' });
  const nav = h('nav', { class: 'subnav', 'aria-label': 'Settings' }, SECTIONS.map(([k, label]) =>
    h('a', { href: `#/admin/${k}`, 'aria-current': k === section ? 'page' : null, text: label })));
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
  return h('table', { class: 'data' }, h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col', text: t })))),
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
      h('td', { text: i.is_active ? 'Active' : 'Disabled' }),
      h('td', { text: secretsText(i) }),
      h('td', { class: 'actions' }, h('button', { type: 'button', class: 'small danger', text: 'Delete', 'aria-label': `Delete inbox ${i.name}`,
        onclick: () => removing(`Delete the inbox “${i.name}”? This cannot be undone.`,
          () => api.del(`/api/admin/inboxes/${i.id}`), 'Inbox deleted', () => renderInboxes(root, app)) })));
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
  const form = h('form', {}, h('div', { class: 'form-grid' }, field('new-inbox-name', 'Name', name), field('new-inbox-kind', 'Channel', kind)),
    fieldsHost, error, h('button', { type: 'submit', class: 'primary', text: 'Create inbox' }));
  form.addEventListener('submit', (e) => { e.preventDefault(); error.textContent = ''; submitting(form, async () => {
    try {
      const created = await api.post('/api/admin/inboxes', { name: name.value, kind: kind.value, config: fields.collect(false) });
      location.hash = `#/admin/inboxes/${created.id}`;
    } catch (err) {
      error.textContent = errorText(err, { ...fieldLabels(kind.value), name: 'Name', kind: 'Channel' });
      fields.markInvalid(fieldOfError(err.message));
    }
  }); });
  replace(root, h('h1', { text: 'Inboxes' }),
    h('div', { class: 'card' }, items.length ? table(['Name', 'Channel', 'State', 'Secrets', ''], rows) : h('p', { class: 'muted', text: 'No inboxes yet.' })),
    h('div', { class: 'card' }, h('h2', { text: 'New inbox' }),
      h('p', { class: 'muted small', text: 'Pick a channel and fill in its settings; you can change them later.' }), form));
}

/** "Bot token set, Webhook secret token missing": the secrets column in words. */
function secretsText(inbox) {
  const labels = fieldLabels(inbox.kind);
  return Object.entries(inbox.secrets_set || {}).map(([k, v]) => `${labels[k] || k} ${v ? 'set' : 'missing'}`).join(', ');
}

async function renderAgents(root, app) {
  const { items } = await api.get('/api/admin/agents');
  app.store.agents = items;
  const rows = items.map((a) => h('tr', {},
    h('td', { text: a.name }), h('td', { text: a.email }), h('td', { text: a.is_bot ? 'bot' : a.role }),
    h('td', { text: a.is_active ? 'Active' : 'Disabled' }),
    h('td', {}, a.id === app.store.me.id ? null : h('button', { type: 'button', class: 'small',
      text: a.is_active ? 'Disable' : 'Enable',
      onclick: async () => {
        try { await api.patch(`/api/admin/agents/${a.id}`, { is_active: !a.is_active }); renderAgents(root, app); } catch (err) { toast(errorText(err), 'error'); }
      } }))));
  const name = h('input', { id: 'agent-name', required: true });
  const email = h('input', { id: 'agent-email', type: 'email', required: true });
  const role = h('select', { id: 'agent-role' }, option('agent', 'Agent'), option('admin', 'Admin'));
  const password = h('input', { id: 'agent-password', type: 'password', minlength: 8, autocomplete: 'new-password' });
  const form = h('form', { class: 'form-grid' }, field('agent-name', 'Name', name), field('agent-email', 'Email', email),
    field('agent-role', 'Role', role), field('agent-password', 'Initial password', password),
    h('span'), h('div', {}, h('button', { type: 'submit', class: 'primary', text: 'Add agent' })));
  form.addEventListener('submit', (e) => { e.preventDefault(); submitting(form, async () => {
    await api.post('/api/admin/agents', { name: name.value, email: email.value, role: role.value, password: password.value || null });
    toast('Agent added');
    renderAgents(root, app);
  }); });
  replace(root, h('h1', { text: 'Agents' }), h('div', { class: 'card' }, table(['Name', 'Email', 'Role', 'State', ''], rows)),
    h('div', { class: 'card' }, h('h2', { text: 'Add an agent' }), form));
}

async function renderTeams(root, app) {
  const [{ items }, agents] = await Promise.all([api.get('/api/admin/teams'), api.get('/api/admin/agents')]);
  app.store.teams = items;
  const nameOf = (id) => (agents.items.find((a) => a.id === id) || { name: `#${id}` }).name;
  const reload = () => renderTeams(root, app);
  const membersSelect = (id, chosen) => h('select', { id, multiple: true, size: Math.min(6, Math.max(2, agents.items.length)) },
    agents.items.map((a) => option(a.id, a.name, chosen.includes(a.id))));
  const chosenIds = (select) => [...select.selectedOptions].map((o) => Number(o.value));
  const rows = items.map((t) => {
    const row = h('tr', { dataset: { team: String(t.id) } });
    const show = () => replace(row, h('td', { text: t.name }), h('td', { text: t.member_ids.map(nameOf).join(', ') || 'No members' }),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'small', text: 'Edit', 'aria-label': `Edit team ${t.name}`, onclick: edit }),
        h('button', { type: 'button', class: 'small danger', text: 'Delete', 'aria-label': `Delete team ${t.name}`,
          onclick: () => removing(`Delete the team “${t.name}”? Its conversations stay, with no team.`,
            () => api.del(`/api/admin/teams/${t.id}`), 'Team deleted', reload) })));
    function edit() {
      const name = h('input', { id: `team-${t.id}-name`, value: t.name, required: true, 'aria-label': 'Team name' });
      const members = membersSelect(`team-${t.id}-members`, t.member_ids);
      members.setAttribute('aria-label', 'Members');
      const save = h('button', { type: 'button', class: 'small primary', text: 'Save', onclick: async () => {
        try {
          await api.patch(`/api/admin/teams/${t.id}`, { name: name.value.trim(), member_ids: chosenIds(members) });
          toast('Team saved');
          reload();
        } catch (err) { toast(errorText(err, { name: 'Team name' }), 'error'); }
      } });
      replace(row, h('td', {}, name), h('td', {}, members),
        h('td', { class: 'actions' }, save, h('button', { type: 'button', class: 'small ghost', text: 'Cancel', onclick: show })));
      name.focus();
    }
    show();
    return row;
  });
  const name = h('input', { id: 'team-name', required: true });
  const members = membersSelect('team-members', []);
  const form = h('form', { class: 'form-grid' }, field('team-name', 'Name', name), field('team-members', 'Members', members),
    h('span'), h('div', {}, h('button', { type: 'submit', class: 'primary', text: 'Create team' })));
  form.addEventListener('submit', (e) => { e.preventDefault(); submitting(form, async () => {
    await api.post('/api/admin/teams', { name: name.value, member_ids: chosenIds(members) });
    toast('Team created');
    reload();
  }); });
  replace(root, h('h1', { text: 'Teams' }), h('div', { class: 'card' }, items.length ? table(['Team', 'Members', ''], rows) : h('p', { class: 'muted', text: 'No teams yet.' })),
    h('div', { class: 'card' }, h('h2', { text: 'New team' }), form));
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
        h('button', { type: 'button', class: 'small', text: 'Edit', 'aria-label': `Edit /${c.short_code}`, onclick: edit }),
        h('button', { type: 'button', class: 'small danger', text: 'Delete', 'aria-label': `Delete /${c.short_code}`,
          onclick: () => removing(`Delete the canned response /${c.short_code}?`,
            () => api.del(`/api/admin/canned-responses/${c.id}`), 'Canned response deleted', reload) })));
    function edit() {
      const text = h('textarea', { id: `canned-${c.id}-content`, rows: 3, value: c.content, 'aria-label': `Text of /${c.short_code}` });
      const save = h('button', { type: 'button', class: 'small primary', text: 'Save', onclick: async () => {
        try {
          await api.patch(`/api/admin/canned-responses/${c.id}`, { content: text.value });
          toast('Canned response saved');
          reload();
        } catch (err) { toast(errorText(err, { content: 'Text' }), 'error'); }
      } });
      replace(row, h('td', {}, h('code', { text: `/${c.short_code}` })), h('td', {}, text),
        h('td', { class: 'actions' }, save, h('button', { type: 'button', class: 'small ghost', text: 'Cancel', onclick: show })));
      text.focus();
    }
    show();
    return row;
  });
  // \- : Chromium compiles pattern with the v flag, where a bare "-" at the end of a class
  // is a syntax error and the whole pattern is silently ignored.
  const code = h('input', { id: 'canned-code', required: true, pattern: '[A-Za-z0-9_\\-]+', maxlength: 100,
    title: 'Letters, digits, _ and - only, no spaces', 'aria-describedby': 'canned-code-hint' });
  const content = h('textarea', { id: 'canned-content', required: true, rows: 3 });
  const form = h('form', { class: 'form-grid' }, field('canned-code', 'Shortcut', code),
    h('span'), h('p', { class: 'hint', id: 'canned-code-hint', text: 'Letters, digits, _ and - (no spaces), e.g. refund_sent.' }),
    field('canned-content', 'Text', content),
    h('span'), h('div', {}, h('button', { type: 'submit', class: 'primary', text: 'Add canned response' })));
  form.addEventListener('submit', (e) => { e.preventDefault(); submitting(form, async () => {
    await api.post('/api/admin/canned-responses', { short_code: code.value, content: content.value });
    toast('Canned response added');
    reload();
  }); });
  replace(root, h('h1', { text: 'Canned responses' }),
    h('div', { class: 'card' }, items.length ? table(['Shortcut', 'Text', ''], rows) : h('p', { class: 'muted', text: 'None yet.' })),
    h('div', { class: 'card' }, h('h2', { text: 'New canned response' }), h('p', { class: 'muted small', text: 'Agents type /shortcut in the composer to insert it.' }), form));
}
