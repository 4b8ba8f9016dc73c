// First-start guidance: on a workspace with no channel, no team or no business hours, admins
// see what to do next where the conversation would be. Each step ticks itself off from the
// workspace's real state; the checklist disappears once every step is done.
import { api } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';

async function workspaceState() {
  const [inboxes, agents] = await Promise.all([api.get('/api/admin/inboxes'), api.get('/api/agents')]);
  const people = agents.items.filter((a) => !a.is_bot);
  return { inboxes: inboxes.items, people };
}

function steps({ inboxes, people }) {
  const first = inboxes[0];
  return [
    { id: 'channel', done: inboxes.length > 0, text: t('onboarding.channel'), hint: t('onboarding.channelHint'),
      href: '#/admin/inboxes' },
    { id: 'agents', done: people.length > 1, text: t('onboarding.agents'), hint: t('onboarding.agentsHint'),
      href: '#/admin/agents' },
    { id: 'hours', done: inboxes.some((i) => i.business_hours), text: t('onboarding.hours'),
      hint: t('onboarding.hoursHint'), href: first ? `#/admin/inboxes/${first.id}` : '#/admin/inboxes' },
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
    h('h2', { id: 'onboarding-h', text: t('onboarding.title') }),
    h('p', { class: 'muted small', text: t('onboarding.progress', { done: list.length - left, total: list.length }) }),
    h('ol', { class: 'checklist' }, list.map((s) => h('li', { class: s.done ? 'done' : '', dataset: { step: s.id } },
      h('span', { class: 'tick', 'aria-hidden': 'true', text: s.done ? '✓' : '' }),
      h('div', {}, s.done ? h('span', { text: s.text }) : h('a', { href: s.href, text: s.text }),
        h('span', { class: 'sr-only', text: ` (${t(s.done ? 'onboarding.done' : 'onboarding.todo')})` }),
        h('p', { class: 'muted small', text: s.hint }))))));
}
