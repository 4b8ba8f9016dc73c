// Reports: live counts, first-response time per group as an SVG chart + table, CSV export,
// and a drill-down to the conversations behind each figure.
import { api } from '../api.js';
import { reportTabs } from './trends.js';
import { h, option, replace, toast, errorText } from '../dom.js';
import { formatDuration, localInputValue } from '../time.js';
import { channelInfo } from '../channels.js';
import { t, formatDateTime } from '../i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const GROUPS = ['inbox', 'channel', 'agent', 'team'];

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const WHEN = { dateStyle: 'medium', timeStyle: 'short' };
const fmt = (s) => (s === null || s === undefined ? '—' : formatDuration(s));

export function renderReports(root, app) {
  const now = new Date();
  const from = h('input', { type: 'datetime-local', id: 'report-from', value: localInputValue(new Date(now.getTime() - 7 * 86400e3)) });
  const to = h('input', { type: 'datetime-local', id: 'report-to', value: localInputValue(new Date(now.getTime() + 60e3)) });
  const group = h('select', { id: 'report-group' }, GROUPS.map((v) => option(v, t(`reports.group.${v}`))));
  const business = h('select', { id: 'report-clock' }, option('wall', t('frt.wall')), option('business', t('frt.business')));
  // The CSV is written here from the report's own rows, with names instead of ids.
  const csv = h('a', { class: 'button', id: 'report-csv', text: t('reports.csv'), download: 'first-response.csv', href: '#' });
  const kpis = h('div', { class: 'kpis', id: 'live-kpis' });
  const chart = h('div', { id: 'frt-chart' });
  const tableHost = h('div', { id: 'frt-table' });
  const drill = h('div', { id: 'drill', 'aria-live': 'polite' });
  const form = h('form', { class: 'row' },
    h('label', {}, `${t('reports.from')} `, from), h('label', {}, `${t('reports.to')} `, to),
    h('label', {}, `${t('reports.groupBy')} `, group), h('label', {}, `${t('frt.clock')} `, business),
    h('button', { type: 'submit', class: 'primary', text: t('reports.update') }), csv);
  replace(root, h('div', { class: 'page' }, reportTabs('frt'), h('h1', { text: t('reports.title') }), kpis,
    h('section', { class: 'card' }, h('h2', { text: t('frt.title') }), form, chart, tableHost), drill));

  const params = () => ({ from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString(), group_by: group.value });
  async function load() {
    const p = params();
    try {
      const data = await api.get('/api/reports/frt', p);
      renderFrt(data, business.value === 'business', chart, tableHost, drill, app, group.value, p);
      if (csv.href.startsWith('blob:')) URL.revokeObjectURL(csv.href);
      // a long period lists only the first segments: the server's CSV has them all
      csv.href = data.segments_truncated ? `/api/reports/frt${api.qs({ ...p, format: 'csv' })}`
        : URL.createObjectURL(new Blob([segmentsCsv(data.segments || [], app.store)], { type: 'text/csv' }));
    } catch (err) { toast(t('frt.failed', { error: errorText(err) }), 'error'); }
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
    replace(host, [['open', 'frt.live.open'], ['unassigned', 'frt.live.unassigned'], ['waiting', 'frt.live.waiting'], ['breaching', 'frt.live.breaching']].map(([k, l]) =>
      h('div', { class: 'kpi', id: `kpi-${k}` }, h('div', { class: 'value', text: String(live[k] ?? 0) }), h('div', { class: 'label', text: t(l) }))));
  } catch (err) { replace(host, h('p', { class: 'muted', text: t('frt.liveUnavailable', { error: errorText(err) }) })); }
}

const NO_KEY = { agent: 'frt.none.agent', team: 'frt.none.team', inbox: 'frt.none.inbox', channel: 'frt.none.channel' };

/** A group's name in words: the segments without a responder are "Not answered yet", not "—". */
function groupLabel(g, by) {
  if (g.key === null || g.key === undefined) return t(NO_KEY[by] || 'frt.none.other');
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
    s.team_id ? store.teamName(s.team_id) : '', s.responder_id ? responderName(store, s.responder_id) : '',
    s.started_at, s.responded_at, s.wall_seconds, s.business_seconds, s.resolution_seconds]);
  return [CSV_COLUMNS, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** The responder's plain name (the app says "(you)" after one's own name; a file does not). */
function responderName(store, id) {
  return store.me && store.me.id === id ? store.me.name : store.agentName(id);
}

function channelName(kind) {
  return kind ? channelInfo(kind).name : '';
}

/** Round axis steps a person reads easily: 30 s, 1 min, 5 min, 15 min, 1 h, … */
const STEPS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800];
function axisStep(max) {
  return STEPS.find((s) => max / s <= 5) || STEPS[STEPS.length - 1];
}

