// Reconnect storm: N agent sockets drop for `down` seconds while M messages are sent, then
// all resume with their last event id. Counts missed and duplicate events per client
// (must be 0) and the catch-up time from reconnect to the last missed message.
const c = require("./clients");

async function main() {
  const a = c.args();
  const n = Number(a.clients), m = Number(a.messages), down = Number(a.down);
  const clients = Array.from({ length: n }, () => ({ lastId: null, ids: new Set(), dups: 0,
    got: new Set(), doneAt: null, startAt: null, readyAt: null }));
  const track = (st) => (text, frame) => {
    if (st.ids.has(frame.id)) st.dups += 1;
    st.ids.add(frame.id);
    st.got.add(JSON.parse(text).i);
    if (st.got.size === m && st.startAt && !st.doneAt) st.doneAt = Date.now();
  };
  // The resume point: the last event id seen, or the head from the first ready frame.
  const onFrame = (st) => (frame) => {
    if (frame.type === "event") st.lastId = frame.id;
    if (frame.type === "ready" && st.lastId === null) st.lastId = frame.last_event_id;
    if (frame.type === "ready" && st.startAt) st.readyAt = Date.now();
  };
  const open = (i) => c.sbClient(a.url, a.token, clients[i].lastId, track(clients[i]),
    onFrame(clients[i]));
  let sockets = await c.openMany(n, open);
  await Promise.all(sockets.map((ws) => new Promise((r) => { ws.on("close", r); ws.close(); })));
  const sendStart = Date.now();
  for (let i = 0; i < m; i++) {
    const due = sendStart + (i * down * 1000) / m;
    if (due > Date.now()) await c.sleep(due - Date.now());
    await c.sbPost(a.http, a.key, a.inbound, JSON.stringify({ t: Date.now(), i }), `storm-${i % 10}`);
  }
  const resumeAt = Date.now();
  for (const st of clients) st.startAt = resumeAt;
  // The storm: every client reconnects at once (as browsers do when a node comes back),
  // not in gated waves.
  sockets = await c.openMany(n, open, n);
  const deadline = Date.now() + 60000;
  while (clients.some((st) => !st.doneAt) && Date.now() < deadline) await c.sleep(20);
  const catchup = clients.filter((st) => st.doneAt).map((st) => st.doneAt - resumeAt)
    .sort((x, y) => x - y);
  const ready = clients.filter((st) => st.readyAt).map((st) => st.readyAt - resumeAt)
    .sort((x, y) => x - y);
  console.log(JSON.stringify({
    clients: n, messages: m, down_s: down,
    missed: clients.reduce((s, st) => s + (m - st.got.size), 0),
    duplicates: clients.reduce((s, st) => s + st.dups, 0),
    catchup_p50_ms: c.percentile(catchup, 50), catchup_p99_ms: c.percentile(catchup, 99),
    catchup_max_ms: catchup[catchup.length - 1],
    // reconnect -> "ready" (handshake, token, access view): the rest of catch-up is replay
    ready_p50_ms: c.percentile(ready, 50), ready_p99_ms: c.percentile(ready, 99),
    // epoch ms of the reconnect and of the last catch-up: the harness reads the server's
    // CPU seconds between them
    resume_at_ms: resumeAt,
    done_at_ms: Math.max(resumeAt, ...clients.map((st) => st.doneAt || 0)),
  }));
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
