// Idle sockets: open N, print {"open": N}, then hold them until stdin closes.
// --target relay | switchboard (agent sockets) | widget (visitor sockets; --tokens FILE
// holds one visitor token per line, used round-robin, --key the inbox's public key).
const fs = require("fs");
const WebSocket = require("ws");
const c = require("./clients");

function widgetClient(url, key, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/widget/ws?key=${key}`, { perMessageDeflate: false });
    ws.on("open", () => ws.send(JSON.stringify({ type: "hello", token, last_event_id: null })));
    ws.on("error", reject);
    ws.on("close", (code) => reject(new Error(`closed ${code}`)));
    ws.on("message", (data) => {
      const frame = JSON.parse(data);
      if (frame.type === "ready") resolve(ws);
      else if (frame.type === "error") reject(new Error(frame.message));
    });
  });
}

async function main() {
  const a = c.args();
  const n = Number(a.clients);
  let open;
  if (a.target === "switchboard") open = () => c.sbClient(a.url, a.token, null, () => {});
  else if (a.target === "widget") {
    const tokens = fs.readFileSync(a.tokens, "utf8").split("\n").filter(Boolean);
    open = (i) => widgetClient(a.url, a.key, tokens[i % tokens.length]);
  } else open = () => c.relayClient(a.url, () => {});
  await c.openMany(n, open, 250);
  console.log(JSON.stringify({ open: n }));
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
main().catch((e) => { console.error(e); process.exit(1); });
