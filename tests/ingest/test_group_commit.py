"""Group commit of concurrent ingests (docs/ingest.md): one transaction and one commit
for many messages (a failing one rolled back alone), each caller answered only after
the commit that holds its message. Real server, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from adapters.base import ContactInfo, InboundMessage, IngestResult
from server.actions import inbound
from server.storage import schema as t
from tests.conftest import Running
from tests.support.api import INBOUND_TOKEN, create_api_inbox, post_inbound


def _msg(external_id: str, contact: str, text: str | None = None, **kw: Any) -> InboundMessage:
    return InboundMessage(
        external_id=external_id,
        contact=ContactInfo(contact, "", f"Customer {contact}"),
        text=text if text is not None else f"text of {external_id}",
        **kw,
    )


def _group(server: Running) -> Any:
    return server.ctx.extras["ingest_group"]


async def _rows(server: Running, inbox_id: int) -> list[Any]:
    m = t.messages.c
    async with server.ctx.db.read() as conn:
        return list(
            (
                await conn.execute(
                    sa.select(m.id, m.external_id, m.text, m.conversation_id)
                    .where(m.inbox_id == inbox_id, m.kind == "message")
                    .order_by(m.id)
                )
            ).all()
        )


async def _message_events(server: Running, inbox_id: int) -> list[int]:
    """Message ids of the inbox's message.created events, in event (commit) order."""
    e = t.events.c
    async with server.ctx.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(e.payload)
                .where(e.inbox_id == inbox_id, e.type == "message.created")
                .order_by(e.id)
            )
        ).all()
    return [int(r.payload["message"]["id"]) for r in rows]


async def test_concurrent_members_get_their_own_distinct_results(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    # warm up: the group committer exists and the inbox has a conversation for c0
    await inbound.ingest(server.ctx, inbox["id"], _msg("warm", "c0"))
    before = _group(server).groups
    msgs = [_msg(f"g{i}", f"c{i % 6}") for i in range(40)]
    results = await asyncio.gather(*(inbound.ingest(server.ctx, inbox["id"], m) for m in msgs))
    # they did share groups: fewer commits than messages
    assert _group(server).groups - before < len(msgs)
    assert _group(server).largest > 1
    assert all(r.created for r in results)
    assert len({r.message_id for r in results}) == len(msgs)
    stored = {r.id: r for r in await _rows(server, inbox["id"])}
    for m, r in zip(msgs, results, strict=True):
        row = stored[r.message_id]  # each caller got ITS message, not a neighbour's
        assert (row.external_id, row.text, row.conversation_id) == (
            m.external_id,
            m.text,
            r.conversation_id,
        )
    by_contact: dict[str, set[int]] = {}
    for m, r in zip(msgs, results, strict=True):
        by_contact.setdefault(m.contact.external_id, set()).add(r.conversation_id)
    assert all(len(c) == 1 for c in by_contact.values())  # one conversation per contact
    assert len({next(iter(c)) for c in by_contact.values()}) == 6
    # every message has its event, in commit (= message id) order
    ids = await _message_events(server, inbox["id"])
    assert ids == sorted(ids)
    assert {r.message_id for r in results} <= set(ids)


async def test_redelivery_inside_one_group_is_one_row_and_both_get_it(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    await inbound.ingest(server.ctx, inbox["id"], _msg("warm", "c0"))
    largest = _group(server).largest
    msgs = [_msg("dup-1", "c1"), _msg("other", "c2"), _msg("dup-1", "c1")]
    results: list[IngestResult] = await asyncio.gather(
        *(inbound.ingest(server.ctx, inbox["id"], m) for m in msgs)
    )
    assert _group(server).largest >= max(largest, 3)  # the three shared one group
    first, other, again = results
    assert (first.message_id, first.conversation_id) == (again.message_id, again.conversation_id)
    assert sorted([first.created, again.created]) == [False, True]
    assert other.created and other.message_id != first.message_id
    rows = [r for r in await _rows(server, inbox["id"]) if r.external_id == "dup-1"]
    assert len(rows) == 1 and rows[0].id == first.message_id
    assert (await _message_events(server, inbox["id"])).count(first.message_id) == 1


async def _install_poison_trigger(server: Running) -> None:
    """A real database rule that refuses one text: a constraint violation in one message."""
    async with server.ctx.db.write() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.text = 'POISON' "
                "BEGIN SELECT RAISE(ABORT, 'poison message refused'); END"
            )
        else:
            await conn.exec_driver_sql(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.text = 'POISON' THEN RAISE EXCEPTION 'poison message refused' "
                "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$"
            )
            await conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON messages "
                "FOR EACH ROW EXECUTE FUNCTION poison()"
            )


