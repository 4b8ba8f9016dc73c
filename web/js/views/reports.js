// Reports: live counts, first-response time per group as an SVG chart + table, CSV export,
// and a drill-down to the conversations behind each figure.
import { api } from '../api.js';
import { reportTabs } from './trends.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { formatDuration, localInputValue } from '../time.js';
import { channelInfo } from '../channels.js';

const SVG = 'http://www.w3.org/2000/svg';
const GROUPS = [['inbox', 'Inbox'], ['channel', 'Channel'], ['agent', 'Agent'], ['team', 'Team']];

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const fmt = (s) => (s === null || s === undefined ? '—' : formatDuration(s));

export function renderReports(root, app) {
  const now = new Date();
  const from = h('input', { type: 'datetime-local', id: 'report-from', value: localInputValue(new Date(now.getTime() - 7 * 86400e3)) });
  const to = h('input', { type: 'datetime-local', id: 'report-to', value: localInputValue(new Date(now.getTime() + 60e3)) });
  const group = h('select', { id: 'report-group' }, GROUPS.map(([v, l]) => option(v, l)));
  const business = h('select', { id: 'report-clock' }, option('wall', 'Wall-clock time'), option('business', 'Business time'));
  // The CSV is written here from the report's own rows, with names instead of ids.
  const csv = h('a', { class: 'button', id: 'report-csv', text: 'Export CSV', download: 'first-response.csv', href: '#' });
  const kpis = h('div', { class: 'kpis', id: 'live-kpis' });
  const chart = h('div', { id: 'frt-chart' });
  const tableHost = h('div', { id: 'frt-table' });
  const drill = h('div', { id: 'drill', 'aria-live': 'polite' });
  const form = h('form', { class: 'row' },
    h('label', {}, 'From ', from), h('label', {}, 'To ', to), h('label', {}, 'Group by ', group), h('label', {}, 'Clock ', business),
    h('button', { type: 'submit', class: 'primary', text: 'Update' }), csv);
  replace(root, h('div', { class: 'page' }, reportTabs('frt'), h('h1', { text: 'Reports' }), kpis,
    h('section', { class: 'card' }, h('h2', { text: 'First-response time' }), form, chart, tableHost), drill));

  const params = () => ({ from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString(), group_by: group.value });
  async function load() {
    const p = params();
    try {
      const data = await api.get('/api/reports/frt', p);
      renderFrt(data, business.value === 'business', chart, tableHost, drill, app, group.value);
      if (csv.href.startsWith('blob:')) URL.revokeObjectURL(csv.href);
      csv.href = URL.createObjectURL(new Blob([segmentsCsv(data.segments || [], app.store)], { type: 'text/csv' }));
    } catch (err) { toast(`Report failed: ${errorText(err)}`, 'error'); }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  group.addEventListener('change', load);
  business.addEventListener('change', load);
  loadLive(kpis);
  load();
}

async function loadLive(host) {
  try {
    const live = await api.get('/api/reports/live');
    replace(host, [['open', 'Open'], ['unassigned', 'Unassigned'], ['waiting', 'Waiting'], ['breaching', 'Breaching SLA']].map(([k, l]) =>
      h('div', { class: 'kpi', id: `kpi-${k}` }, h('div', { class: 'value', text: String(live[k] ?? 0) }), h('div', { class: 'label', text: l }))));
  } catch (err) { replace(host, h('p', { class: 'muted', text: `Live counts unavailable: ${errorText(err)}` })); }
}

const NO_KEY = { agent: 'Not answered yet', team: 'No team', inbox: 'No inbox', channel: 'No channel' };

/** A group's name in words: the segments without a responder are "Not answered yet", not "—". */
function groupLabel(g, by) {
  if (g.key === null || g.key === undefined) return NO_KEY[by] || 'None';
  return String(g.label && g.label !== '—' ? g.label : g.key);
}

const CSV_COLUMNS = ['conversation', 'inbox', 'channel', 'team', 'responder', 'started_at', 'responded_at',
  'first_response_seconds', 'business_seconds', 'resolution_seconds'];

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  // a leading = + - @ would run as a formula in a spreadsheet
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One row per first-response segment, every id given its name. */
export function segmentsCsv(segments, store) {
  const rows = segments.map((s) => [s.conversation_id, store.inboxName(s.inbox_id), channelName(s.channel),
    s.team_id ? store.teamName(s.team_id) : '', s.responder_id ? store.agentName(s.responder_id).replace(/ \(you\)$/, '') : '',
    s.started_at, s.responded_at, s.wall_seconds, s.business_seconds, s.resolution_seconds]);
  return [CSV_COLUMNS, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

function channelName(kind) {
  return kind ? channelInfo(kind).name : '';
}

/** Round axis steps a person reads easily: 30 s, 1 min, 5 min, 15 min, 1 h, … */
const STEPS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800];
function axisStep(max) {
  return STEPS.find((s) => max / s <= 5) || STEPS[STEPS.length - 1];
}

function renderFrt(data, businessClock, chartHost, tableHost, drill, app, by) {
  const groups = (data.groups || []).map((g) => ({ ...g, label: groupLabel(g, by) }));
  const pre = businessClock ? 'business_' : '';
  const segments = data.segments || [];
  const showDrill = (g) => renderDrill(drill, g, segments, businessClock, app);
  if (!groups.length) {
    replace(chartHost, h('p', { class: 'muted', text: 'No first responses in this period.' }));
    replace(tableHost);
    return;
  }
  const top = Math.max(60, ...groups.map((g) => g[`${pre}p90`] || 0));
  const step = axisStep(top);
  const max = Math.ceil(top / step) * step;
  const rowH = 34;
  const left = 160;
  const width = 800;
  const plot = width - left - 90;
  const height = groups.length * rowH;
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height + 52}`, role: 'img',
    'aria-label': `Median and p90 first-response time by ${by}, in ${businessClock ? 'business' : 'wall-clock'} time` });
  // The time axis: gridlines with durations, and what is measured, under the bars.
  for (let v = 0; v <= max; v += step) {
    const x = left + (v / max) * plot;
    s.append(svg('line', { class: 'grid', x1: x, x2: x, y1: 0, y2: height + 4 }),
      svg('text', { class: 'tick', x, y: height + 18, 'text-anchor': 'middle' }, v === 0 ? '0' : formatDuration(v)));
  }
  s.append(svg('line', { class: 'axis', x1: left, x2: left + plot, y1: height + 4, y2: height + 4 }),
    svg('text', { class: 'axis-title', x: left + plot / 2, y: height + 44, 'text-anchor': 'middle' },
      `First-response time (${businessClock ? 'business hours' : 'wall-clock'})`));
  groups.forEach((g, i) => {
    const y = i * rowH;
    const scale = (v) => ((v || 0) / max) * plot;
    s.append(svg('text', { x: 0, y: y + 18 }, String(g.label ?? g.key).slice(0, 22)));
    const p90 = svg('rect', { class: 'bar p90', x: left, y: y + 4, height: 22, width: Math.max(1, scale(g[`${pre}p90`])), tabindex: 0 });
    const med = svg('rect', { class: 'bar', x: left, y: y + 8, height: 14, width: Math.max(1, scale(g[`${pre}median`])), tabindex: 0 });
    for (const bar of [p90, med]) {
      bar.append(svg('title', {}, `${g.label}: median ${fmt(g[`${pre}median`])}, p90 ${fmt(g[`${pre}p90`])} — click for conversations`));
      bar.addEventListener('click', () => showDrill(g));
      bar.addEventListener('keydown', (e) => { if (e.key === 'Enter') showDrill(g); });
    }
    s.append(p90, med, svg('text', { x: left + scale(g[`${pre}p90`]) + 6, y: y + 20 }, g[`${pre}median`] == null
      ? 'no first response yet' : `median ${fmt(g[`${pre}median`])} · p90 ${fmt(g[`${pre}p90`])}`));
  });
  replace(chartHost, h('div', { class: 'legend' },
    h('span', {}, h('span', { class: 'swatch', style: 'background:#0b5cad' }), 'Median'),
    h('span', {}, h('span', { class: 'swatch', style: 'background:#8fb8e6' }), 'p90')), s);
  const num = (v) => h('td', { class: 'num', text: v });
  replace(tableHost, h('table', { class: 'data', id: 'frt-table-data' },
    h('thead', {}, h('tr', {}, ['Group', 'Conversations', 'Answered', 'Median', 'p90', 'Mean', 'Business median', 'Business p90', 'Resolved', 'Resolution median', 'Resolution p90', ''].map((t, i) =>
      h('th', { scope: 'col', class: i > 0 && i < 11 ? 'num' : '', text: t })))),
    h('tbody', {}, groups.map((g) => h('tr', {}, h('td', { text: g.label }), num(String(g.count)), num(String(g.answered)),
      num(fmt(g.median)), num(fmt(g.p90)), num(fmt(g.mean)), num(fmt(g.business_median)), num(fmt(g.business_p90)),
      num(String(g.resolved ?? 0)), num(fmt(g.resolution_median)), num(fmt(g.resolution_p90)),
      h('td', {}, h('button', { type: 'button', class: 'small', text: 'Conversations', onclick: () => showDrill(g) })))))));
}

function segmentKey(seg, by) {
  return { inbox: seg.inbox_id, channel: seg.channel, agent: seg.responder_id, team: seg.team_id }[by];
}

function renderDrill(host, group, segments, businessClock, app) {
  const by = document.getElementById('report-group').value;
  const rows = segments.filter((s) => String(segmentKey(s, by)) === String(group.key));
  replace(host, h('section', { class: 'card', id: 'drill-card' },
    h('h2', { text: `Conversations behind “${group.label}” (${rows.length})` }),
    h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ['Conversation', 'Inbox', 'Responder', 'Started', 'Responded', 'FRT', 'Resolution'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows.map((s) => h('tr', {},
        h('td', {}, h('a', { href: `#/inbox/${s.conversation_id}`, text: `#${s.conversation_id}` })),
        h('td', { text: app.store.inboxName(s.inbox_id) }),
        h('td', { text: s.responder_id ? app.store.agentName(s.responder_id) : '—' }),
        h('td', { text: new Date(s.started_at).toLocaleString() }),
        h('td', { text: s.responded_at ? new Date(s.responded_at).toLocaleString() : 'not yet' }),
        h('td', { class: 'num', text: fmt(businessClock ? s.business_seconds : s.wall_seconds) }),
        h('td', { class: 'num', text: s.resolution_seconds == null ? 'open' : fmt(s.resolution_seconds) })))))));
  host.scrollIntoView({ behavior: 'smooth', block: 'start' });
}
