// Rendering of one message: text, sanitized email HTML, attachments, delivery state, notes, activity.
import { h } from '../dom.js';
import { clockTime } from '../time.js';
import { t, formatNumber } from '../i18n.js';

const STATUS_TEXT = {
  queued: 'msg.sending', sending: 'msg.sending', sent: 'msg.sent', delivered: 'msg.delivered', read: 'msg.read',
  failed: 'msg.failed', received: '',
};

export function renderMessage(msg, ctx) {
  if (msg.kind === 'activity') {
    return h('li', { class: 'activity', dataset: { id: String(msg.id) } },
      h('span', { text: activityText(msg, ctx) }), ' ', h('time', { datetime: msg.created_at, text: clockTime(msg.created_at) }));
  }
  const note = msg.kind === 'note';
  const outgoing = msg.direction === 'out';
  const who = msg.sender_type === 'contact' ? ctx.contactName
    : msg.sender_type === 'agent' ? ctx.store.agentName(msg.sender_id) : t(msg.is_auto ? 'msg.automatic' : 'msg.system');
  const cls = ['msg', note ? 'note' : outgoing ? 'out' : 'in', msg.status === 'failed' ? 'failed' : ''].join(' ');
  const head = h('div', { class: 'msg-head' },
    note ? h('span', { class: 'note-tag', text: t('msg.note') }) : null,
    h('span', { class: 'msg-who', text: who || '' }),
    h('time', { datetime: msg.created_at, text: clockTime(msg.sent_at || msg.created_at) }));
  const body = msg.html ? emailBody(msg) : textBody(msg);
  return h('li', { class: cls, dataset: { id: String(msg.id) }, 'aria-label': note ? t('msg.note') : null },
    head, mailNotices(msg), body, attachments(msg), delivery(msg, ctx), emailContinuity(msg));
}

/** Plain text; an email's quoted history (split by adapters/email/quoting.py) collapsed. */
function textBody(msg) {
  const email = msg.content_attributes?.email;
  if (!email?.quoted_text || !email.visible_text) return h('div', { class: 'msg-text', text: msg.text || '' });
  const shown = [email.visible_text, email.signature].filter(Boolean).join('\n\n');
  return h('div', { class: 'msg-text' }, shown,
    h('details', { class: 'quoted' }, h('summary', { text: t('msg.showQuoted') }), h('div', { text: email.quoted_text })));
}

/** The raw source of a malformed email: stored as one of its attachments (index given by
 *  the email adapter, adapters/email/README.md), shown as a link instead of a file. */
function rawSource(msg) {
  const index = msg.content_attributes?.email?.raw_source;
  return Number.isInteger(index) ? (msg.attachments || [])[index] : null;
}

/** Small notices about how an email arrived: malformed MIME, a reused Message-ID. */
function mailNotices(msg) {
  const attrs = msg.content_attributes || {};
  const items = [];
  if (attrs.email?.malformed) {
    const source = rawSource(msg);
    items.push(h('p', { class: 'mail-notice muted small' },
      h('span', { text: `${t('msg.malformed')} ` }),
      source?.url ? h('a', { href: source.url, download: source.filename || 'original-source.eml', text: t('msg.downloadOriginal') }) : null));
  }
  if (attrs.repeated_external_id) {
    items.push(h('p', { class: 'mail-notice muted small', text: t('msg.repeatedId') }));
  }
  return items.length ? h('div', { class: 'mail-notices' }, items) : null;
}

function attachments(msg) {
  const source = rawSource(msg);
  const list = (msg.attachments || []).filter((a) => a !== source);
  if (!list.length) return null;
  return h('ul', { class: 'attachments', 'aria-label': t('msg.attachments') }, list.map((a) => {
    const size = a.size ? ` (${formatBytes(a.size)})` : '';
    if (a.omitted || !a.url) {
      return h('li', { class: 'omitted', text: t('msg.notStored', { file: `${a.filename || t('msg.attachment')}${size}`, reason: a.omitted || t('msg.unavailable') }) });
    }
    const image = (a.content_type || '').startsWith('image/');
    return h('li', {},
      image ? h('a', { href: a.url, target: '_blank', rel: 'noopener' },
        h('img', { src: a.url, alt: a.filename || t('msg.image'), class: 'thumb', loading: 'lazy', width: 160, height: 120 })) : null,
      h('a', { href: a.url, download: a.filename || '', text: `${a.filename || t('msg.attachment')}${size}` }));
  }));
}

function delivery(msg, ctx) {
  if (msg.direction !== 'out' || msg.kind === 'note') return null;
  const text = STATUS_TEXT[msg.status] === undefined ? msg.status : (STATUS_TEXT[msg.status] && t(STATUS_TEXT[msg.status]));
  const el = h('div', { class: `delivery status-${msg.status}` }, h('span', { text }));
  if (msg.status === 'failed') {
    if (msg.error) el.appendChild(h('span', { class: 'fail-reason', text: ` — ${msg.error}` }));
    el.appendChild(h('button', { type: 'button', class: 'small', text: t('msg.retry'), onclick: () => ctx.retry(msg) }));
  }
  return el;
}

/** A chat reply also emailed to the visitor who left (server/widget/continuity_outbox.py):
 *  its own small status line, apart from the chat delivery above it. */
function emailContinuity(msg) {
  const mail = msg.content_attributes?.email_continuity;
  if (!mail?.status) return null;
  const to = mail.to || '';
  const text = mail.status === 'sent' ? t('msg.emailContinuitySent', { to, time: clockTime(mail.sent_at) })
    : mail.status === 'failed' ? t('msg.emailContinuityFailed', { to, reason: mail.error || t('msg.unavailable') })
      : mail.error ? t('msg.emailContinuityRetrying', { to, reason: mail.error })
        : t('msg.emailContinuityPending', { to });
  return h('div', { class: `email-continuity muted small status-${mail.status}` }, text);
}

