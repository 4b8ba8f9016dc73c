// Automation page (#/automation): routing per inbox and automation rules (admins), macros
// (everyone). Conditions and actions are shown as sentences ("When a customer writes, if
// the message text contains "refund", then add label refund"). docs/automation.md.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';

const TRIGGERS = [
  ['customer_message', 'a customer writes'],
  ['conversation_created', 'a new conversation starts'],
  ['agent_message', 'an agent replies'],
  ['conversation_updated', 'a conversation changes'],
  ['conversation_resolved', 'a conversation is resolved'],
  ['waiting_longer', 'a customer has waited longer than…'],
  ['sla_near_breach', 'a response target is about to be missed'],
  ['sla_breached', 'a response target was missed'],
];
const FIELDS = [
  ['message.text', 'the message text'], ['channel', 'the channel'], ['inbox_id', 'the inbox'],
  ['priority', 'the priority'], ['labels', 'the labels'], ['team_id', 'the team'],
  ['assignee_id', 'the assignee'], ['status', 'the status'], ['language', 'the language'],
  ['contact.email', "the contact's e-mail"], ['contact.name', "the contact's name"],
  ['within_business_hours', 'within business hours'],
];
const OPS = [
  ['contains', 'contains'], ['not_contains', 'does not contain'], ['is', 'is'], ['is_not', 'is not'],
  ['matches', 'matches the pattern'], ['has', 'includes'], ['has_not', 'does not include'],
  ['present', 'is set'], ['absent', 'is not set'],
];
const ACTIONS = [
  ['add_label', 'add label', 'label'], ['remove_label', 'remove label', 'label'],
  ['set_priority', 'set priority to', 'priority'], ['assign_agent', 'assign to agent', 'agent_id'],
  ['assign_team', 'assign to team', 'team_id'], ['snooze', 'snooze for (minutes)', 'minutes'],
  ['resolve', 'resolve', null], ['send_reply', 'send the automatic reply', 'text'],
  ['add_note', 'add the private note', 'text'], ['webhook', 'send a signed webhook to', 'url'],
  ['email', 'send an e-mail to', 'to'],
];
const MACRO_ACTIONS = ACTIONS.filter(([type]) => type !== 'webhook' && type !== 'email');
const label = (pairs, key) => (pairs.find(([k]) => k === key) || [key, key])[1];
const NUMERIC = new Set(['agent_id', 'team_id', 'minutes']);

function nameOf(app, kind, id) {
  const list = kind === 'agent' ? app.store.agents : app.store.teams;
  const found = (list || []).find((x) => x.id === Number(id));
  return found ? found.name : `#${id}`;
}

/** A rule as a sentence a person reads. */
export function describeRule(rule, app) {
  const when = label(TRIGGERS, rule.trigger).replace('…', ` ${(rule.params || {}).minutes} minutes`);
  const ifs = (rule.conditions || []).map((c) => {
    const value = c.value === undefined || c.value === null ? '' : ` “${Array.isArray(c.value) ? c.value.join(', ') : c.value}”`;
    return `${label(FIELDS, c.field)} ${label(OPS, c.op)}${value}`;
  });
  return `When ${when}${ifs.length ? `, if ${ifs.join(' and ')}` : ''}, then ${describeActions(rule.actions, app)}.`;
}

function describeActions(actions, app) {
  return (actions || []).map((a) => {
    const [, text, param] = ACTIONS.find(([t]) => t === a.type) || [a.type, a.type, null];
    if (!param) return text;
    if (param === 'agent_id') return `${text} ${nameOf(app, 'agent', a.agent_id)}`;
    if (param === 'team_id') return `${text} ${nameOf(app, 'team', a.team_id)}`;
    return `${text} “${a[param]}”`;
  }).join(', then ');
}

export function renderRules(root, app) {
  const routing = h('section', { class: 'card', id: 'routing' });
  const rules = h('section', { class: 'card', id: 'rules' });
  const macros = h('section', { class: 'card', id: 'macros' });
  replace(root, h('div', { class: 'page' }, h('h1', { text: 'Automation' }),
    app.isAdmin ? routing : null, app.isAdmin ? rules : null, macros));
  if (app.isAdmin) { loadRouting(routing, app); loadRules(rules, app); }
  loadMacros(macros, app);
}