function renderFrt(data, businessClock, chartHost, tableHost, drill, app, by, params) {
  const groups = (data.groups || []).map((g) => ({ ...g, label: groupLabel(g, by) }));
  const pre = businessClock ? 'business_' : '';
  const segments = data.segments || [];
  const showDrill = async (g) => {
    let rows = segments;
    if (data.segments_truncated) {  // the list holds the period's first segments: ask for this group's
      try {
        rows = (await api.get('/api/reports/frt', { ...params, group_key: g.key === null ? 'none' : g.key })).segments || [];
      } catch (err) { toast(t('frt.failed', { error: errorText(err) }), 'error'); return; }
    }
    renderDrill(drill, g, rows, businessClock, app);
  };
  if (!groups.length) {
    replace(chartHost, h('p', { class: 'muted', text: t('frt.empty') }));
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
    'aria-label': t(businessClock ? 'frt.chartBusiness' : 'frt.chartWall', { group: t(`reports.group.${by}`) }) });
  // The time axis: gridlines with durations, and what is measured, under the bars.
  for (let v = 0; v <= max; v += step) {
    const x = left + (v / max) * plot;
    s.append(svg('line', { class: 'grid', x1: x, x2: x, y1: 0, y2: height + 4 }),
      svg('text', { class: 'tick', x, y: height + 18, 'text-anchor': 'middle' }, v === 0 ? '0' : formatDuration(v)));
  }
  s.append(svg('line', { class: 'axis', x1: left, x2: left + plot, y1: height + 4, y2: height + 4 }),
    svg('text', { class: 'axis-title', x: left + plot / 2, y: height + 44, 'text-anchor': 'middle' },
      t(businessClock ? 'frt.axisBusiness' : 'frt.axisWall')));
  groups.forEach((g, i) => {
    const y = i * rowH;
    const scale = (v) => ((v || 0) / max) * plot;
    s.append(svg('text', { x: 0, y: y + 18 }, String(g.label ?? g.key).slice(0, 22)));
    const p90 = svg('rect', { class: 'bar p90', x: left, y: y + 4, height: 22, width: Math.max(1, scale(g[`${pre}p90`])), tabindex: 0 });
    const med = svg('rect', { class: 'bar', x: left, y: y + 8, height: 14, width: Math.max(1, scale(g[`${pre}median`])), tabindex: 0 });
    for (const bar of [p90, med]) {
      bar.append(svg('title', {}, t('frt.barTitle', { group: g.label, median: fmt(g[`${pre}median`]), p90: fmt(g[`${pre}p90`]) })));
      bar.addEventListener('click', () => showDrill(g));
      bar.addEventListener('keydown', (e) => { if (e.key === 'Enter') showDrill(g); });
    }
    s.append(p90, med, svg('text', { x: left + scale(g[`${pre}p90`]) + 6, y: y + 20 }, g[`${pre}median`] == null
      ? t('frt.noneYet') : t('frt.barText', { median: fmt(g[`${pre}median`]), p90: fmt(g[`${pre}p90`]) })));
  });
  replace(chartHost, h('div', { class: 'legend' },
    h('span', {}, h('span', { class: 'swatch', style: 'background:#0b5cad' }), t('frt.median')),
    h('span', {}, h('span', { class: 'swatch', style: 'background:#8fb8e6' }), t('frt.p90'))), s);
  const num = (v) => h('td', { class: 'num', text: v });
  replace(tableHost, h('table', { class: 'data', id: 'frt-table-data' },
    h('thead', {}, h('tr', {}, ['frt.col.group', 'frt.col.conversations', 'frt.col.answered', 'frt.median', 'frt.p90', 'frt.col.mean', 'frt.col.businessMedian',
      'frt.col.businessP90', 'frt.col.resolved', 'frt.col.resolutionMedian', 'frt.col.resolutionP90', ''].map((k, i) =>
      h('th', { scope: 'col', class: i > 0 && i < 11 ? 'num' : '', text: k ? t(k) : '' })))),
    h('tbody', {}, groups.map((g) => h('tr', {}, h('td', { text: g.label }), num(String(g.count)), num(String(g.answered)),
      num(fmt(g.median)), num(fmt(g.p90)), num(fmt(g.mean)), num(fmt(g.business_median)), num(fmt(g.business_p90)),
      num(String(g.resolved ?? 0)), num(fmt(g.resolution_median)), num(fmt(g.resolution_p90)),
      h('td', {}, h('button', { type: 'button', class: 'small', text: t('frt.col.conversations'), onclick: () => showDrill(g) })))))));
}

function segmentKey(seg, by) {
  return { inbox: seg.inbox_id, channel: seg.channel, agent: seg.responder_id, team: seg.team_id }[by];
}

function renderDrill(host, group, segments, businessClock, app) {
  const by = document.getElementById('report-group').value;
  const rows = segments.filter((s) => String(segmentKey(s, by)) === String(group.key));
  replace(host, h('section', { class: 'card', id: 'drill-card' },
    h('h2', { text: t('frt.drillTitle', { group: group.label, n: group.count }) }),
    rows.length < group.count ? h('p', { class: 'muted', text: t('reports.drillTruncated', { shown: rows.length, n: group.count }) }) : null,
    h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ['frt.d.conversation', 'frt.d.inbox', 'frt.d.responder', 'frt.d.started', 'frt.d.responded', 'frt.d.frt', 'frt.d.resolution'].map((k) => h('th', { scope: 'col', text: t(k) })))),
      h('tbody', {}, rows.map((s) => h('tr', {},
        h('td', {}, h('a', { href: `#/inbox/${s.conversation_id}`, text: `#${s.conversation_id}` })),
        h('td', { text: app.store.inboxName(s.inbox_id) }),
        h('td', { text: s.responder_id ? app.store.agentName(s.responder_id) : '—' }),
        h('td', { text: formatDateTime(new Date(s.started_at), WHEN) }),
        h('td', { text: s.responded_at ? formatDateTime(new Date(s.responded_at), WHEN) : t('frt.notYet') }),
        h('td', { class: 'num', text: fmt(businessClock ? s.business_seconds : s.wall_seconds) }),
        h('td', { class: 'num', text: s.resolution_seconds == null ? t('conv.st.open') : fmt(s.resolution_seconds) })))))));
  host.scrollIntoView({ behavior: 'smooth', block: 'start' });
}
