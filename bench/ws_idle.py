"""Idle sockets per GiB of server memory: Switchboard vs the bare websockets relay.

    .venv/bin/python bench/ws_idle.py --clients 5000 [--visitors 1000]

Opens N sockets against each target and measures the server's resident memory growth
(per-message deflate off, the default). Keep N under ``ulimit -n``.

* relay: the bare ``websockets`` relay (the limit);
* agent: authenticated, hello'd agent sockets (``/ws``);
* widget: visitor sockets (``/widget/ws``) of a webchat inbox, hello'd with visitor
  tokens: ``--visitors`` sessions are created over the widget API (from distinct
  127.0.x.y source addresses: the API allows 20 new sessions per IP per minute) and the
  sockets use them round-robin, like visitors with a few tabs open.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import servers

GIB_KIB = 1024 * 1024


def measure(proc: servers.Proc, n: int, **target: object) -> dict[str, object]:
    cmd = ["node", str(servers.BENCH / "ws_idle.js"), "--clients", str(n)]
    for key, value in target.items():
        cmd += [f"--{key}", str(value)]
    before = proc.rss_kib()
    holder = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        if not line:
            raise RuntimeError("the idle client generator failed")
        time.sleep(2)  # let the server settle after the last handshake
        after = proc.rss_kib()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    per_socket = (after - before) / n
    return {
        "target": target["target"],
        "sockets": n,
        "rss_before_mib": before // 1024,
        "rss_after_mib": after // 1024,
        "kib_per_socket": round(per_socket, 1),
        "sockets_per_gib": int(GIB_KIB / per_socket) if per_socket > 0 else None,
    }


def visitor_tokens(sb: servers.Switchboard, count: int) -> tuple[str, Path]:
    """A webchat inbox and ``count`` visitor sessions; (public key, file of tokens)."""
    inbox = servers._request(
        f"{sb.http}/api/admin/inboxes",
        {"name": "Site", "kind": "webchat", "config": {}},
        sb.token,
    )
    key = str(inbox["public_key"])
    tokens = []
    for k in range(count):
        source = f"127.0.{1 + k // 20 // 250}.{1 + (k // 20) % 250}"
        conn = http.client.HTTPConnection("127.0.0.1", sb.port, source_address=(source, 0))
        body = json.dumps({"form": {}})
        conn.request(
            "POST",
            f"/api/widget/{key}/sessions",
            body,
            {"content-type": "application/json"},
        )
        response = conn.getresponse()
        data = json.loads(response.read())
        conn.close()
        if response.status != 201:
            raise RuntimeError(f"visitor session: {response.status} {data}")
        tokens.append(str(data["token"]))
    path = Path(tempfile.mkdtemp(prefix="sb-idle-")) / "tokens.txt"
    path.write_text("\n".join(tokens))
    return key, path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--targets", default="relay,agent,widget")
    a = parser.parse_args()
    n, targets = a.clients, a.targets.split(",")
    results = []
    if "relay" in targets:
        with servers.relay() as relay:
            results.append(measure(relay, n, target="relay", url=f"ws://127.0.0.1:{relay.port}"))
    if "agent" in targets:
        with servers.switchboard() as sb:
            results.append(measure(sb, n, target="switchboard", url=sb.ws, token=sb.token))
    if "widget" in targets:
        with servers.switchboard() as sb:
            key, tokens = visitor_tokens(sb, min(a.visitors, n))
            results.append(measure(sb, n, target="widget", url=sb.ws, key=key, tokens=tokens))
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
