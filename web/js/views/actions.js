// Conversation actions: assign agent/team, priority, labels, snooze, resolve/reopen.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { snoozePresets, localInputValue } from '../time.js';

const PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'];

async function run(store, promise, done) {
  try {
    const r = await promise;
    if (r && r.conversation) store.putConversation(r.conversation);
    if (done) toast(done);
  } catch (err) { toast(errorText(err), 'error'); }
}

export function renderActions(root, app, c) {
  const store = app.store;
  const presence = store.presence || new Map();
  const agentLabel = (a) => `${presence.get(a.id) === 'online' ? '● ' : ''}${a.id === store.me.id ? `${a.name} (you)` : a.name}`;
  // Only agents who can see this inbox can be assigned (admins see every inbox).
  const canSee = (a) => a.role === 'admin' || !a.inbox_ids || a.inbox_ids.includes(c.inbox_id);
  const agents = store.agents.filter((a) => a.is_active !== false && canSee(a));
  if (c.assignee_id && !agents.some((a) => a.id === c.assignee_id)) agents.push({ id: c.assignee_id, name: store.agentName(c.assignee_id) });

  const assignee = h('select', { id: 'assign-agent', onchange: () => run(store,
    api.assign(c.id, { assignee_id: assignee.value ? Number(assignee.value) : null }), 'Assignment updated') },
  option('', 'Unassigned', !c.assignee_id), agents.map((a) => option(a.id, agentLabel(a), a.id === c.assignee_id)));

  const teams = store.teams.slice();
  if (c.team_id && !teams.some((t) => t.id === c.team_id)) teams.push({ id: c.team_id, name: store.teamName(c.team_id) });
  const team = h('select', { id: 'assign-team', onchange: () => run(store,
    api.assign(c.id, { team_id: team.value ? Number(team.value) : null }), 'Team updated') },
  option('', 'No team', !c.team_id), teams.map((t) => option(t.id, t.name, t.id === c.team_id)));

  const priority = h('select', { id: 'priority', onchange: () => run(store, api.priority(c.id, priority.value), 'Priority updated') },
    PRIORITIES.map((p) => option(p, p === 'none' ? 'No priority' : p[0].toUpperCase() + p.slice(1), p === c.priority)));

  const labelInput = h('input', { type: 'text', id: 'label-add', placeholder: 'Add label', size: 10, 'aria-label': 'Add label' });
  labelInput.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || !labelInput.value.trim()) return;
    e.preventDefault();
    run(store, api.labels(c.id, [labelInput.value.trim()], []));
  });
  const chips = (c.labels || []).map((l) => h('span', { class: 'chip' }, h('span', { text: l }),
    h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove label ${l}`, text: '×',
      onclick: () => run(store, api.labels(c.id, [], [l])) })));

  const snooze = h('select', { id: 'snooze', 'aria-label': 'Snooze' },
    option('', 'Snooze…', true), snoozePresets().map(([label, at]) => option(at.toISOString(), label)), option('custom', 'Custom…'));
  const custom = h('input', { type: 'datetime-local', id: 'snooze-custom', hidden: true, 'aria-label': 'Snooze until',
    min: localInputValue(new Date()) });
  const doSnooze = (iso) => run(store, api.setStatus(c.id, 'snoozed', iso), `Snoozed until ${new Date(iso).toLocaleString()}`);
  snooze.addEventListener('change', () => {
    if (snooze.value === 'custom') { custom.hidden = false; custom.focus(); return; }
    if (snooze.value) doSnooze(snooze.value);
  });
  custom.addEventListener('change', () => { if (custom.value) doSnooze(new Date(custom.value).toISOString()); });

  const resolved = c.status === 'resolved';
  const snoozed = c.status === 'snoozed';
  const done = resolved ? 'Reopened: the conversation is open again.'
    : (snoozed ? 'Unsnoozed: the conversation is open again.' : 'Resolved.');
  const resolve = h('button', { type: 'button', id: 'resolve', class: resolved ? '' : 'primary',
    text: resolved ? 'Reopen' : (snoozed ? 'Unsnooze' : 'Resolve'),
    title: resolved ? 'Reopen' : (snoozed ? 'Open it again now' : 'Resolve (e)'),
    onclick: () => run(store, api.setStatus(c.id, resolved || snoozed ? 'open' : 'resolved'), done) });

  const field = (label, control) => h('label', { class: 'action' }, h('span', { class: 'action-label', text: label }), control);
  replace(root,
    field('Agent', assignee), field('Team', team), field('Priority', priority),
    h('div', { class: 'action labels' }, h('span', { class: 'action-label', text: 'Labels' }),
      h('div', { class: 'chips' }, chips, labelInput)),
    h('div', { class: 'action' }, h('span', { class: 'action-label', text: 'Snooze' }), snooze, custom),
    h('div', { class: 'action end' }, resolve));
}
