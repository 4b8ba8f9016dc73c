// Reports → Trends and Satisfaction: figures over time in the team's time zone, the
// previous period beside them, when customers write (heatmap), and CSAT per agent/team/…
// Every figure says its unit; every chart has axes and a text table next to it.
import { api } from '../api.js';
import { h, option, replace, errorText } from '../dom.js';
import { formatDuration } from '../time.js';
import { t, formatNumber, formatDateTime } from '../i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const T = {
  get days() { return ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => t(`day.${d}`)); },
  kpis: [['new', 'reports.kpi.new', 'count'], ['resolved', 'reports.kpi.resolved', 'count'],
    ['frt_median_seconds', 'reports.kpi.frt', 'seconds'], ['nrt_median_seconds', 'reports.kpi.nrt', 'seconds'],
    ['sla_within_percent', 'reports.kpi.sla', 'percent'], ['csat_average', 'reports.kpi.csat', 'rating']],
  columns: [['start', 'reports.col.period'], ['new', 'reports.col.new'], ['reopened', 'reports.col.reopened'],
    ['resolved', 'reports.col.resolved'], ['frt_median_seconds', 'reports.col.frtMedian'], ['frt_p90_seconds', 'reports.col.frtP90'],
    ['nrt_median_seconds', 'reports.col.nrtMedian'], ['resolution_median_seconds', 'reports.col.resolutionMedian'],
    ['sla_within_percent', 'reports.col.sla'], ['csat_average', 'reports.col.csat']],
  csatColumns: [['label', ''], ['sent', 'csat.col.sent'], ['answered', 'csat.col.answered'],
    ['response_rate_percent', 'csat.col.rate'], ['average_rating', 'csat.col.average'], ['satisfied_percent', 'csat.col.satisfied']],
  languages: [['en', 'English'], ['pl', 'Polski'], ['el', 'Ελληνικά']],
};

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function show(value, unit) {
  if (value === null || value === undefined) return '—';
  if (unit === 'seconds') return formatDuration(value);
  if (unit === 'percent') return `${formatNumber(value)} %`;
  if (unit === 'rating') return formatNumber(value, { maximumFractionDigits: 2 });
  return formatNumber(value);
}

function unitOf(key) {
  if (key.endsWith('_seconds')) return 'seconds';
  if (key.endsWith('_percent')) return 'percent';
  if (key.startsWith('csat_average') || key === 'average_rating') return 'rating';
  return 'count';
}

export function reportTabs(current) {
  const tab = (href, text, name) => h('a', { href, text, 'aria-current': current === name ? 'page' : null });
  return h('nav', { class: 'report-tabs', 'aria-label': t('reports.title') },
    tab('#/reports', t('reports.firstResponse'), 'frt'), tab('#/reports/trends', t('reports.trends'), 'trends'),
    tab('#/reports/csat', t('reports.satisfaction'), 'csat'));
}

function dayInput(id, date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60e3);
  return h('input', { type: 'date', id, value: local.toISOString().slice(0, 10) });
}

/** From the start of the first day to the end of the last, in the browser's time zone. */
function dayStart(value, plusDays = 0) {
  const d = new Date(`${value}T00:00:00`);
  d.setDate(d.getDate() + plusDays);
  return d.toISOString();
}

function periodForm(app, extra) {
  const now = new Date();
  const from = dayInput('trend-from', new Date(now.getTime() - 27 * 86400e3));
  const to = dayInput('trend-to', now);
  const inbox = h('select', { id: 'trend-inbox' }, option('', t('reports.allInboxes')), (app.store.inboxes || []).map((i) => option(i.id, i.name)));
  const csv = h('a', { class: 'button', id: 'trend-csv', text: t('reports.csv') });
  const form = h('form', { class: 'row filters' }, h('label', {}, `${t('reports.from')} `, from), h('label', {}, `${t('reports.to')} `, to),
    extra, h('label', {}, `${t('reports.inbox')} `, inbox), h('button', { type: 'submit', class: 'primary', text: t('reports.update') }), csv);
  const params = () => {
    const p = { from: dayStart(from.value), to: dayStart(to.value, 1) };
    if (inbox.value) p.inbox_id = inbox.value;
    return p;
  };
  return { form, params, csv };
}

