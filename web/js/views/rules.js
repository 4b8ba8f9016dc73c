// Automation page (#/automation): routing per inbox and automation rules (admins), macros
// (everyone). Conditions and actions are shown as sentences ("When a customer writes, if
// the message text contains "refund", then add label refund"). docs/automation.md.
import { api } from '../api.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { t, tn } from '../i18n.js';

const TRIGGERS = [
  ['customer_message', 'rules.trigger.customer_message'],
  ['conversation_created', 'rules.trigger.conversation_created'],
  ['agent_message', 'rules.trigger.agent_message'],
  ['conversation_updated', 'rules.trigger.conversation_updated'],
  ['conversation_resolved', 'rules.trigger.conversation_resolved'],
  ['waiting_longer', 'rules.trigger.waiting_longer'],
  ['sla_near_breach', 'rules.trigger.sla_near_breach'],
  ['sla_breached', 'rules.trigger.sla_breached'],
];
const FIELDS = [
  ['message.text', 'rules.field.message.text'], ['channel', 'rules.field.channel'], ['inbox_id', 'rules.field.inbox_id'],
  ['priority', 'rules.field.priority'], ['labels', 'rules.field.labels'], ['team_id', 'rules.field.team_id'],
  ['assignee_id', 'rules.field.assignee_id'], ['status', 'rules.field.status'], ['language', 'rules.field.language'],
  ['contact.email', 'rules.field.contact.email'], ['contact.name', 'rules.field.contact.name'],
  ['within_business_hours', 'rules.field.within_business_hours'],
];
const OPS = [
  ['contains', 'rules.op.contains'], ['not_contains', 'rules.op.not_contains'], ['is', 'rules.op.is'], ['is_not', 'rules.op.is_not'],
  ['matches', 'rules.op.matches'], ['has', 'rules.op.has'], ['has_not', 'rules.op.has_not'],
  ['present', 'rules.op.present'], ['absent', 'rules.op.absent'],
];
const ACTIONS = [
  ['add_label', 'rules.action.add_label', 'label'], ['remove_label', 'rules.action.remove_label', 'label'],
  ['set_priority', 'rules.action.set_priority', 'priority'], ['assign_agent', 'rules.action.assign_agent', 'agent_id'],
  ['assign_team', 'rules.action.assign_team', 'team_id'], ['snooze', 'rules.action.snooze', 'minutes'],
  ['resolve', 'rules.action.resolve', null], ['send_reply', 'rules.action.send_reply', 'text'],
  ['add_note', 'rules.action.add_note', 'text'], ['webhook', 'rules.action.webhook', 'url'],
  ['email', 'rules.action.email', 'to'],
];
const MACRO_ACTIONS = ACTIONS.filter(([type]) => type !== 'webhook' && type !== 'email');
const label = (pairs, key) => { const found = pairs.find(([k]) => k === key); return found ? t(found[1]) : key; };
const NUMERIC = new Set(['agent_id', 'team_id', 'minutes']);
const PRIORITY_TEXT = { none: 'actions.prio.none', low: 'actions.prio.low', medium: 'actions.prio.medium', high: 'actions.prio.high', urgent: 'actions.prio.urgent' };

function nameOf(app, kind, id) {
  const list = kind === 'agent' ? app.store.agents : app.store.teams;
  const found = (list || []).find((x) => x.id === Number(id));
  return found ? found.name : `#${id}`;
}

/** A rule as a sentence a person reads. */
export function describeRule(rule, app) {
  const when = rule.trigger === 'waiting_longer' ? t('rules.waitedMinutes', { minutes: (rule.params || {}).minutes })
    : label(TRIGGERS, rule.trigger);
  const ifs = (rule.conditions || []).map((c) => {
    const value = c.value === undefined || c.value === null ? '' : ` “${Array.isArray(c.value) ? c.value.join(', ') : c.value}”`;
    return `${label(FIELDS, c.field)} ${label(OPS, c.op)}${value}`;
  });
  const then = describeActions(rule.actions, app);
  return ifs.length ? t('rules.sentenceIf', { when, conditions: ifs.join(t('rules.and')), then })
    : t('rules.sentence', { when, then });
}

function describeActions(actions, app) {
  return (actions || []).map((a) => {
    const found = ACTIONS.find(([type]) => type === a.type);
    const [text, param] = found ? [t(found[1]), found[2]] : [a.type, null];
    if (!param) return text;
    if (param === 'agent_id') return `${text} ${nameOf(app, 'agent', a.agent_id)}`;
    if (param === 'team_id') return `${text} ${nameOf(app, 'team', a.team_id)}`;
    return `${text} “${a[param]}”`;
  }).join(t('rules.andThen'));
}

