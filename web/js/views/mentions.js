// @-mention completion for private notes (docs/automation.md, Mentions): only agents and
// teams who can see the conversation's inbox are offered, and the inserted handle is the one
// the server matches (server/actions/notifications.py handle_of: lower-case, spaces as dashes).

/** The handle a name is mentioned by ("Ana Lima" → "ana-lima"). */
export function handleOf(name) {
  return String(name || '').toLowerCase().split(/\s+/).filter(Boolean).join('-');
}

/** The `@query` being typed just before the caret, or null (an e-mail's "a@b" is not one). */
export function mentionAt(text, caret) {
  const m = /(^|[^\p{L}\p{N}_@])@([\p{L}\p{N}_.-]{0,100})$/u.exec(text.slice(0, caret));
  return m ? { start: caret - m[2].length - 1, query: m[2].toLowerCase() } : null;
}

/** Agents (members of the inbox, and admins) and teams with such a member, matching query. */
export function mentionCandidates(store, inboxId, query) {
  const me = store.me ? store.me.id : null;
  const sees = (a) => a.role === 'admin' || (a.inbox_ids || []).includes(inboxId);
  const visible = (store.agents || []).filter((a) => !a.is_bot && sees(a));
  const ids = new Set(visible.map((a) => a.id));
  const matches = (name) => handleOf(name).startsWith(query) || handleOf(name).includes(`-${query}`);
  const agents = visible.filter((a) => a.id !== me && matches(a.name))
    .map((a) => ({ kind: 'agent', id: a.id, name: a.name, handle: handleOf(a.name) }));
  const teams = (store.teams || []).filter((x) => (x.member_ids || []).some((id) => ids.has(id)) && matches(x.name))
    .map((x) => ({ kind: 'team', id: x.id, name: x.name, handle: handleOf(x.name) }));
  return [...agents, ...teams].slice(0, 8);
}
