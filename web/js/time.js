// Pure time formatting: durations, relative ages and countdowns, in the chosen language
// (web/js/i18n.js; units such as "3h 05m" come from the catalogue: "3 godz. 05 min").
import { t, formatDateTime } from './i18n.js';
export function parseTime(iso) {
  return iso ? Date.parse(iso) : null;
}

/** "45s", "12m", "3h 05m", "2d 4h" — compact, stable width-ish. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return t('time.s', { s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('time.m', { m });
  const hrs = Math.floor(m / 60);
  if (hrs < 24) return t('time.hm', { h: hrs, m: String(m % 60).padStart(2, '0') });
  const d = Math.floor(hrs / 24);
  return t('time.dh', { d, h: hrs % 24 });
}

/** Seconds until (positive) or since (negative) a due time. */
export function secondsUntil(iso, now = Date.now()) {
  const t = parseTime(iso);
  return t === null ? null : (t - now) / 1000;
}

export function waitingFor(iso, now = Date.now()) {
  const t = parseTime(iso);
  return t === null ? null : formatDuration((now - t) / 1000);
}

/** The SLA badge for a conversation: {text, level: ok|warn|breach|met} or null. */
export function slaBadge(conv, now = Date.now()) {
  const nrtLeft = conv.waiting_since ? secondsUntil(conv.nrt_due_at, now) : null;
  if (nrtLeft !== null) { // a follow-up waits for the next reply (docs/frt.md, NRT)
    if (nrtLeft <= 0) return { text: t('sla.nextOverdue', { time: formatDuration(-nrtLeft) }), level: 'breach' };
    return { text: t('sla.nextLeft', { time: formatDuration(nrtLeft) }), level: nrtLeft < 600 ? 'warn' : 'ok' };
  }
  if (conv.first_response_at && conv.frt_seconds !== null && conv.frt_seconds !== undefined) {
    return { text: t('sla.frt', { time: formatDuration(conv.frt_seconds) }), level: 'met' };
  }
  if (conv.sla_breached_at) return { text: t('sla.breached', { time: formatDuration((now - parseTime(conv.sla_breached_at)) / 1000) }), level: 'breach' };
  const left = secondsUntil(conv.sla_due_at, now);
  if (left === null || !conv.waiting_since) return null;
  if (left <= 0) return { text: t('sla.overdue', { time: formatDuration(-left) }), level: 'breach' };
  return { text: t('sla.left', { time: formatDuration(left) }), level: left < 600 ? 'warn' : 'ok' };
}

export function clockTime(iso) {
  const t = parseTime(iso);
  if (t === null) return '';
  const d = new Date(t);
  const sameDay = new Date().toDateString() === d.toDateString();
  return sameDay ? formatDateTime(d, { hour: '2-digit', minute: '2-digit' })
    : formatDateTime(d, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** A value for <input type="datetime-local"> from a Date, local time. */
export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Snooze presets relative to now: [label, Date]. */
export function snoozePresets(now = new Date()) {
  const inHours = (n) => new Date(now.getTime() + n * 3600e3);
  const tomorrow9 = new Date(now); tomorrow9.setDate(now.getDate() + 1); tomorrow9.setHours(9, 0, 0, 0);
  const monday9 = new Date(now); monday9.setDate(now.getDate() + ((8 - now.getDay()) % 7 || 7)); monday9.setHours(9, 0, 0, 0);
  const at9 = formatDateTime(tomorrow9, { hour: 'numeric', minute: '2-digit' });
  return [[t('snooze.hour'), inHours(1)], [t('snooze.hours4'), inHours(4)],
    [t('snooze.tomorrow', { time: at9 }), tomorrow9], [t('snooze.monday', { time: at9 }), monday9]];
}