export function renderRules(root, app) {
  const routing = h('section', { class: 'card', id: 'routing' });
  const rules = h('section', { class: 'card', id: 'rules' });
  const macros = h('section', { class: 'card', id: 'macros' });
  replace(root, h('div', { class: 'page' }, h('h1', { text: t('rules.title') }),
    app.isAdmin ? routing : null, app.isAdmin ? rules : null, macros));
  if (app.isAdmin) { loadRouting(routing, app); loadRules(rules, app); }
  loadMacros(macros, app);
}

async function loadRouting(host, app) {
  const rows = await Promise.all((app.store.inboxes || []).map(async (inbox) => {
    const select = h('select', { id: `routing-${inbox.id}`, 'aria-label': t('rules.assignmentIn', { inbox: inbox.name }) },
      option('off', t('rules.byHand')), option('round_robin', t('rules.roundRobin')),
      option('least_loaded', t('rules.leastLoaded')));
    try { select.value = (await api.get(`/api/admin/inboxes/${inbox.id}/routing`)).policy; } catch (err) { /* shown as off */ }
    select.addEventListener('change', async () => {
      try {
        const r = await api.put(`/api/admin/inboxes/${inbox.id}/routing`, { policy: select.value });
        toast(r.assigned ? tn('rules.savedAssigned', r.assigned) : t('rules.saved'));
      } catch (err) { toast(errorText(err), 'error'); }
    });
    return h('tr', {}, h('td', { text: inbox.name }), h('td', {}, select));
  }));
  replace(host, h('h2', { text: t('rules.autoAssignment') }),
    h('p', { class: 'small', text: t('rules.autoAssignmentHint') }),
    h('table', { class: 'data' }, h('tbody', {}, rows)));
}

async function loadRules(host, app) {
  let list = [];
  try { list = (await api.get('/api/admin/rules')).rules; } catch (err) { toast(errorText(err), 'error'); }
  const items = list.map((rule) => h('li', { class: 'rule', dataset: { id: rule.id } },
    h('strong', { text: rule.name }), rule.is_active ? null : h('span', { class: 'small', text: ` (${t('rules.paused')})` }),
    h('div', { class: 'small', text: describeRule(rule, app) }),
    h('button', { type: 'button', class: 'ghost', text: t('rules.recentRuns'), 'aria-label': t('rules.recentRunsOf', { name: rule.name }),
      onclick: (e) => showRuns(rule, e.target.parentNode) }),
    h('button', { type: 'button', class: 'ghost', text: t('admin.delete'), 'aria-label': t('rules.deleteRule', { name: rule.name }),
      onclick: async () => {
        try { await api.del(`/api/admin/rules/${rule.id}`); loadRules(host, app); } catch (err) { toast(errorText(err), 'error'); }
      } })));
  replace(host, h('h2', { text: t('rules.rules') }),
    items.length ? h('ul', { class: 'rules', id: 'rule-list' }, items) : h('p', { class: 'small', id: 'rule-list', text: t('rules.noRules') }),
    ruleEditor(app, async (body) => { await api.post('/api/admin/rules', body); toast(t('rules.ruleSaved')); loadRules(host, app); }));
}

const RUN_STATUS = { ok: 'rules.run.ok', failed: 'rules.run.failed', stopped: 'rules.run.stopped' };

/** The rule's latest runs, each with what it did or could not do. */
async function showRuns(rule, host) {
  let runs = [];
  try { runs = (await api.get(`/api/admin/rules/${rule.id}/runs`, { limit: 10 })).runs; } catch (err) { toast(errorText(err), 'error'); return; }
  const old = host.querySelector('.rule-runs');
  if (old) old.remove();
  host.appendChild(h('ul', { class: 'rule-runs small' }, runs.length ? runs.map((run) => h('li', {},
    h('a', { href: `#/inbox/${run.conversation_id}`, text: t('notify.conversation', { id: run.conversation_id }) }),
    `: ${RUN_STATUS[run.status] ? t(RUN_STATUS[run.status]) : run.status}. `,
    (run.results || []).map((x) => (x.ok ? x.text : x.error)).filter(Boolean).join('; '))) : h('li', { text: t('rules.notRun') })));
}

function actionRow(app, choices) {
  const type = h('select', { class: 'action-type', 'aria-label': t('rules.action') }, choices.map(([v, l]) => option(v, t(l))));
  const value = h('input', { class: 'action-value', 'aria-label': t('rules.actionValue') });
  const pick = h('select', { class: 'action-pick', 'aria-label': t('rules.actionChoice'), hidden: true });
  const sync = () => {
    const param = (ACTIONS.find(([k]) => k === type.value) || [])[2];
    const list = param === 'agent_id' ? app.store.agents : param === 'team_id' ? app.store.teams : null;
    const priorities = param === 'priority' ? ['urgent', 'high', 'medium', 'low', 'none'] : null;
    pick.hidden = !(list || priorities);
    value.hidden = !param || !pick.hidden;
    if (list) replace(pick, (list || []).map((x) => option(x.id, x.name)));
    if (priorities) replace(pick, priorities.map((p) => option(p, t(PRIORITY_TEXT[p]))));
  };
  type.addEventListener('change', sync);
  sync();
  const read = () => {
    const param = (ACTIONS.find(([k]) => k === type.value) || [])[2];
    if (!param) return { type: type.value };
    const raw = pick.hidden ? value.value.trim() : pick.value;
    return { type: type.value, [param]: NUMERIC.has(param) ? Number(raw) : raw };
  };
  return { el: h('div', { class: 'row action' }, type, pick, value), read };
}

