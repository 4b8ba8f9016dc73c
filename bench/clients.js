// Load-generator clients for the three servers under test (Switchboard, bare relay,
// socket.io), on the `ws` package: the lightest client here, so the load generator is
// not the bottleneck. Each client calls onMessage(text) for every application message.
const WebSocket = require("ws");

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  return out;
}

// Switchboard agent socket: hello, then message.created events carry the text we sent.
function sbClient(url, token, lastId, onMessage, onFrame) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/ws`, {
      perMessageDeflate: false, headers: { authorization: `Bearer ${token}` },
    });
    ws.on("open", () => ws.send(JSON.stringify({ type: "hello", last_event_id: lastId })));
    ws.on("error", reject);
    const handle = (frame) => {
      if (frame.type === "ready") resolve(ws);
      if (onFrame) onFrame(frame);
      if (frame.type === "event" && frame.event.type === "message.created") {
        onMessage(frame.event.payload.message.text, frame);
      }
    };
    ws.on("message", (data) => {
      const frame = JSON.parse(data);
      if (frame.type === "batch") frame.frames.forEach(handle);
      else handle(frame);
    });
  });
}

function relayClient(url, onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on("open", () => resolve(ws));
    ws.on("error", reject);
    ws.on("message", (data) => onMessage(data.toString()));
  });
}

// socket.io over a raw websocket (Engine.IO v4 framing): "0" open, "40" connect,
// "2"/"3" ping/pong, '42["msg",data]' events.
function sioClient(url, onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/socket.io/?EIO=4&transport=websocket`,
      { perMessageDeflate: false });
    ws.on("error", reject);
    ws.on("message", (raw) => {
      const data = raw.toString();
      if (data[0] === "0") ws.send("40");
      else if (data === "2") ws.send("3");
      else if (data.startsWith("40")) resolve(ws);
      else if (data.startsWith("42")) onMessage(JSON.parse(data.slice(2))[1]);
    });
  });
}

function sioSend(ws, text) { ws.send(`42${JSON.stringify(["msg", text])}`); }

async function sbPost(http, inboxKey, inboundToken, text, contact) {
  const response = await fetch(`${http}/api/channels/api/${inboxKey}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${inboundToken}` },
    body: JSON.stringify({ external_id: `${Date.now()}-${Math.random()}`, text,
      contact: { external_id: contact, name: contact } }),
  });
  if (response.status !== 201) throw new Error(`inbound ${response.status}: ${await response.text()}`);
}

async function openMany(count, open, batch = 200) {
  const sockets = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    sockets.push(...await Promise.all(Array.from({ length: n }, (_, k) => open(i + k))));
  }
  return sockets;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Send m messages at `rate` per second (send(i) may return a promise); resolves with the
// start time once every send has completed.
async function paced(m, rate, send) {
  const start = Date.now();
  const inflight = [];
  for (let i = 0; i < m; i++) {
    const due = start + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    inflight.push(send(i));
  }
  await Promise.all(inflight);
  return start;
}

module.exports = { percentile, args, sbClient, relayClient, sioClient, sioSend, sbPost,
  openMany, sleep, paced };
