// Widget → agent end-to-end latency (bench/widget_latency.py runs this).
//
// Opens --agents receiving sockets, then sends --messages messages at --rate msg/s and
// records, per receiving socket, when each message first arrives. Prints one JSON line.
//
// --target switchboard: agent sockets on /ws (Bearer --token, hello'd); every message is a
//   visitor's POST /api/widget/{--key}/messages with its visitor token, from the visitor's
//   own 127.0.x.y source address (--visitors FILE: "address token" per line, used
//   round-robin); it arrives as a message.created event.
// --target relay: sockets on the bare relay; the messages are sent over one more socket.
//
// --rooms K (default 1) splits the receivers: socket s is in room s % K and message i goes
// to room (i % V) % K (V visitors; V is a multiple of K): on Switchboard a room is a webchat
// inbox whose one member agent owns that room's sockets (--tokens: K agent tokens, comma-
// separated; a visitor line names its inbox key); on the relay a room is the path /room/k,
// and room k's messages are sent on a socket at /send/k. With K = 1 every socket must get
// every message.
//
// Every message's text is "wl-<i>-" plus padding; a receiver finds the markers in the raw
// frame (no JSON parsing, so the generator stays cheap) and counts the first sighting of
// each message per socket (a message's text may appear in more than one event).
const fs = require("fs");
const http = require("http");
const WebSocket = require("ws");
const c = require("./clients");

const MARK = /wl-(\d+)-/g;

function receiver(url, headers, hello, state, index) {
  state.room[index] = index % state.rooms;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers });
    let ready = !hello;
    ws.on("open", () => {
      if (hello) ws.send(JSON.stringify(hello));
      else resolve(ws);
    });
    ws.on("error", reject);
    ws.on("close", (code) => {
      state.closed += 1;
      if (!ready) reject(new Error(`closed ${code} before ready`));
    });
    ws.on("message", (data) => {
      const text = data.toString();
      if (!ready) {
        if (text.includes('"ready"')) {
          ready = true;
          resolve(ws);
        }
        return;
      }
      const now = performance.now();
      MARK.lastIndex = 0;
      let m;
      while ((m = MARK.exec(text)) !== null) {
        const i = Number(m[1]);
        const slot = index * state.messages + i;
        if (i < state.messages && !state.seen[slot] && state.msgRoom[i] === state.room[index]) {
          state.seen[slot] = 1;
          state.received += 1;
          state.lat.push(now - state.sentAt[i]);
          state.lastAt = now;
        }
      }
    });
  });
}

function visitorSender(a) {
  const visitors = fs.readFileSync(a.visitors, "utf8").split("\n").filter(Boolean)
    .map((line) => line.split(" "));
  const agents = new Map(); // one keep-alive agent per source address
  const u = new URL(a.http);
  const pad = "x".repeat(Number(a.pad || 0));
  // A keep-alive socket the server closed while idle (uvicorn: after 5 s) fails on reuse
  // with ECONNRESET; a client resends with the same client_id (the API makes that
  // idempotent), and so do we, once; the latency keeps the first attempt's start.
  const post = (i, state, retry) => new Promise((resolve) => {
    const [address, token, key] = visitors[i % visitors.length];
    if (!agents.has(address)) {
      agents.set(address, new http.Agent({ keepAlive: true, localAddress: address }));
    }
    const body = JSON.stringify({ client_id: `wl-client-${i}`, text: `wl-${i}- ${pad}` });
    if (!retry) state.sentAt[i] = performance.now();
    const req = http.request({
      host: u.hostname, port: u.port, method: "POST", agent: agents.get(address),
      path: `/api/widget/${key}/messages`,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`,
        "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let text = "";
      res.on("data", (d) => { text += d; });
      res.on("end", () => {
        if (res.statusCode !== 201 && res.statusCode !== 200) {
          state.errors += 1;
          if (state.errors <= 3) console.error(`widget POST ${res.statusCode}: ${text}`);
        }
        resolve();
      });
    });
    req.on("error", (e) => {
      if (!retry && e.code === "ECONNRESET") {
        state.retries += 1;
        post(i, state, true).then(resolve);
        return;
      }
      state.errors += 1;
      if (state.errors <= 3) console.error(`widget POST: ${e}`);
      resolve();
    });
    req.end(body);
  });
  return (i, state) => post(i, state, false);
}

async function main() {
  const a = c.args();
  const n = Number(a.agents), m = Number(a.messages), rate = Number(a.rate);
  const rooms = Number(a.rooms || 1), visitors = Number(a.vcount || rooms);
  const state = {
    messages: m, seen: new Uint8Array(n * m), sentAt: new Float64Array(m), lat: [],
    received: 0, lastAt: 0, closed: 0, errors: 0, retries: 0, rooms,
    room: new Int32Array(n), msgRoom: Int32Array.from({ length: m }, (_, i) => (i % visitors) % rooms),
  };
  let expected = 0;
  for (let i = 0; i < m; i++) {
    for (let s = 0; s < n; s++) if (s % rooms === state.msgRoom[i]) expected += 1;
  }
  let send;
  if (a.target === "switchboard") {
    const tokens = a.tokens.split(",");
    await c.openMany(n, (k) => receiver(`${a.url}/ws`,
      { authorization: `Bearer ${tokens[k % rooms]}` },
      { type: "hello", last_event_id: null }, state, k), 100);
    const post = visitorSender(a);
    send = (i) => post(i, state);
  } else {
    const at = (kind, k) => (rooms === 1 ? a.url : `${a.url}/${kind}/${k}`);
    await c.openMany(n, (k) => receiver(at("room", k % rooms), {}, null, state, k), 100);
    const senders = [];
    for (let k = 0; k < rooms; k++) senders.push(await c.relayClient(at("send", k), () => {}));
    const pad = "x".repeat(Number(a.pad || 0));
    send = async (i) => {
      state.sentAt[i] = performance.now();
      senders[state.msgRoom[i]].send(JSON.stringify({ text: `wl-${i}- ${pad}` }));
    };
  }
  await c.sleep(1000);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await c.paced(m, rate, send);
  const sendSeconds = (performance.now() - start) / 1000;
  const deadline = performance.now() + 30000;
  while (state.received < expected && performance.now() < deadline) await c.sleep(20);
  const cpu = process.cpuUsage(cpu0);
  const lat = Float64Array.from(state.lat).sort();
  const round = (x) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);
  console.log(JSON.stringify({
    target: a.target, agents: n, messages: m, rate, rooms, sockets_per_message: expected / m,
    offered_msg_per_s: Math.round((m / sendSeconds) * 10) / 10,
    deliveries: state.received, missing: expected - state.received,
    deliveries_per_s: Math.round(state.received / ((state.lastAt - start) / 1000)),
    send_errors: state.errors, send_retries: state.retries, sockets_closed: state.closed,
    p50_ms: round(c.percentile(lat, 50)), p90_ms: round(c.percentile(lat, 90)),
    p99_ms: round(c.percentile(lat, 99)), max_ms: round(lat[lat.length - 1]),
    generator_cpu_s: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
    wall_s: Math.round(((performance.now() - start) / 1000) * 100) / 100,
  }));
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
