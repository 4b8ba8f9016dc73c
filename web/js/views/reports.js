// Reports: live counts, first-response time per group as an SVG chart + table, CSV export,
// and a drill-down to the conversations behind each figure.
import { api } from '../api.js';
import { reportTabs } from './trends.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { formatDuration, localInputValue } from '../time.js';

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
  const csv = h('a', { class: 'button', id: 'report-csv', text: 'Export CSV', download: 'frt.csv' });
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
    csv.href = `/api/reports/frt${api.qs({ ...p, format: 'csv' })}`;
    try {
      const data = await api.get('/api/reports/frt', p);
      renderFrt(data, business.value === 'business', chart, tableHost, drill, app);
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

function renderFrt(data, businessClock, chartHost, tableHost, drill, app) {
  const groups = data.groups || [];
  const pre = businessClock ? 'business_' : '';
  const segments = data.segments || [];
  const showDrill = (g) => renderDrill(drill, g, segments, businessClock, app);
  if (!groups.length) {
    replace(chartHost, h('p', { class: 'muted', text: 'No first responses in this period.' }));
    replace(tableHost);
    return;
  }
  const max = Math.max(60, ...groups.map((g) => g[`${pre}p90`] || 0));
  const rowH = 34;
  const left = 160;
  const width = 800;
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${groups.length * rowH + 30}`, role: 'img',
    'aria-label': `Median and p90 first-response time by group` });
  groups.forEach((g, i) => {
    const y = i * rowH + 4;
    const scale = (v) => ((v || 0) / max) * (width - left - 90);
    s.append(svg('text', { x: 0, y: y + 18 }, String(g.label ?? g.key).slice(0, 22)));
    const p90 = svg('rect', { class: 'bar p90', x: left, y: y + 4, height: 22, width: Math.max(1, scale(g[`${pre}p90`])), tabindex: 0 });
    const med = svg('rect', { class: 'bar', x: left, y: y + 8, height: 14, width: Math.max(1, scale(g[`${pre}median`])), tabindex: 0 });
    for (const bar of [p90, med]) {
      bar.append(svg('title', {}, `${g.label}: median ${fmt(g[`${pre}median`])}, p90 ${fmt(g[`${pre}p90`])} — click for conversations`));
      bar.addEventListener('click', () => showDrill(g));
      bar.addEventListener('keydown', (e) => { if (e.key === 'Enter') showDrill(g); });
    }
    s.append(p90, med, svg('text', { x: left + scale(g[`${pre}p90`]) + 6, y: y + 20 }, `${fmt(g[`${pre}median`])} / ${fmt(g[`${pre}p90`])}`));
  });
  replace(chartHost, h('div', { class: 'legend' },
    h('span', {}, h('span', { class: 'swatch', style: 'background:#0b5cad' }), 'Median'),
    h('span', {}, h('span', { class: 'swatch', style: 'background:#8fb8e6' }), 'p90')), s);
  const num = (v) => h('td', { class: 'num', text: v });
  replace(tableHost, h('table', { class: 'data', id: 'frt-table-data' },
    h('thead', {}, h('tr', {}, ['Group', 'Conversations', 'Answered', 'Median', 'p90', 'Mean', 'Business median', 'Business p90', 'Resolved', 'Resolution median', 'Resolution p90', ''].map((t, i) =>
      h('th', { scope: 'col', class: i > 0 && i < 11 ? 'num' : '', text: t })))),
    h('tbody', {}, groups.map((g) => h('tr', {}, h('td', { text: String(g.label ?? g.key) }), num(String(g.count)), num(String(g.answered)),
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
    h('h2', { text: `Conversations behind “${group.label ?? group.key}” (${rows.length})` }),
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
