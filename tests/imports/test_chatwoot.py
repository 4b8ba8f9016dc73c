"""Chatwoot's API shape → import records, and `switchboard import --format chatwoot`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from server.domain.importing import parse_record
from server.importers.chatwoot import NotAChatwootConversation, convert
from tests.conftest import Running
from tests.support.api import create_api_inbox

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((Path(__file__).parent / "chatwoot_conversation.json").read_text())


def test_a_chatwoot_conversation_becomes_a_record_with_every_kind_of_event() -> None:
    record = convert(SAMPLE)
    kinds = [(e["type"], e.get("from"), e.get("status")) for e in record["events"]]
    assert kinds == [
        ("message", "customer", None),
        ("message", "bot", None),  # the greeting template: automatic, never a response
        ("assign", None, None),
        ("note", "agent", None),
        ("message", "agent", None),
        ("status", None, "resolved"),
        ("message", "customer", None),
        ("status", None, "open"),
        ("message", "bot", None),  # an agent bot: not a human response
        ("message", "agent", None),
        ("status", None, "resolved"),
    ]
    assert record["events"][1]["auto"] is True and record["events"][8]["auto"] is False
    assert record["events"][2]["agent"]["email"] == "piotr@shop.test"  # named in the line
    assert record["contact"]["name"] == "Zofia Wójcik"
    assert record["labels"] == ["delivery", "vip"] and record["priority"] == "high"
    parsed = parse_record(record, datetime(2026, 6, 1, tzinfo=UTC))
    assert parsed.events[0].at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad", [[], {"messages": []}, {"id": 1}, {"id": 1, "messages": "x"}])
def test_other_shapes_are_refused_by_name(bad: object) -> None:
    with pytest.raises(NotAChatwootConversation):
        convert(bad)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_switchboard_import_reads_a_chatwoot_export(
    server: Running, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    inbox = await create_api_inbox(admin, name="From Chatwoot")
    export = tmp_path / "chatwoot.jsonl"
    export.write_text(json.dumps(SAMPLE) + "\n" + "{not json\n")
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": server.settings.database_url,
        "SWITCHBOARD_SECRET_KEY": "k" * 40,
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "cli-data"),
    }
    args = [sys.executable, "-m", "server.cli", "import", str(export), "--inbox", str(inbox["id"])]
    run = subprocess.run(
        [*args, "--format", "chatwoot"],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr  # one bad line: reported, the rest imported
    assert "1 created" in run.stdout and "1 failed" in run.stdout
    assert "chatwoot.jsonl:2: not a chatwoot record" in run.stderr

    listed = (
        await admin.get("/api/conversations", params={"status": "all", "inbox_id": inbox["id"]})
    ).json()
    (conv,) = listed["items"]
    detail = (await admin.get(f"/api/conversations/{conv['id']}")).json()
    assert detail["status"] == "resolved" and detail["priority"] == "high"
    # 10:00 → 10:15 UTC: Piotr's reply is the first response (notes and the greeting are not)
    assert detail["response_cycles"][0]["wall_seconds"] == 900
    assert detail["response_cycles"][1]["wall_seconds"] == 1800  # the bot's line did not count

    rerun = subprocess.run(
        [*args, "--format", "chatwoot"],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert "0 created" in rerun.stdout and "1 unchanged" in rerun.stdout
