"""``switchboard`` command: serve, migrate, create-admin, backup, keygen, import."""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from server.exceptions import ConfigError
from server.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    # flags win over SWITCHBOARD_HOST / SWITCHBOARD_PORT, as with uvicorn and gunicorn
    serve.add_argument("--host", help="address to listen on (default: SWITCHBOARD_HOST)")
    serve.add_argument("--port", type=_port, help="port to listen on (default: SWITCHBOARD_PORT)")
    sub.add_parser("migrate", help="bring the database schema up to date and exit")
    admin = sub.add_parser("create-admin", help="create an admin account")
    admin.add_argument("email")
    admin.add_argument("--name", default="Admin")
    admin.add_argument("--password", help="default: read from SWITCHBOARD_ADMIN_PASSWORD")
    backup = sub.add_parser("backup", help="online backup of the SQLite database")
    backup.add_argument("target", type=Path)
    sub.add_parser("keygen", help="print a new SWITCHBOARD_SECRET_KEY")
    imp = sub.add_parser("import", help="import conversation history (docs/import.md)")
    imp.add_argument("file", type=Path, help="JSON Lines: one conversation per line")
    imp.add_argument("--inbox", type=int, required=True, help="the inbox id to import into")
    imp.add_argument("--format", choices=("switchboard", "chatwoot"), default="switchboard")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(**_overrides(args))
        return _COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        print(f"switchboard: configuration error: {exc.message}", file=sys.stderr)
        return 2


def _port(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 1-65535, got {raw!r}")
    return int(raw)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line settings (only those given) over the environment's."""
    given = {"host": getattr(args, "host", None), "port": getattr(args, "port", None)}
    return {k: v for k, v in given.items() if v is not None}


def _tune_gc() -> None:
    """Fewer, later cycle collections. A node holds a large long-lived heap (event history,
    statement caches, thousands of sockets) and allocates briskly per message; with the
    default thresholds full collections over that heap stall the loop often enough to
    double the fan-out p99 (bench/README.md: 112 -> 63 ms at 20k deliveries/s). Startup
    objects are frozen out of collection altogether."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1000)


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app
    from server.logs import configure_logging
    from server.realtime.ws_protocol import LeanWebSocketProtocol

    configure_logging(settings)
    _tune_gc()
    print(
        f"Switchboard on http://{settings.host}:{settings.port}/ "
        f"(database: {settings.effective_database_url.split('://')[0]}, "
        f"bus: {'redis' if settings.redis_url else 'in-process'})",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.ws_max_frame_bytes,
        ws=LeanWebSocketProtocol,
        ws_per_message_deflate=settings.ws_compression,
        log_config=None,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        timeout_graceful_shutdown=10,
        proxy_headers=False,
        access_log=settings.access_log,
    )
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from server.storage.db import Database
    from server.storage.migrations import migrate

    async def run() -> tuple[int, int]:
        db = Database(settings.effective_database_url)
        try:
            return await migrate(db)
        finally:
            await db.dispose()

    before, after = asyncio.run(run())
    print(f"schema at version {after} (was {before})")
    return 0


def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from server.actions import admin
    from server.app import build_context

    password = args.password or os.environ.get("SWITCHBOARD_ADMIN_PASSWORD")
    if not password or len(password) < 8:
        print(
            "switchboard: give --password (8+ characters) or SWITCHBOARD_ADMIN_PASSWORD",
            file=sys.stderr,
        )
        return 2

    async def run() -> None:
        ctx = await build_context(settings)
        try:
            await admin.create_user(
                ctx, email=args.email, name=args.name, role="admin", password=password
            )
        finally:
            await ctx.db.dispose()

    asyncio.run(run())
    print(f"admin {args.email} created")
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    url = settings.effective_database_url
    if not url.startswith("sqlite:///"):
        print("switchboard: backup is for SQLite; use pg_dump for PostgreSQL", file=sys.stderr)
        return 2
    source = sqlite3.connect(url[len("sqlite:///") :])
    target = sqlite3.connect(args.target)
    with target:
        source.backup(target)  # the online backup API: safe while the server writes
    source.close()
    target.close()
    print(f"backup written to {args.target}")
    return 0


def _keygen(_settings: Settings, _args: argparse.Namespace) -> int:
    print(base64.urlsafe_b64encode(os.urandom(32)).decode())
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from server.importers.cli import run_import

    return run_import(settings, args.file, args.inbox, args.format)


_COMMANDS = {
    "serve": _serve,
    "migrate": _migrate,
    "create-admin": _create_admin,
    "backup": _backup,
    "keygen": _keygen,
    "import": _import,
}

if __name__ == "__main__":
    raise SystemExit(main())
