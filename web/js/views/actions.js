// Conversation actions: assign agent/team, priority, labels, snooze, resolve/reopen.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { snoozePresets, localInputValue } from '../time.js';
import { t, formatDateTime } from '../i18n.js';

const PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'];
const PRIORITY_TEXT = { none: 'actions.prio.none', low: 'actions.prio.low', medium: 'actions.prio.medium', high: 'actions.prio.high', urgent: 'actions.prio.urgent' };

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
  const agentLabel = (a) => `${presence.get(a.id) === 'online' ? '● ' : ''}${a.id === store.me.id ? t('actions.you', { name: a.name }) : a.name}`;
  // Only agents who can see this inbox can be assigned (admins see every inbox).
  const canSee = (a) => a.role === 'admin' || !a.inbox_ids || a.inbox_ids.includes(c.inbox_id);
  const agents = store.agents.filter((a) => a.is_active !== false && canSee(a));
  if (c.assignee_id && !agents.some((a) => a.id === c.assignee_id)) agents.push({ id: c.assignee_id, name: store.agentName(c.assignee_id) });

  const assignee = h('select', { id: 'assign-agent', onchange: () => run(store,
    api.assign(c.id, { assignee_id: assignee.value ? Number(assignee.value) : null }), t('actions.assigned')) },
  option('', t('actions.unassigned'), !c.assignee_id), agents.map((a) => option(a.id, agentLabel(a), a.id === c.assignee_id)));

  const teams = store.teams.slice();
  if (c.team_id && !teams.some((x) => x.id === c.team_id)) teams.push({ id: c.team_id, name: store.teamName(c.team_id) });
  const team = h('select', { id: 'assign-team', onchange: () => run(store,
    api.assign(c.id, { team_id: team.value ? Number(team.value) : null }), t('actions.teamUpdated')) },
  option('', t('actions.noTeam'), !c.team_id), teams.map((x) => option(x.id, x.name, x.id === c.team_id)));

  const priority = h('select', { id: 'priority', onchange: () => run(store, api.priority(c.id, priority.value), t('actions.priorityUpdated')) },
    PRIORITIES.map((p) => option(p, t(PRIORITY_TEXT[p]), p === c.priority)));

  const labelInput = h('input', { type: 'text', id: 'label-add', placeholder: t('actions.addLabel'), size: 10, 'aria-label': t('actions.addLabel') });
  labelInput.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || !labelInput.value.trim()) return;
    e.preventDefault();
    run(store, api.labels(c.id, [labelInput.value.trim()], []));
  });
  const chips = (c.labels || []).map((l) => h('span', { class: 'chip' }, h('span', { text: l }),
    h('button', { type: 'button', class: 'chip-x', 'aria-label': t('actions.removeLabel', { label: l }), text: '×',
      onclick: () => run(store, api.labels(c.id, [], [l])) })));

  const snooze = h('select', { id: 'snooze', 'aria-label': t('actions.snooze') },
    option('', t('actions.snoozeMenu'), true), snoozePresets().map(([label, at]) => option(at.toISOString(), label)), option('custom', t('actions.custom')));
  const custom = h('input', { type: 'datetime-local', id: 'snooze-custom', hidden: true, 'aria-label': t('actions.snoozeUntil'),
    min: localInputValue(new Date()) });
  const doSnooze = (iso) => run(store, api.setStatus(c.id, 'snoozed', iso), t('actions.snoozed', { time: formatDateTime(new Date(iso), { dateStyle: 'medium', timeStyle: 'short' }) }));
  snooze.addEventListener('change', () => {
    if (snooze.value === 'custom') { custom.hidden = false; custom.focus(); return; }
    if (snooze.value) doSnooze(snooze.value);
  });
  custom.addEventListener('change', () => { if (custom.value) doSnooze(new Date(custom.value).toISOString()); });

  const resolved = c.status === 'resolved';
  const snoozed = c.status === 'snoozed';
  const done = t(resolved ? 'actions.reopenedDone' : (snoozed ? 'actions.unsnoozedDone' : 'actions.resolvedDone'));
  const resolve = h('button', { type: 'button', id: 'resolve', class: resolved ? '' : 'primary',
    text: t(resolved ? 'actions.reopen' : (snoozed ? 'actions.unsnooze' : 'actions.resolve')),
    title: t(resolved ? 'actions.reopen' : (snoozed ? 'actions.unsnoozeTitle' : 'actions.resolveTitle')),
    onclick: () => run(store, api.setStatus(c.id, resolved || snoozed ? 'open' : 'resolved'), done) });

  const field = (label, control) => h('label', { class: 'action' }, h('span', { class: 'action-label', text: label }), control);
  replace(root,
    field(t('actions.agent'), assignee), field(t('actions.team'), team), field(t('actions.priority'), priority),
    h('div', { class: 'action labels' }, h('span', { class: 'action-label', text: t('actions.labels') }),
      h('div', { class: 'chips' }, chips, labelInput)),
    h('div', { class: 'action' }, h('span', { class: 'action-label', text: t('actions.snooze') }), snooze, custom),
    h('div', { class: 'action end' }, resolve));
}