async function loadRouting(host, app) {
  const rows = await Promise.all((app.store.inboxes || []).map(async (inbox) => {
    const select = h('select', { id: `routing-${inbox.id}`, 'aria-label': `Assignment in ${inbox.name}` },
      option('off', 'Assign by hand'), option('round_robin', 'Round robin among online agents'),
      option('least_loaded', 'The least busy online agent'));
    try { select.value = (await api.get(`/api/admin/inboxes/${inbox.id}/routing`)).policy; } catch (err) { /* shown as off */ }
    select.addEventListener('change', async () => {
      try {
        const r = await api.put(`/api/admin/inboxes/${inbox.id}/routing`, { policy: select.value });
        toast(r.assigned ? `Saved. ${r.assigned} waiting conversation(s) were assigned.` : 'Saved.');
      } catch (err) { toast(errorText(err), 'error'); }
    });
    return h('tr', {}, h('td', { text: inbox.name }), h('td', {}, select));
  }));
  replace(host, h('h2', { text: 'Auto-assignment' }),
    h('p', { class: 'small', text: 'New conversations go to online members of the inbox who have room. Capacity is set per agent under Settings → Agents.' }),
    h('table', { class: 'data' }, h('tbody', {}, rows)));
}

async function loadRules(host, app) {
  let list = [];
  try { list = (await api.get('/api/admin/rules')).rules; } catch (err) { toast(errorText(err), 'error'); }
  const items = list.map((rule) => h('li', { class: 'rule', dataset: { id: rule.id } },
    h('strong', { text: rule.name }), rule.is_active ? null : h('span', { class: 'small', text: ' (paused)' }),
    h('div', { class: 'small', text: describeRule(rule, app) }),
    h('button', { type: 'button', class: 'ghost', text: 'Recent runs', 'aria-label': `Recent runs of ${rule.name}`,
      onclick: (e) => showRuns(rule, e.target.parentNode) }),
    h('button', { type: 'button', class: 'ghost', text: 'Delete', 'aria-label': `Delete rule ${rule.name}`,
      onclick: async () => {
        try { await api.del(`/api/admin/rules/${rule.id}`); loadRules(host, app); } catch (err) { toast(errorText(err), 'error'); }
      } })));
  replace(host, h('h2', { text: 'Rules' }),
    items.length ? h('ul', { class: 'rules', id: 'rule-list' }, items) : h('p', { class: 'small', id: 'rule-list', text: 'No rules yet.' }),
    ruleEditor(app, async (body) => { await api.post('/api/admin/rules', body); toast('Rule saved.'); loadRules(host, app); }));
}

const RUN_STATUS = { ok: 'done', failed: 'partly failed', stopped: 'stopped (rules triggered each other too deep)' };

/** The rule's latest runs, each with what it did or could not do. */
async function showRuns(rule, host) {
  let runs = [];
  try { runs = (await api.get(`/api/admin/rules/${rule.id}/runs`, { limit: 10 })).runs; } catch (err) { toast(errorText(err), 'error'); return; }
  const old = host.querySelector('.rule-runs');
  if (old) old.remove();
  host.appendChild(h('ul', { class: 'rule-runs small' }, runs.length ? runs.map((run) => h('li', {},
    h('a', { href: `#/inbox/${run.conversation_id}`, text: `Conversation #${run.conversation_id}` }),
    `: ${RUN_STATUS[run.status] || run.status}. `,
    (run.results || []).map((x) => (x.ok ? x.text : x.error)).filter(Boolean).join('; '))) : h('li', { text: 'It has not run yet.' })));
}

function actionRow(app, choices) {
  const type = h('select', { class: 'action-type', 'aria-label': 'Action' }, choices.map(([v, l]) => option(v, l)));
  const value = h('input', { class: 'action-value', 'aria-label': 'Action value' });
  const pick = h('select', { class: 'action-pick', 'aria-label': 'Action choice', hidden: true });
  const sync = () => {
    const param = (ACTIONS.find(([t]) => t === type.value) || [])[2];
    const list = param === 'agent_id' ? app.store.agents : param === 'team_id' ? app.store.teams : null;
    const priorities = param === 'priority' ? ['urgent', 'high', 'medium', 'low', 'none'] : null;
    pick.hidden = !(list || priorities);
    value.hidden = !param || !pick.hidden;
    if (list) replace(pick, (list || []).map((x) => option(x.id, x.name)));
    if (priorities) replace(pick, priorities.map((p) => option(p, p)));
  };
  type.addEventListener('change', sync);
  sync();
  const read = () => {
    const param = (ACTIONS.find(([t]) => t === type.value) || [])[2];
    if (!param) return { type: type.value };
    const raw = pick.hidden ? value.value.trim() : pick.value;
    return { type: type.value, [param]: NUMERIC.has(param) ? Number(raw) : raw };
  };
  return { el: h('div', { class: 'row action' }, type, pick, value), read };
}

