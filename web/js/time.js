// Pure time formatting: durations, relative ages and countdowns.
export function parseTime(iso) {
  return iso ? Date.parse(iso) : null;
}

/** "45s", "12m", "3h 05m", "2d 4h" — compact, stable width-ish. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const hrs = Math.floor(m / 60);
  if (hrs < 24) return `${hrs}h ${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(hrs / 24);
  return `${d}d ${hrs % 24}h`;
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
    if (nrtLeft <= 0) return { text: `Next reply overdue ${formatDuration(-nrtLeft)}`, level: 'breach' };
    return { text: `Next reply ${formatDuration(nrtLeft)} left`, level: nrtLeft < 600 ? 'warn' : 'ok' };
  }
  if (conv.first_response_at && conv.frt_seconds !== null && conv.frt_seconds !== undefined) {
    return { text: `FRT ${formatDuration(conv.frt_seconds)}`, level: 'met' };
  }
  if (conv.sla_breached_at) return { text: `SLA breached ${formatDuration((now - parseTime(conv.sla_breached_at)) / 1000)} ago`, level: 'breach' };
  const left = secondsUntil(conv.sla_due_at, now);
  if (left === null || !conv.waiting_since) return null;
  if (left <= 0) return { text: `SLA overdue ${formatDuration(-left)}`, level: 'breach' };
  return { text: `SLA ${formatDuration(left)} left`, level: left < 600 ? 'warn' : 'ok' };
}

export function clockTime(iso) {
  const t = parseTime(iso);
  if (t === null) return '';
  const d = new Date(t);
  const sameDay = new Date().toDateString() === d.toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
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
  return [['1 hour', inHours(1)], ['4 hours', inHours(4)], ['Tomorrow 9:00', tomorrow9], ['Next Monday 9:00', monday9]];
}
