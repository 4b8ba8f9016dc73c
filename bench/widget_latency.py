"""Widget → agent latency: a visitor's message until every agent socket has it.

    cd bench && npm install        # once: the Node `ws` load generator
    .venv/bin/python bench/widget_latency.py [--agents 1000] [--rate 100] [--seconds 20]

Same run, same load, two targets:

* relay: the bare ``websockets`` broadcast relay (bench/relay.py, stores nothing): one
  socket sends at the rate, every one of the ``--agents`` sockets receives (the limit);
* switchboard: a real ``server.cli serve`` process (SQLite, one process, in-process bus)
  with a webchat inbox; ``--agents`` agent sockets on ``/ws`` of an agent who is a member
  of the inbox (so every socket must get every message); visitors POST
  ``/api/widget/{key}/messages`` (the widget's send path: committed before the 201), which
  reach the agents as ``message.created`` events.

``--rooms K`` routes instead of broadcasting: K webchat inboxes, each with one member
agent who holds 1/K of the sockets, visitors spread evenly over the inboxes, so each
message goes to agents/K sockets; the relay then routes too (the same ``websockets``
relay with one broadcast set per room, ``--serve-relay`` below), so both deliver the
same number of frames.

Latency = from just before the send (the POST, or the relay frame) to the moment each
agent socket reads the message; every socket must get every message (``missing``).
Visitors: one per 10 messages, 10 per source address 127.0.x.y (the widget allows 30
messages per visitor and 120 per address per minute, 20 new sessions per address per
minute), so the run stays inside the limits a real site has. Prints one JSON line per
target, the load average, and switchboard/relay ratios (target: p99 <= 1.5x the relay's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import servers

MESSAGES_PER_VISITOR = 10
VISITORS_PER_ADDRESS = 10


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def agents_and_inboxes(sb: servers.Switchboard, rooms: int) -> tuple[list[str], list[str]]:
    """``rooms`` agents, each the one member of its own webchat inbox: (tokens, keys)."""
    tokens, keys = [], []
    for k in range(rooms):
        email, password = f"agent{k}@bench.test", f"bench-password-{k}"
        agent = servers._request(
            f"{sb.http}/api/admin/agents",
            {"email": email, "name": f"Agent {k}", "role": "agent", "password": password},
            sb.token,
        )
        login = servers._request(
            f"{sb.http}/api/auth/login", {"email": email, "password": password}
        )
        tokens.append(str(login["token"]))
        inbox = servers._request(
            f"{sb.http}/api/admin/inboxes",
            {"name": f"Site {k}", "kind": "webchat", "config": {}, "member_ids": [agent["id"]]},
            sb.token,
        )
        keys.append(str(inbox["public_key"]))
    return tokens, keys


def visitors(sb: servers.Switchboard, keys: list[str], count: int) -> Path:
    """``count`` visitor sessions, visitor v on inbox v % len(keys): a file of
    "address token key" lines."""
    lines = []
    for k in range(count):
        key = keys[k % len(keys)]
        group = k // VISITORS_PER_ADDRESS
        address = f"127.0.{1 + group // 250}.{1 + group % 250}"
        conn = http.client.HTTPConnection("127.0.0.1", sb.port, source_address=(address, 0))
        conn.request(
            "POST",
            f"/api/widget/{key}/sessions",
            json.dumps({"form": {}}),
            {"content-type": "application/json"},
        )
        response = conn.getresponse()
        data = json.loads(response.read())
        conn.close()
        if response.status != 201:
            raise RuntimeError(f"visitor session: {response.status} {data}")
        lines.append(f"{address} {data['token']} {key}")
    path = Path(tempfile.mkdtemp(prefix="sb-widget-")) / "visitors.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


async def routed_relay(port: int) -> None:
    """bench/relay.py with rooms: frames sent on /send/k go to every socket on /room/k."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    rooms: dict[str, set[ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        kind, _, room = ws.request.path.strip("/").partition("/")  # type: ignore[union-attr]
        members = rooms.setdefault(room, set())
        if kind == "room":
            members.add(ws)
        try:
            async for message in ws:
                if kind == "send":
                    broadcast(members, message)
        finally:
            members.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await asyncio.Future()


@contextlib.contextmanager
def relay(rooms: int) -> Iterator[servers.Proc]:
    if rooms == 1:
        with servers.relay() as proc:
            yield proc
        return
    port = servers.free_port()
    log = Path(tempfile.mkdtemp(prefix="relay-")) / "relay.log"
    cmd = [sys.executable, __file__, "--serve-relay", str(port)]
    proc = servers.Proc(servers._spawn(cmd, log), port, log)
    try:
        servers._wait_for(lambda: servers._listening(port), log, "routed relay")
        yield proc
    finally:
        proc.stop()


