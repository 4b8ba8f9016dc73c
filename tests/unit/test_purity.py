"""Pure modules import no I/O: they are plain functions of their inputs, tested with plain calls.

Sources are parsed with `ast`, never imported, so a forbidden import is caught even in code no
test exercises. Append your pure package or module to PURE_PACKAGES (e.g. an adapter's
parse.py); a listed path that does not exist fails, so a rename cannot silently disable this.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PURE_PACKAGES: tuple[str, ...] = (
    "server/domain",
    "server/reporting/stats.py",
    "adapters/textparts.py",
    "server/sanitize.py",
    "adapters/webchat/config.py",
    "server/widget/identity.py",
    "server/widget/prechat.py",
    "server/widget/availability.py",
    "server/widget/shapes.py",
    "adapters/email/parse.py",
    "adapters/email/bodies.py",
    "adapters/email/quoting.py",
    "adapters/email/compose.py",
    "adapters/email/config.py",
    "adapters/email/imap_proto.py",
    "adapters/meta/signature.py",
    "adapters/meta/errors.py",
    "adapters/meta/events.py",
    "adapters/meta/marker.py",
    "adapters/meta/parse.py",
    "adapters/meta/compose.py",
    "adapters/telegram/parse.py",
    "adapters/telegram/compose.py",
    "server/realtime/frames.py",
    "server/realtime/client_queue.py",
)

FORBIDDEN = frozenset(
    {
        "asyncio",
        "socket",
        "sqlite3",
        "sqlalchemy",
        "redis",
        "starlette",
        "httpx",
        "aiosmtplib",
        "aioimaplib",
        "websockets",
        "os",
        "subprocess",
        "threading",
        "time",  # the module; `from datetime import time` is fine
        "random",
    }
)

ROOT = Path(__file__).resolve().parents[2]


def python_files(entry: str) -> list[Path]:
    """The .py files of a PURE_PACKAGES entry: a directory (recursively) or one file."""
    path = ROOT / entry
    assert path.exists(), f"{entry} is listed in PURE_PACKAGES but does not exist"
    if path.is_file():
        assert path.suffix == ".py", f"{entry} is neither a directory nor a .py file"
        return [path]
    files = sorted(path.rglob("*.py"))
    assert files, f"{entry} contains no .py files"
    return files


def forbidden_imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, module) for every import of a forbidden top-level module, at any depth."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            if module.split(".")[0] in FORBIDDEN:
                yield node.lineno, module


@pytest.mark.parametrize("entry", PURE_PACKAGES)
def test_pure_modules_import_no_io(entry: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in python_files(entry)
        for line, module in forbidden_imports(path.read_text(encoding="utf-8"))
    ]
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from datetime import time", []),
        ("from zoneinfo import ZoneInfo", []),
        ("from . import time", []),
        ("import time", [(1, "time")]),
        ("import os.path", [(1, "os.path")]),
        ("import json, random", [(1, "random")]),
        ("from asyncio import sleep", [(1, "asyncio")]),
        ("from sqlalchemy.orm import Session", [(1, "sqlalchemy.orm")]),
        ("def f():\n    import socket", [(2, "socket")]),
    ],
)
def test_the_checker_itself(source: str, expected: list[tuple[int, str]]) -> None:
    assert list(forbidden_imports(source)) == expected


def test_a_missing_entry_fails() -> None:
    with pytest.raises(AssertionError, match="does not exist"):
        python_files("server/no_such_package")
