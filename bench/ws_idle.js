// Idle sockets: open N, print {"open": N}, then hold them until stdin closes.
const c = require("./clients");

async function main() {
  const a = c.args();
  const n = Number(a.clients);
  const open = a.target === "switchboard"
    ? () => c.sbClient(a.url, a.token, null, () => {})
    : () => c.relayClient(a.url, () => {});
  await c.openMany(n, open, 250);
  console.log(JSON.stringify({ open: n }));
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
main().catch((e) => { console.error(e); process.exit(1); });
