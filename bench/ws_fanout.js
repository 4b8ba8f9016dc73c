// Fan-out load: N receiving sockets, M messages sent at R msg/s; every receiver should get
// every message. Prints one JSON line: deliveries/s and latency percentiles (ms).
// Switchboard messages are POSTed to the API channel (committed before the 201) and arrive
// as message.created events; relay/socket.io messages are sent over a socket.
const c = require("./clients");

async function main() {
  const a = c.args();
  const n = Number(a.clients), m = Number(a.messages), rate = Number(a.rate);
  const lat = [];
  let received = 0, lastAt = 0;
  const onMessage = (text) => {
    const sent = JSON.parse(text).t;
    lat.push(Date.now() - sent);
    received += 1;
    lastAt = Date.now();
  };
  let send;
  if (a.target === "switchboard") {
    await c.openMany(n, () => c.sbClient(a.url, a.token, null, onMessage));
    send = (i) => c.sbPost(a.http, a.key, a.inbound, JSON.stringify({ t: Date.now(), i }),
      `bench-${i % 20}`);
  } else if (a.target === "relay") {
    await c.openMany(n, () => c.relayClient(a.url, onMessage));
    const sender = await c.relayClient(a.url, () => {});
    send = async (i) => sender.send(JSON.stringify({ t: Date.now(), i }));
  } else {
    await c.openMany(n, () => c.sioClient(a.url, onMessage));
    const sender = await c.sioClient(a.url, () => {});
    send = async (i) => c.sioSend(sender, JSON.stringify({ t: Date.now(), i }));
  }
  await c.sleep(500);
  const start = await c.paced(m, rate, send);
  const deadline = Date.now() + 30000;
  while (received < n * m && Date.now() < deadline) await c.sleep(20);
  lat.sort((x, y) => x - y);
  const seconds = (lastAt - start) / 1000;
  console.log(JSON.stringify({
    target: a.target, clients: n, messages: m, rate, deliveries: received,
    missing: n * m - received, deliveries_per_s: Math.round(received / seconds),
    p50_ms: c.percentile(lat, 50), p99_ms: c.percentile(lat, 99), max_ms: lat[lat.length - 1],
  }));
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