function formatBytes(n) {
  if (n < 1024) return `${formatNumber(n)} B`;
  if (n < 1024 * 1024) return `${formatNumber(Math.round(n / 1024))} KB`;
  return `${formatNumber(n / 1024 / 1024, { maximumFractionDigits: 1, minimumFractionDigits: 1 })} MB`;
}

/** The server already sanitized the HTML; we still isolate it: a sandboxed iframe without
 *  scripts, a CSP that blocks remote loads, and remote images parked in data-remote-src. */
function emailBody(msg) {
  const frame = h('iframe', { class: 'email-frame', sandbox: 'allow-same-origin allow-popups allow-popups-to-escape-sandbox',
    title: t('msg.emailContent'), referrerpolicy: 'no-referrer' });
  const hasRemote = /data-remote-src/.test(msg.html);
  const write = (remote) => {
    frame.srcdoc = emailDocument(msg, remote);
  };
  const fit = () => {
    const doc = frame.contentDocument;
    if (doc && doc.documentElement) frame.style.height = `${Math.min(2000, doc.documentElement.scrollHeight + 4)}px`;
  };
  frame.addEventListener('load', () => {
    fit();
    frame.contentDocument?.addEventListener('toggle', fit, true); // a forwarded mail opened or closed
  });
  write(false);
  const wrap = h('div', { class: 'email' }, frame);
  if (hasRemote) {
    const btn = h('button', { type: 'button', class: 'small', text: t('msg.showRemote'),
      onclick: () => { write(true); btn.remove(); } });
    wrap.prepend(h('div', { class: 'remote-note' }, h('span', { class: 'muted small', text: `${t('msg.remoteHidden')} ` }), btn));
  }
  return wrap;
}

function emailDocument(msg, remote) {
  const parsed = new DOMParser().parseFromString(msg.html, 'text/html'); // inert: nothing loads
  const byCid = new Map((msg.attachments || []).filter((a) => a.content_id && a.url)
    .map((a) => [String(a.content_id).replace(/^<|>$/g, ''), a.url]));
  for (const img of parsed.querySelectorAll('img')) {
    const src = img.getAttribute('src') || '';
    if (src.startsWith('cid:') && byCid.has(src.slice(4))) img.setAttribute('src', byCid.get(src.slice(4)));
    if (remote && img.hasAttribute('data-remote-src')) {
      img.setAttribute('src', img.getAttribute('data-remote-src'));
      img.removeAttribute('data-remote-src');
    }
  }
  collapseQuotes(parsed);
  const imgSrc = remote ? `${location.origin} data: https: http:` : `${location.origin} data:`;
  const head = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${imgSrc}; style-src 'unsafe-inline'; font-src data:">`
    + '<base target="_blank"><style>body{font:14px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;overflow-wrap:anywhere}img{max-width:100%;height:auto}'
    + 'details.sb-quote>summary{cursor:pointer;color:#57606a;margin:8px 0}'
    + 'details.sb-forward{border-left:3px solid #d0d7de;padding-left:10px;margin:8px 0}details.sb-forward>summary{cursor:pointer;color:#57606a}</style>';
  return `<!doctype html><html><head>${head}</head><body>${parsed.body.innerHTML}</body></html>`;
}

const QUOTES = 'div.gmail_quote, blockquote.gmail_quote, blockquote[type="cite"]';

/** Quoted history in HTML mail (Gmail, Apple Mail, Thunderbird markers, kept by
 *  server/sanitize.py) goes behind "Show quoted text", outermost quotes only. */
function collapseQuotes(doc) {
  const outermost = [...doc.body.querySelectorAll(QUOTES)].filter((q) => !q.parentElement.closest(QUOTES));
  for (const quote of outermost) {
    const before = quote.previousElementSibling;
    const prefix = before && before.classList.contains('moz-cite-prefix') ? before : null;
    const box = doc.createElement('details');
    box.className = 'sb-quote';
    const summary = doc.createElement('summary');
    summary.textContent = t('msg.showQuoted');
    (prefix || quote).before(box);
    box.append(summary, ...(prefix ? [prefix] : []), quote);
  }
}

/** An activity line in the reader's language, from what the server recorded
 * (content_attributes); lines written by rules keep the rule's own words. */
export function activityText(msg, ctx) {
  const a = msg.content_attributes || {};
  if (a.rule || !ctx || !ctx.store) return msg.text || '';
  const who = a.actor_id ? ctx.store.agentName(a.actor_id) : null;
  const suffix = a.imported ? ` ${t('activity.imported')}` : '';
  if (a.status) {
    if (!who && a.status === 'open' && !a.imported) return t('activity.snoozeEnded');
    return (who ? t(`activity.${a.status}By`, { who }) : t(`activity.${a.status}`)) + suffix;
  }
  if (a.assignment) {
    const parts = [];
    if ('assignee_id' in a.assignment) {
      const id = a.assignment.assignee_id;
      const name = id === null || id === undefined ? null : ctx.store.agentName(id);
      if (!name) parts.push(who ? t('activity.unassignedBy', { who }) : t('activity.unassigned'));
      else if (a.auto) parts.push(t('activity.assignedAuto', { name }));
      else parts.push(who ? t('activity.assignedBy', { name, who }) : t('activity.assigned', { name }));
    }
    if ('team_id' in a.assignment) {
      const id = a.assignment.team_id;
      const team = id === null || id === undefined ? null : ctx.store.teamName(id);
      parts.push(team ? t('activity.team', { team }) : t('activity.noTeam'));
    }
    if (parts.length) return parts.join('; ') + suffix;
  }
  return msg.text || '';
}
