"""Start the servers the realtime benchmarks compare, as child processes on free ports.

Switchboard runs exactly as in production (``python -m server.cli serve``, SQLite file:
every message is committed before the API answers 201). The baselines are a bare
``websockets`` relay (relay.py: the limit) and a socket.io server (sio_server.js: the peer).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
INBOUND = "bench-inbound-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def rss_kib(self) -> int:
        """Resident memory of the process (VmRSS), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Switchboard(Proc):
    token: str = ""
    inbox_key: str = ""

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def _spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )


def _wait_for(check: object, log: Path, what: str) -> None:
    for _ in range(600):
        with contextlib.suppress(OSError, ValueError):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start:\n{log.read_text()[-2000:]}")


def _request(url: str, body: dict[str, object] | None = None, token: str = "") -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@contextlib.contextmanager
def switchboard(**env_extra: str) -> Iterator[Switchboard]:
    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        {
            "SWITCHBOARD_DATA_DIR": str(tmp),
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_SECRET_KEY": "b" * 40,
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_CREATE_ADMIN_EMAIL": "admin@bench.test",
            **env_extra,
        }
    )
    log = tmp / "server.log"
    proc = _spawn([sys.executable, "-m", "server.cli", "serve"], log, env)
    node = Switchboard(proc, port, log)
    try:
        _wait_for(lambda: _request(f"{node.http}/readyz").get("ok"), log, "switchboard")
        password = re.search(r"Created the first admin: \S+ / (\S+)", log.read_text())
        assert password, log.read_text()
        login = _request(
            f"{node.http}/api/auth/login",
            {"email": "admin@bench.test", "password": password.group(1)},
        )
        node.token = str(login["token"])
        inbox = _request(
            f"{node.http}/api/admin/inboxes",
            {
                "name": "Bench",
                "kind": "api",
                "member_ids": [],
                "config": {"inbound_token": INBOUND},
            },
            node.token,
        )
        node.inbox_key = str(inbox["public_key"])
        yield node
    finally:
        node.stop()


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


@contextlib.contextmanager
def relay() -> Iterator[Proc]:
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="relay-")) / "relay.log"
    proc = Proc(_spawn([sys.executable, str(BENCH / "relay.py"), str(port)], log), port, log)
    try:
        _wait_for(lambda: _listening(port), log, "relay")
        yield proc
    finally:
        proc.stop()


@contextlib.contextmanager
def socketio() -> Iterator[Proc]:
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="sio-")) / "sio.log"
    proc = Proc(_spawn(["node", str(BENCH / "sio_server.js"), str(port)], log), port, log)
    try:
        _wait_for(lambda: _listening(port), log, "socket.io")
        yield proc
    finally:
        proc.stop()


def node(script: str, **kwargs: object) -> dict[str, object]:
    """Run a Node load generator; return the JSON line it prints."""
    cmd = ["node", str(BENCH / script)]
    for key, value in kwargs.items():
        cmd += [f"--{key}", str(value)]
    out = subprocess.run(cmd, cwd=BENCH, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"{script} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