function ruleEditor(app, save) {
  const name = h('input', { id: 'rule-name', required: true, maxlength: 200, placeholder: t('rules.namePlaceholder') });
  const trigger = h('select', { id: 'rule-trigger' }, TRIGGERS.map(([v, l]) => option(v, t(l))));
  const minutes = h('input', { id: 'rule-minutes', type: 'number', min: 1, value: 30, hidden: true, 'aria-label': t('rules.minutes') });
  trigger.addEventListener('change', () => { minutes.hidden = trigger.value !== 'waiting_longer'; });
  const field = h('select', { id: 'rule-field' }, option('', t('rules.always')), FIELDS.map(([v, l]) => option(v, t(l))));
  const op = h('select', { id: 'rule-op' }, OPS.map(([v, l]) => option(v, t(l))));
  const value = h('input', { id: 'rule-value', placeholder: t('rules.value'), 'aria-label': t('rules.conditionValue') });
  const actions = [actionRow(app, ACTIONS)];
  const list = h('div', { id: 'rule-actions' }, actions[0].el);
  const more = h('button', { type: 'button', class: 'ghost', text: t('rules.addAction'), onclick: () => {
    const row = actionRow(app, ACTIONS); actions.push(row); list.appendChild(row.el);
  } });
  const form = h('form', { id: 'rule-form', class: 'stack' },
    h('h3', { text: t('rules.newRule') }),
    h('label', {}, `${t('admin.name')} `, name),
    h('div', { class: 'row' }, h('label', {}, `${t('rules.when')} `, trigger), minutes),
    h('div', { class: 'row' }, h('label', {}, `${t('rules.if')} `, field), op, value),
    h('div', {}, h('span', { text: `${t('rules.then')} ` }), list, more),
    h('button', { type: 'submit', class: 'primary', text: t('rules.saveRule') }));
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
    try { await save(body); form.reset(); } catch (err) { toast(t('rules.ruleNotSaved', { error: errorText(err) }), 'error'); }
  });
  return form;
}

async function loadMacros(host, app) {
  let list = [];
  try { list = (await api.get('/api/macros')).macros; } catch (err) { toast(errorText(err), 'error'); }
  const items = list.map((m) => h('li', { class: 'macro' },
    h('strong', { text: m.name }), h('span', { class: 'small', text: ` (${t(m.visibility === 'shared' ? 'rules.shared' : 'rules.onlyYou')})` }),
    h('div', { class: 'small', text: `${describeActions(m.actions, app)}.` })));
  const name = h('input', { id: 'macro-name', required: true, maxlength: 200, placeholder: t('rules.macroPlaceholder') });
  const shared = h('input', { type: 'checkbox', id: 'macro-shared', disabled: !app.isAdmin });
  const action = actionRow(app, MACRO_ACTIONS);
  const form = h('form', { id: 'macro-form', class: 'stack' }, h('h3', { text: t('rules.newMacro') }),
    h('label', {}, `${t('admin.name')} `, name), h('div', {}, h('span', { text: `${t('rules.runs')} ` }), action.el),
    h('label', {}, shared, ` ${t('rules.sharedAll')}`),
    h('button', { type: 'submit', class: 'primary', text: t('rules.saveMacro') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.post('/api/macros', { name: name.value.trim(), visibility: shared.checked ? 'shared' : 'personal', actions: [action.read()] });
      toast(t('rules.macroSaved'));
      loadMacros(host, app);
    } catch (err) { toast(t('rules.macroNotSaved', { error: errorText(err) }), 'error'); }
  });
  replace(host, h('h2', { text: t('rules.macros') }),
    h('p', { class: 'small', text: t('rules.macrosHint') }),
    items.length ? h('ul', { id: 'macro-list' }, items) : h('p', { class: 'small', id: 'macro-list', text: t('rules.noMacros') }), form);
}

/** Run a macro on a conversation (used by the conversation's actions; quiet: the caller
 * says the outcome itself, web/js/views/macro_menu.js). */
export async function runMacro(conversationId, macroId, { quiet = false } = {}) {
  const r = await api.post(`/api/conversations/${conversationId}/macros/${macroId}`, {});
  const failed = (r.results || []).filter((x) => !x.ok);
  if (quiet) return r;
  if (failed.length) toast(t('rules.macroPartly', { errors: failed.map((x) => x.error).join('; ') }), 'warn');
  else toast(t('rules.macroDone'));
  return r;
}
