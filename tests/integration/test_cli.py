"""The switchboard command as an admin uses it: migrate, create-admin, backup, bad settings."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        text=True,
        capture_output=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SWITCHBOARD_DATA_DIR": str(tmp_path / "data")}


def test_migrate_create_admin_and_online_backup(env: dict[str, str], tmp_path: Path) -> None:
    first = run(["migrate"], env)
    assert first.returncode == 0 and "was 0" in first.stdout
    again = run(["migrate"], env)
    assert again.returncode == 0 and again.stdout.split()[3] == again.stdout.split()[-1][:-1]
    made = run(["create-admin", "ops@example.test", "--password", "long-enough-1"], env)
    assert made.returncode == 0, made.stderr
    short = run(["create-admin", "x@example.test", "--password", "short"], env)
    assert short.returncode == 2 and "8+ characters" in short.stderr
    target = tmp_path / "backup.db"
    backup = run(["backup", str(target)], env)
    assert backup.returncode == 0, backup.stderr
    with sqlite3.connect(target) as copy:
        emails = [r[0] for r in copy.execute("SELECT email FROM users")]
    assert emails == ["ops@example.test"]


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("SWITCHBOARD_PORT", "eighty", "SWITCHBOARD_PORT"),
        ("SWITCHBOARD_DATABASE_URL", "mysql://x", "SWITCHBOARD_DATABASE_URL"),
        ("SWITCHBOARD_SECRET_KEY", "short", "at least 32 characters"),
        ("SWITCHBOARD_WS_COMPRESSION", "maybe", "expected true/false"),
    ],
)
def test_a_bad_setting_stops_with_its_name(
    env: dict[str, str], name: str, value: str, words: str
) -> None:
    result = run(["migrate"], {**env, name: value})
    assert result.returncode == 2
    assert "configuration error" in result.stderr and words in result.stderr