def node(**load: object) -> dict[str, object]:
    """Run widget_latency.js; its JSON line (a starved server can take minutes)."""
    cmd = ["node", str(servers.BENCH / "widget_latency.js")]
    for key, value in load.items():
        cmd += [f"--{key}", str(value)]
    out = subprocess.run(cmd, cwd=servers.BENCH, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"widget_latency.js failed: {out.stderr[-2000:]}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    if out.stderr.strip():  # the first failed sends, as the server answered them
        result["send_error_samples"] = out.stderr.strip().splitlines()[:3]
    return result


def run(proc: servers.Proc, profile: str = "", **load: object) -> dict[str, object]:
    pid = proc.process.pid
    spy = None
    if profile:  # py-spy (pip install py-spy) samples the server for the whole run
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        cmd = [exe, "record", "--pid", str(pid), "--format", "raw", "--output", profile]
        spy = subprocess.Popen([*cmd, "--rate", "200"], stdout=subprocess.DEVNULL)
    before = cpu_seconds(pid)
    load1 = os.getloadavg()[0]
    try:
        result = node(**load)
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=120)
    cpu = cpu_seconds(pid) - before
    result["server_cpu_s"] = round(cpu, 2)
    result["server_cpu_ms_per_msg"] = round(cpu * 1000 / int(load["messages"]), 2)  # type: ignore[call-overload]
    result["server_cpu_us_per_delivery"] = round(
        cpu * 1e6 / max(int(result["deliveries"]), 1),  # type: ignore[call-overload]
        1,
    )
    result["load_avg_1min_before_after"] = [round(load1, 2), round(os.getloadavg()[0], 2)]
    if profile:
        print(profile_summary(profile))
    return result


# Leaves of threads that only wait (py-spy's idle detection misses some in containers).
IDLE_LEAVES = ("_worker thread.py:81", "select selectors.py", "wait threading.py", ".select ")


def profile_summary(path: str, top: int = 40) -> str:
    """Share of busy samples per function: inclusive (anywhere on the stack) and self."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = idle = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [
            f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].rstrip(")") for f in stack.split(";")
        ]
        n = int(count)
        if any(mark in frames[-1] for mark in IDLE_LEAVES):
            idle += n
            continue
        total += n
        leaf[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    total = max(total, 1)
    out = [f"profile {path}: {total} busy samples ({idle} idle left out); inclusive:"]
    out += [f"  {100 * n / total:5.1f} %  {f}" for f, n in inclusive.most_common(top)]
    out += ["self:"] + [f"  {100 * n / total:5.1f} %  {f}" for f, n in leaf.most_common(top)]
    return "\n".join(out)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--pad", type=int, default=0, help="extra characters per message")
    parser.add_argument("--rooms", type=int, default=1, help="inboxes the sockets split over")
    parser.add_argument("--targets", default="relay,switchboard")
    parser.add_argument("--profile", default="", help="py-spy raw output file (Switchboard)")
    parser.add_argument("--serve-relay", type=int, default=0, help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.serve_relay:
        asyncio.run(routed_relay(a.serve_relay))
        return
    messages = int(a.rate * a.seconds)
    # visitors: a multiple of the rooms, at most MESSAGES_PER_VISITOR messages each
    count = -(-messages // MESSAGES_PER_VISITOR)
    count = -(-count // a.rooms) * a.rooms
    load = {
        "agents": a.agents,
        "messages": messages,
        "rate": a.rate,
        "pad": a.pad,
        "rooms": a.rooms,
        "vcount": count,
    }
    results: dict[str, dict[str, object]] = {}
    print(f"uptime before: {uptime()}")
    for target in a.targets.split(","):
        if target == "relay":
            with relay(a.rooms) as proc:
                results[target] = run(
                    proc, target="relay", url=f"ws://127.0.0.1:{proc.port}", **load
                )
        else:
            with servers.switchboard() as sb:
                tokens, keys = agents_and_inboxes(sb, a.rooms)
                results[target] = run(
                    sb,
                    a.profile,
                    target="switchboard",
                    url=sb.ws,
                    http=sb.http,
                    tokens=",".join(tokens),
                    visitors=visitors(sb, keys, count),
                    **load,
                )
        print(json.dumps(results[target]), flush=True)
    print(f"uptime after: {uptime()}")
    if {"relay", "switchboard"} <= results.keys():
        ours, limit = results["switchboard"], results["relay"]
        for figure in ("p50_ms", "p99_ms"):
            ratio = float(ours[figure]) / max(float(limit[figure]), 0.1)  # type: ignore[arg-type]
            print(f"switchboard / relay {figure}: x{ratio:.2f}")
        complete = ours["missing"] == 0 and limit["missing"] == 0
        met = complete and float(ours["p99_ms"]) <= 1.5 * float(limit["p99_ms"])  # type: ignore[arg-type]
        verdict = "met" if met else "not met" + ("" if complete else " (messages missing)")
        print(f"target p99 <= 1.5x relay: {verdict}")


if __name__ == "__main__":
    main()
