// Load for bench/node_cost.py: sockets spread over the nodes' URLs, messages POSTed
// round-robin to the nodes at a fixed rate. The harness measures counters between
// phases: this script prints {"phase": ...} lines and waits for a line on stdin before
// each next phase (open sockets -> [idle window] -> load -> [settle]), then prints the
// result.
const c = require("./clients");
const readline = require("readline");

const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", () => { const w = waiting.shift(); if (w) w(); });
const phase = (name) => new Promise((resolve) => {
  waiting.push(resolve);
  console.log(JSON.stringify({ phase: name }));
});

async function main() {
  const a = c.args();
  const n = Number(a.clients), m = Number(a.messages), rate = Number(a.rate);
  const urls = a.urls.split(","), https = a.https.split(",");
  const lat = [];
  let received = 0, lastAt = 0;
  const onMessage = (text) => {
    lat.push(Date.now() - JSON.parse(text).t);
    received += 1;
    lastAt = Date.now();
  };
  const closes = {};
  // A socket the server closes before `ready` (a database timeout on a loaded machine)
  // is opened again, up to three times, instead of being waited for forever.
  const open = async (i) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await Promise.race([
          c.sbClient(urls[i % urls.length], a.token, null, onMessage),
          c.sleep(30000).then(() => { throw new Error("no ready within 30 s"); }),
        ]);
      } catch (e) {
        if (attempt >= 3) throw e;
        await c.sleep(500);
      }
    }
  };
  const sockets = await c.openMany(n, open);
  for (const ws of sockets) ws.on("close", (code) => { closes[code] = (closes[code] || 0) + 1; });
  await phase("open");  // the harness measures an idle window, then says go
  const start = await c.paced(m, rate, (i) => c.sbPost(https[i % https.length], a.key,
    a.inbound, JSON.stringify({ t: Date.now(), i }), `bench-${i % 20}`));
  const deadline = Date.now() + 60000;
  while (received < n * m && Date.now() < deadline) await c.sleep(20);
  await phase("load_done");
  lat.sort((x, y) => x - y);
  console.log(JSON.stringify({
    nodes: urls.length, clients: n, messages: m, rate, deliveries: received,
    missing: n * m - received, deliveries_per_s: Math.round(received / ((lastAt - start) / 1000)),
    p50_ms: c.percentile(lat, 50), p99_ms: c.percentile(lat, 99), max_ms: lat[lat.length - 1],
    closed_by_server: closes,
  }));
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