async def test_poison_message_fails_alone_in_a_concurrent_group(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    await inbound.ingest(server.ctx, inbox["id"], _msg("warm", "c0"))
    await _install_poison_trigger(server)
    msgs = [_msg(f"p{i}", f"pc{i % 4}") for i in range(12)]
    msgs[5] = _msg("poison-1", "poisoned-contact", "POISON")  # refused by the database
    # an exception in Python while processing one message (not JSON-serialisable)
    msgs[8] = _msg("poison-2", "broken-contact", content_attributes={"x": object()})
    largest = _group(server).largest
    outcomes = await asyncio.gather(
        *(inbound.ingest(server.ctx, inbox["id"], m) for m in msgs), return_exceptions=True
    )
    assert _group(server).largest >= max(largest, len(msgs))  # one group held all 12
    for i, outcome in enumerate(outcomes):
        if i in (5, 8):
            assert isinstance(outcome, Exception), outcome  # its own error
        else:
            assert isinstance(outcome, IngestResult) and outcome.created, outcome
    stored = {r.external_id: r for r in await _rows(server, inbox["id"])}
    assert "poison-1" not in stored and "poison-2" not in stored
    for i, m in enumerate(msgs):
        if i not in (5, 8):
            assert stored[m.external_id].id == outcomes[i].message_id  # type: ignore[union-attr]
    # the failed messages left nothing behind: no contact, no conversation
    ci = t.contact_identities.c
    async with server.ctx.db.read() as conn:
        strays = (
            await conn.execute(
                sa.select(sa.func.count()).where(
                    ci.external_id.in_(["poisoned-contact", "broken-contact"])
                )
            )
        ).scalar_one()
    assert strays == 0
    events = await _message_events(server, inbox["id"])
    ok = [o.message_id for o in outcomes if isinstance(o, IngestResult)]
    assert set(ok) <= set(events)


async def test_poison_over_http_answers_its_own_error_and_the_rest_commit(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    await _install_poison_trigger(server)
    intake = server.client()
    texts = ["hello"] * 9
    texts[4] = "POISON"
    responses = await asyncio.gather(
        *(
            post_inbound(intake, inbox, text=text, external_id=f"h{i}", contact=f"hc{i % 3}")
            for i, text in enumerate(texts)
        )
    )
    for i, response in enumerate(responses):
        if i == 4:
            assert response.status_code >= 500
        else:
            assert response.status_code == 201, response.text
    stored = {r.external_id for r in await _rows(server, inbox["id"])}
    assert stored == {f"h{i}" for i in range(9) if i != 4}


@pytest.mark.parametrize("senders", [32])
async def test_many_concurrent_http_senders_each_stored_once(
    server: Running, admin: httpx.AsyncClient, senders: int
) -> None:
    inbox = await create_api_inbox(admin)
    intake = server.client()
    responses = await asyncio.gather(
        *(
            post_inbound(intake, inbox, external_id=f"s{i}", contact=f"sc{i % 10}")
            for i in range(senders)
        )
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses][:3]
    by_ext = {f"s{i}": r.json()["message_id"] for i, r in enumerate(responses)}
    rows = await _rows(server, inbox["id"])
    assert sorted(r.external_id for r in rows) == sorted(by_ext)
    assert all(by_ext[r.external_id] == r.id for r in rows)


async def test_batch_post_stores_in_order_each_message_gets_its_own_result(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    await _install_poison_trigger(server)
    intake = server.client(INBOUND_TOKEN)
    items = [
        {"external_id": f"b{i}", "text": f"batch {i}", "contact": {"external_id": f"bc{i % 3}"}}
        for i in range(10)
    ]
    items[3]["text"] = "POISON"
    items[7] = dict(items[2])  # delivered twice within the batch
    url = f"/api/channels/api/{inbox['public_key']}/messages/batch"
    response = await intake.post(url, json={"messages": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 10
    assert results[3]["error"]["code"] == "ingest_failed"
    assert results[7] == {**results[2], "created": False} and results[2]["created"]
    fresh = [r["message_id"] for i, r in enumerate(results) if i not in (3, 7)]
    assert fresh == sorted(fresh)  # stored in the order given
    stored = {r.external_id: r.id for r in await _rows(server, inbox["id"])}
    assert stored == {
        items[i]["external_id"]: results[i]["message_id"] for i in range(10) if i != 3
    }
    # redelivering the whole batch answers the stored messages and stores nothing new
    again = (await intake.post(url, json={"messages": items})).json()["results"]
    for i in range(10):
        if i != 3:
            assert again[i] == {**results[i], "created": False}
    assert {r.external_id: r.id for r in await _rows(server, inbox["id"])} == stored
    # a wrong token stores nothing
    assert (await server.client("wrong").post(url, json={"messages": items})).status_code == 401


async def test_a_clean_group_takes_no_savepoints_and_a_poisoned_one_runs_again_once(
    server: Running, admin: httpx.AsyncClient
) -> None:
    """Optimistic group commit (docs/ingest.md): no SAVEPOINT while every unit succeeds;
    a unit that fails rolls the first run back whole and the group runs again with a
    savepoint per unit, so each stored message is written, and its events recorded, once."""
    inbox = await create_api_inbox(admin)
    await inbound.ingest(server.ctx, inbox["id"], _msg("warm", "c0"))
    await _install_poison_trigger(server)
    db = server.ctx.db
    engine = db.sync_engine if db.sync_engine is not None else db.engine.sync_engine
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        largest = _group(server).largest
        clean = await asyncio.gather(
            *(inbound.ingest(server.ctx, inbox["id"], _msg(f"k{i}", f"kc{i}")) for i in range(8))
        )
        assert _group(server).largest >= max(largest, 8)  # one group held all 8
        assert not [s for s in statements if "SAVEPOINT" in s]
        statements.clear()
        msgs = [_msg(f"q{i}", f"qc{i}") for i in range(8)]
        msgs[3] = _msg("q-poison", "qc-poison", "POISON")
        poisoned = await asyncio.gather(
            *(inbound.ingest(server.ctx, inbox["id"], m) for m in msgs), return_exceptions=True
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert isinstance(poisoned[3], Exception)
    ok = [o for i, o in enumerate(poisoned) if i != 3]
    assert all(isinstance(o, IngestResult) and o.created for o in ok), ok
    assert len([s for s in statements if s.startswith("SAVEPOINT")]) == len(msgs)  # 2nd run
    assert len([s for s in statements if s.startswith("INSERT INTO EVENTS")]) == 1
    events = await _message_events(server, inbox["id"])
    for result in [*clean, *ok]:
        assert events.count(result.message_id) == 1  # type: ignore[union-attr]
    stored = [r.external_id for r in await _rows(server, inbox["id"])]
    assert sorted(stored) == sorted({*stored})  # nothing written twice
    assert "q-poison" not in stored