function ruleEditor(app, save) {
  const name = h('input', { id: 'rule-name', required: true, maxlength: 200, placeholder: 'e.g. Refunds to billing' });
  const trigger = h('select', { id: 'rule-trigger' }, TRIGGERS.map(([v, l]) => option(v, l)));
  const minutes = h('input', { id: 'rule-minutes', type: 'number', min: 1, value: 30, hidden: true, 'aria-label': 'Minutes' });
  trigger.addEventListener('change', () => { minutes.hidden = trigger.value !== 'waiting_longer'; });
  const field = h('select', { id: 'rule-field' }, option('', 'always'), FIELDS.map(([v, l]) => option(v, l)));
  const op = h('select', { id: 'rule-op' }, OPS.map(([v, l]) => option(v, l)));
  const value = h('input', { id: 'rule-value', placeholder: 'value', 'aria-label': 'Condition value' });
  const actions = [actionRow(app, ACTIONS)];
  const list = h('div', { id: 'rule-actions' }, actions[0].el);
  const more = h('button', { type: 'button', class: 'ghost', text: 'Add another action', onclick: () => {
    const row = actionRow(app, ACTIONS); actions.push(row); list.appendChild(row.el);
  } });
  const form = h('form', { id: 'rule-form', class: 'stack' },
    h('h3', { text: 'New rule' }),
    h('label', {}, 'Name ', name),
    h('div', { class: 'row' }, h('label', {}, 'When ', trigger), minutes),
    h('div', { class: 'row' }, h('label', {}, 'If ', field), op, value),
    h('div', {}, h('span', { text: 'Then ' }), list, more),
    h('button', { type: 'submit', class: 'primary', text: 'Save rule' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const conditions = [];
    if (field.value) {
      const v = value.value.trim();
      const typed = ['inbox_id', 'team_id', 'assignee_id'].includes(field.value) ? Number(v)
        : field.value === 'within_business_hours' ? v !== 'false' : v;
      conditions.push(['present', 'absent'].includes(op.value) ? { field: field.value, op: op.value } : { field: field.value, op: op.value, value: typed });
    }
    const body = { name: name.value.trim(), trigger: trigger.value, conditions, actions: actions.map((a) => a.read()) };
    if (trigger.value === 'waiting_longer') body.params = { minutes: Number(minutes.value) };
    try { await save(body); form.reset(); } catch (err) { toast(`The rule was not saved: ${errorText(err)}`, 'error'); }
  });
  return form;
}

async function loadMacros(host, app) {
  let list = [];
  try { list = (await api.get('/api/macros')).macros; } catch (err) { toast(errorText(err), 'error'); }
  const items = list.map((m) => h('li', { class: 'macro' },
    h('strong', { text: m.name }), h('span', { class: 'small', text: m.visibility === 'shared' ? ' (shared)' : ' (only you)' }),
    h('div', { class: 'small', text: `${describeActions(m.actions, app)}.` })));
  const name = h('input', { id: 'macro-name', required: true, maxlength: 200, placeholder: 'e.g. Close as refunded' });
  const shared = h('input', { type: 'checkbox', id: 'macro-shared', disabled: !app.isAdmin });
  const action = actionRow(app, MACRO_ACTIONS);
  const form = h('form', { id: 'macro-form', class: 'stack' }, h('h3', { text: 'New macro' }),
    h('label', {}, 'Name ', name), h('div', {}, h('span', { text: 'Runs: ' }), action.el),
    h('label', {}, shared, ' Shared with everyone (admins only)'),
    h('button', { type: 'submit', class: 'primary', text: 'Save macro' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.post('/api/macros', { name: name.value.trim(), visibility: shared.checked ? 'shared' : 'personal', actions: [action.read()] });
      toast('Macro saved.');
      loadMacros(host, app);
    } catch (err) { toast(`The macro was not saved: ${errorText(err)}`, 'error'); }
  });
  replace(host, h('h2', { text: 'Macros' }),
    h('p', { class: 'small', text: 'Run a macro on a conversation from its actions menu.' }),
    items.length ? h('ul', { id: 'macro-list' }, items) : h('p', { class: 'small', id: 'macro-list', text: 'No macros yet.' }), form);
}

/** Run a macro on a conversation (used by the conversation's actions; quiet: the caller
 * says the outcome itself, web/js/views/macro_menu.js). */
export async function runMacro(conversationId, macroId, { quiet = false } = {}) {
  const r = await api.post(`/api/conversations/${conversationId}/macros/${macroId}`, {});
  const failed = (r.results || []).filter((x) => !x.ok);
  if (quiet) return r;
  if (failed.length) toast(`The macro ran, but ${failed.map((x) => x.error).join('; ')}.`, 'warn');
  else toast('Macro done.');
  return r;
}
