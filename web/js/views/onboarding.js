// First-start guidance: on a workspace with no channel, no team or no business hours, admins
// see what to do next where the conversation would be. Each step ticks itself off from the
// workspace's real state; the checklist disappears once every step is done.
import { api } from '../api.js';
import { h } from '../dom.js';

async function workspaceState() {
  const [inboxes, agents] = await Promise.all([api.get('/api/admin/inboxes'), api.get('/api/agents')]);
  const people = agents.items.filter((a) => !a.is_bot);
  return { inboxes: inboxes.items, people };
}

function steps({ inboxes, people }) {
  const first = inboxes[0];
  return [
    { id: 'channel', done: inboxes.length > 0, text: 'Connect a channel', hint: 'An email mailbox, the website chat widget, Telegram, WhatsApp…',
      href: '#/admin/inboxes' },
    { id: 'agents', done: people.length > 1, text: 'Invite your agents', hint: 'Add the people who answer customers.',
      href: '#/admin/agents' },
    { id: 'hours', done: inboxes.some((i) => i.business_hours), text: 'Set business hours',
      hint: 'Response-time targets then count working time only.', href: first ? `#/admin/inboxes/${first.id}` : '#/admin/inboxes' },
  ];
}

/** The checklist element, or null when there is nothing left to do (or the user is no admin). */
export async function onboardingChecklist(app) {
  if (!app.isAdmin) return null;
  let list;
  try { list = steps(await workspaceState()); } catch { return null; }
  const left = list.filter((s) => !s.done).length;
  if (!left) return null;
  return h('section', { class: 'card onboarding', id: 'onboarding', 'aria-labelledby': 'onboarding-h' },
    h('h2', { id: 'onboarding-h', text: 'Get your team started' }),
    h('p', { class: 'muted small', text: `${list.length - left} of ${list.length} done` }),
    h('ol', { class: 'checklist' }, list.map((s) => h('li', { class: s.done ? 'done' : '', dataset: { step: s.id } },
      h('span', { class: 'tick', 'aria-hidden': 'true', text: s.done ? '✓' : '' }),
      h('div', {}, s.done ? h('span', { text: s.text }) : h('a', { href: s.href, text: s.text }),
        h('span', { class: 'sr-only', text: s.done ? ' (done)' : ' (to do)' }),
        h('p', { class: 'muted small', text: s.hint }))))));
}