export function renderTrends(root, app) {
  const interval = h('select', { id: 'trend-interval' }, option('day', t('reports.day')), option('week', t('reports.week')), option('month', t('reports.month')));
  const zone = h('input', { id: 'trend-tz', value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', size: 16 });
  const { form, params, csv } = periodForm(app, [h('label', {}, `${t('reports.per')} `, interval), h('label', {}, `${t('reports.zone')} `, zone)]);
  const status = h('p', { id: 'trend-status', class: 'muted', 'aria-live': 'polite' });
  const body = h('div', { id: 'trend-body' });
  const drillHost = h('div', { id: 'trend-drill', 'aria-live': 'polite' });
  replace(root, h('div', { class: 'page' }, reportTabs('trends'), h('h1', { text: t('reports.trends') }), form, status, body, drillHost));

  async function load() {
    if (!knownZone(zone.value.trim())) {  // said in the reader's language, before asking
      status.textContent = t('reports.badZone', { zone: zone.value });
      status.className = 'error';
      replace(body);
      replace(drillHost);
      return;
    }
    const p = { ...params(), interval: interval.value, tz: zone.value.trim() };
    csv.href = `/api/reports/trends${api.qs({ ...p, format: 'csv' })}`;
    csv.setAttribute('download', 'trends.csv');
    status.textContent = t('reports.loading');
    status.className = 'muted';
    try {
      const data = await api.get('/api/reports/trends', p);
      status.textContent = '';
      const empty = drawTrends(body, data, (figure, bucket) => drill(drillHost, app, p, figure, bucket));
      replace(drillHost, empty ? null : h('p', { class: 'muted', text: t('reports.drillHint') }));
    } catch (err) {
      status.textContent = errorText(err, { tz: t('reports.zone'), interval: t('reports.per'), from: t('reports.from'), to: t('reports.to') });
      status.className = 'error';
      replace(body);
      replace(drillHost);  // no hint about figures that are not there
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  interval.addEventListener('change', load);
  load();
}

/** A bucket's start (YYYY-MM-DD, the team's calendar day) in the reader's language:
 * "30 lis" / "30 Nov" per day or week, "lis 2026" / "Nov 2026" per month. `long`: the
 * table's and tooltips' fuller form. */
/** Whether the browser knows this IANA time zone name (the server checks it too). */
function knownZone(zone) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone !== '';
  } catch (e) {
    return false;
  }
}

function bucketLabel(start, interval, long = false) {
  const [y, m, d] = String(start).split('-').map(Number);
  if (!y || !m) return String(start);
  const date = new Date(Date.UTC(y, m - 1, d || 1));
  const options = interval === 'month'
    ? { month: long ? 'long' : 'short', year: 'numeric', timeZone: 'UTC' }
    : { day: 'numeric', month: 'short', ...(long ? { year: 'numeric', weekday: 'short' } : {}), timeZone: 'UTC' };
  return formatDateTime(date, options);
}

/** Draws the period's figures; true when nothing happened in it. */
function drawTrends(host, data, open) {
  const label = (start, long) => bucketLabel(start, data.interval, long);
  // drawn at the width it is shown at (a card's inner width), so that its text stays
  // 12 px on a phone and the axis gets as many dates as fit
  const width = Math.round(Math.max(300, Math.min(1200, (host.clientWidth || 830) - 30)));
  const empty = !data.totals.new && !data.totals.segments && !data.totals.resolved;
  replace(host,
    h('div', { class: 'kpis', id: 'trend-kpis' }, T.kpis.map(([key, label, unit]) => kpi(key, t(label), unit, data.totals, data.previous, open))),
    empty ? h('div', { class: 'card empty-state', id: 'trend-empty' },
      h('p', { text: t('reports.noData') }), h('p', { class: 'muted', text: t('reports.noDataHint') })) : [
      h('section', { class: 'card' }, h('h2', { text: t('reports.volume') }), barChart(data.series, ['new', 'resolved'], 'count', open, label, width)),
      h('section', { class: 'card' }, h('h2', { text: t('reports.frtChart') }), barChart(data.series, ['frt_median_seconds'], 'seconds', open, label, width)),
      h('section', { class: 'card' }, h('h2', { text: t('reports.heatmap') }), heatmap(data.heatmap)),
      h('section', { class: 'card' }, h('h2', { text: t('reports.table') }), table(data.series, T.columns, open, label)),
    ]);
  return empty;
}

/** A figure worth drilling into: a number other than zero (no conversations stand behind
 * a zero or a "—"). */
function drillable(value) {
  return typeof value === 'number' && value !== 0;
}

/** A figure's name in words: the table column's heading, else the tile's label. */
function figureName(key) {
  const column = T.columns.find(([k]) => k === key);
  if (column) return t(column[1]);
  const tile = T.kpis.find(([k]) => k === key);
  return tile ? t(tile[1]) : key;
}

function figureButton(key, bucket, text, open) {
  const period = bucket || t('reports.drillWhole');
  const button = h('button', { type: 'button', class: 'link drill', text, dataset: { figure: key, bucket: bucket || '' },
    'aria-label': `${text}: ${t('reports.drillOpen', { figure: figureName(key), period })}` });
  button.addEventListener('click', () => open(key, bucket));
  return button;
}

const WHEN = { dateStyle: 'medium', timeStyle: 'short' };

/** The conversations behind one figure of one bucket (or of the whole period). */
async function drill(host, app, params, figure, bucket) {
  const period = bucket ? bucketLabel(bucket, params.interval, true) : t('reports.drillWhole');
  replace(host, h('p', { class: 'muted', text: t('reports.loading') }));
  try {
    const data = await api.get('/api/reports/trends/conversations', { ...params, figure, ...(bucket ? { bucket } : {}) });
    const value = (item) => {
      if (item.within !== undefined) return `${show(item.value, 'seconds')} (${t(item.within ? 'reports.drill.within' : 'reports.drill.missed')})`;
      return item.value === null || item.value === undefined ? '—' : show(item.value, data.unit || 'count');
    };
    replace(host, h('section', { class: 'card', id: 'trend-drill-card' },
      h('h2', { text: t('reports.drillTitle', { figure: figureName(figure), period, n: formatNumber(data.total) }) }),
      data.truncated ? h('p', { class: 'muted', text: t('reports.drillTruncated', { shown: formatNumber(data.items.length), n: formatNumber(data.total) }) }) : null,
      data.items.length ? h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': figureName(figure) },
        h('table', { class: 'data', id: 'trend-drill-table' },
          h('thead', {}, h('tr', {}, ['reports.drill.conversation', 'reports.drill.inbox', 'reports.drill.when', 'reports.drill.value'].map((k) => h('th', { scope: 'col', text: t(k) })))),
          h('tbody', {}, data.items.map((item) => h('tr', {},
            h('td', {}, h('a', { href: `#/inbox/${item.conversation_id}`, text: `#${item.conversation_id}` })),
            h('td', { text: app.store.inboxName(item.inbox_id) }),
            h('td', { text: formatDateTime(new Date(item.at), WHEN) }),
            h('td', { class: 'num', text: value(item) }))))))
        : h('p', { class: 'muted', text: t('reports.drill.none') })));
    host.scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (err) {
    replace(host, h('p', { class: 'error', text: errorText(err) }));
  }
}

function kpi(key, label, unit, now, before, open) {
  const value = now[key];
  const old = before[key];
  let delta = null;
  if (typeof value === 'number' && typeof old === 'number' && old !== 0) {
    const change = Math.round(((value - old) / Math.abs(old)) * 100);
    delta = h('div', { class: 'delta', text: t('reports.delta', { arrow: change > 0 ? '▲' : change < 0 ? '▼' : '=', change: formatNumber(Math.abs(change)), before: show(old, unit) }) });
  }
  const shown = drillable(value) ? figureButton(key, null, show(value, unit), open) : show(value, unit);
  return h('div', { class: 'kpi', id: `kpi-${key}` }, h('div', { class: 'value' }, shown), h('div', { class: 'label', text: label }), delta);
}

/** Grouped bars per bucket, a value axis with round steps and units, and a legend. */
function barChart(series, keys, unit, open, label = String, width = 800) {
  const height = 220; const left = 70; const bottom = 40; const plotW = width - left - 10; const plotH = height - bottom - 10;
  if (!series.some((b) => keys.some((k) => drillable(b[k])))) {
    return h('p', { class: 'muted chart-empty', text: t('reports.chartEmpty') });  // not an empty axis
  }
  const top = Math.max(1, ...series.flatMap((b) => keys.map((k) => b[k] || 0)));
  const ticks = niceTicks(top);
  const max = ticks[ticks.length - 1];
  const names = { new: t('reports.series.new'), resolved: t('reports.series.resolved'), frt_median_seconds: t('reports.series.frt') };
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height + 24}`, role: 'img',
    'aria-label': t('reports.chartLabel', { series: keys.map((k) => names[k]).join(', ') }) });
  for (const v of ticks) {
    const y = 10 + plotH - (v / max) * plotH;
    s.append(svg('line', { class: 'grid', x1: left, x2: width - 10, y1: y, y2: y }),
      svg('text', { class: 'tick', x: left - 6, y: y + 4, 'text-anchor': 'end' }, show(v, unit)));
  }
  const slot = plotW / Math.max(1, series.length);
  const stride = Math.max(1, Math.ceil(series.length / Math.max(2, Math.floor(plotW / 64))));
  const legendStep = Math.min(180, (width - left) / Math.max(1, keys.length));
  const barW = Math.max(2, (slot * 0.8) / keys.length);
  series.forEach((b, i) => {
    keys.forEach((k, j) => {
      const v = b[k] || 0;
      const hgt = (v / max) * plotH;
      const x = left + i * slot + slot * 0.1 + j * barW;
      const rect = svg('rect', { class: `bar series-${j}`, x, y: 10 + plotH - hgt, width: barW - 1, height: Math.max(0, hgt) });
      rect.append(svg('title', {}, `${label(b.start, true)}: ${names[k]} ${show(b[k], unit)}`));
      rect.dataset.figure = k;
      rect.dataset.bucket = b.start;
      rect.addEventListener('click', () => open(k, b.start));  // the table below is the keyboard path
      s.append(rect);
    });
    if (i % stride === 0) {  // as many date labels as fit without overlapping
      s.append(svg('text', { class: 'tick', x: left + i * slot + slot / 2, y: height - bottom + 24, 'text-anchor': 'middle' }, label(b.start)));
    }
  });
  keys.forEach((k, j) => {
    s.append(svg('rect', { class: `bar series-${j}`, x: left + j * legendStep, y: height + 6, width: 12, height: 12 }),
      svg('text', { class: 'series-name', x: left + j * legendStep + 18, y: height + 16 }, names[k]));
  });
  return s;
}

function niceTicks(top) {
  const raw = top / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw) || raw;
  const out = [];
  for (let v = 0; v <= top + step * 0.999; v += step) out.push(Math.round(v * 100) / 100);
  return out.length > 1 ? out : [0, step];
}

function heatmap(grid) {
  const max = Math.max(1, ...grid.flat());
  const head = h('tr', {}, h('th', { scope: 'col', text: '' }), Array.from({ length: 24 }, (_, hr) => h('th', { scope: 'col', text: String(hr) })));
  const rows = grid.map((row, d) => h('tr', {}, h('th', { scope: 'row', text: T.days[d] }),
    row.map((n) => h('td', { class: 'heat', title: String(n), dataset: { level: String(Math.ceil((n / max) * 4)) }, text: n ? String(n) : '' }))));
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': t('reports.heatmap') }, h('table', { class: 'heatmap', id: 'trend-heatmap' }, h('thead', {}, head), h('tbody', {}, rows)));
}

function table(rows, columns, open, label = String) {
  const head = h('tr', {}, columns.map(([, label]) => h('th', { scope: 'col', text: label && label.includes('.') ? t(label) : label })));
  const cell = (r, key) => {
    if (key === 'start') return h('td', { text: label(r.start, true) });
    if (key === 'label') return h('td', { text: String(r[key]) });
    const text = show(r[key], unitOf(key));
    return h('td', {}, open && r.start && drillable(r[key]) ? figureButton(key, r.start, text, open) : text);
  };
  const body = rows.map((r) => h('tr', {}, columns.map(([key]) => cell(r, key))));
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': t('reports.table') }, h('table', { class: 'data', tabindex: '0' }, h('thead', {}, head), h('tbody', {}, body)));
}

export function renderCsat(root, app) {
  const group = h('select', { id: 'csat-group' }, ['agent', 'team', 'inbox', 'channel', 'label'].map((g) => option(g, t(`reports.group.${g}`))));
  const { form, params, csv } = periodForm(app, h('label', {}, `${t('reports.groupBy')} `, group));
  const status = h('p', { id: 'csat-status', class: 'muted', 'aria-live': 'polite' });
  const body = h('div', { id: 'csat-body' });
  const settings = h('section', { class: 'card', id: 'csat-settings' });
  replace(root, h('div', { class: 'page' }, reportTabs('csat'), h('h1', { text: t('reports.satisfaction') }), form, status, body,
    app.isAdmin ? settings : null));

  async function load() {
    const p = { ...params(), group_by: group.value };
    csv.href = `/api/reports/csat${api.qs({ ...p, format: 'csv' })}`;
    csv.setAttribute('download', `csat-by-${group.value}.csv`);
    status.textContent = t('reports.loading');
    status.className = 'muted';
    try {
      const data = await api.get('/api/reports/csat', p);
      status.textContent = data.groups.length ? '' : t('csat.empty');
      const columns = [[T.csatColumns[0][0], t(`reports.group.${group.value}`)], ...T.csatColumns.slice(1)];
      const rows = data.groups.map((g) => ({ ...g, label: g.key === null ? t(`csat.unnamed.${group.value}`) : g.label }));
      replace(body, data.groups.length ? table(rows, columns) : null);
    } catch (err) {
      status.textContent = errorText(err);
      status.className = 'error';
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  group.addEventListener('change', load);
  load();
  if (app.isAdmin) loadSettings(settings, app);
}

async function loadSettings(host, app) {
  const inboxes = app.store.inboxes || [];
  replace(host, h('h2', { text: t('csat.settings') }), inboxes.map((inbox) => settingsRow(inbox)));
}

function settingsRow(inbox) {
  const enabled = h('input', { type: 'checkbox', id: `csat-on-${inbox.id}` });
  const language = h('select', { id: `csat-lang-${inbox.id}` }, T.languages.map(([v, l]) => option(v, l)));
  const question = h('input', { id: `csat-q-${inbox.id}`, maxlength: 500, size: 40 });
  const note = h('span', { class: 'muted', 'aria-live': 'polite' });
  const form = h('form', { class: 'row filters csat-inbox', dataset: { inbox: String(inbox.id) } },
    h('strong', { text: inbox.name }), h('label', {}, enabled, ` ${t('csat.enabled')}`), h('label', {}, `${t('csat.language')} `, language),
    h('label', {}, `${t('csat.question')} `, question), h('button', { type: 'submit', text: t('csat.save') }), note);
  api.get(`/api/admin/inboxes/${inbox.id}/csat`).then((s) => {
    enabled.checked = s.enabled; language.value = s.language; question.value = s.question || '';
  }).catch((err) => { note.textContent = errorText(err); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.put(`/api/admin/inboxes/${inbox.id}/csat`, { enabled: enabled.checked, language: language.value, question: question.value || null });
      note.textContent = t('csat.saved');
    } catch (err) { note.textContent = errorText(err, { question: t('csat.question') }); }
  });
  return form;
}
