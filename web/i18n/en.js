// en: texts of the agent app (docs/languages.md). One JSON object: keep it valid JSON.
export default {
 "search.anyInbox": "All my inboxes",
 "search.anyKind": "Messages and notes",
 "search.anyStatus": "Any status",
 "search.count": {
  "one": "{count} result",
  "other": "{count} results"
 },
 "search.countMore": {
  "one": "More than {count} result",
  "other": "More than {count} results"
 },
 "search.from": "From",
 "search.hint": "Type a word or two from a message. Case and accents do not matter, and the last word may be unfinished.",
 "search.inbox": "Inbox",
 "search.incoming": "From the customer",
 "search.kind": "Type",
 "search.label": "Search messages and notes",
 "search.loading": "Searching…",
 "search.messagesOnly": "Messages only",
 "search.more": "Show more results",
 "search.none": "No message or note matches these words with these filters.",
 "search.note": "Note",
 "search.notesOnly": "Notes only",
 "search.outgoing": "Reply",
 "search.placeholder": "Words from a message, e.g. refund order",
 "search.status": "Status",
 "search.submit": "Search",
 "search.title": "Search",
 "search.to": "To",
 "status.open": "Open",
 "status.pending": "Pending",
 "status.resolved": "Resolved",
 "status.snoozed": "Snoozed"
};
