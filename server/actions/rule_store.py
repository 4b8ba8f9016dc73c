"""Saving automation rules: validate (pure, then against the database), store, list.

Bad input is refused with a precise 422 naming the field (docs/automation.md "Bad
input"): an unknown field, operator, trigger or action, a regular expression that could
run away, a webhook to a private address, an agent or team that does not exist.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from adapters.base import PermanentError, TransientError
from adapters.outbound_guard import refuse_private
from server.actions._tx import transaction
from server.actions.rule_actions import webhook_secret
from server.actors import Actor
from server.context import AppContext
from server.domain.rules import Rule, RuleError, parse_rule
from server.exceptions import InvalidInput, NotFound
from server.storage import schema as t
from server.storage.schema import utcnow


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details=[{"field": field, "message": message}])


def parse(data: dict[str, Any]) -> Rule:
    try:
        return parse_rule(data)
    except RuleError as exc:
        raise _invalid(exc.field, exc.message) from None


async def check_references(ctx: AppContext, actions: Any, prefix: str = "actions") -> None:
    """Refuse actions whose agent, team or webhook target does not hold now."""
    async with ctx.db.read() as conn:
        for n, action in enumerate(actions):
            where = f"{prefix}[{n}]"
            if action.type == "assign_agent":
                u = t.users.c
                row = (
                    await conn.execute(
                        sa.select(u.is_active).where(u.id == action.params["agent_id"])
                    )
                ).first()
                if row is None or not row.is_active:
                    raise _invalid(f"{where}.agent_id", "no active agent with this id")
            elif action.type == "assign_team":
                found = (
                    await conn.execute(
                        sa.select(t.teams.c.id).where(t.teams.c.id == action.params["team_id"])
                    )
                ).first()
                if found is None:
                    raise _invalid(f"{where}.team_id", "no team with this id")
            elif action.type == "webhook":
                await _check_url(ctx, str(action.params["url"]), f"{where}.url")


async def _check_url(ctx: AppContext, url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(where, "expected an http:// or https:// URL")
    try:
        await refuse_private(url, ctx.settings.allow_private_urls)
    except (PermanentError, TransientError) as exc:
        raise _invalid(where, str(exc)) from None


def serialize(ctx: AppContext, row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "trigger": row.trigger,
        "params": row.params or {},
        "conditions": row.conditions or [],
        "actions": row.actions or [],
        "is_active": row.is_active,
        "webhook_secret": webhook_secret(ctx, row.id),
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


async def save(
    ctx: AppContext, actor: Actor, data: dict[str, Any], rule_id: int | None = None
) -> dict[str, Any]:
    rule = parse(data)
    await check_references(ctx, rule.actions)
    now = utcnow()
    values = {
        "name": rule.name,
        "trigger": rule.trigger,
        "params": dict(rule.params),
        "conditions": data.get("conditions") or [],
        "actions": data.get("actions") or [],
        "is_active": bool(data.get("is_active", True)),
        "updated_at": now,
    }
    r = t.automation_rules.c
    async with transaction(ctx) as tx:
        if rule_id is None:
            query: Any = t.automation_rules.insert().values(
                **values, created_by=actor.id, created_at=now
            )
        else:
            query = sa.update(t.automation_rules).where(r.id == rule_id).values(**values)
        row = (await tx.conn.execute(query.returning(t.automation_rules))).first()
        if row is None:
            raise NotFound(f"rule {rule_id} not found")
    return serialize(ctx, row)


async def list_rules(ctx: AppContext) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        rows = await conn.execute(sa.select(t.automation_rules).order_by(t.automation_rules.c.id))
        return [serialize(ctx, r) for r in rows]


async def get(ctx: AppContext, rule_id: int) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(t.automation_rules).where(t.automation_rules.c.id == rule_id)
            )
        ).first()
    if row is None:
        raise NotFound(f"rule {rule_id} not found")
    return serialize(ctx, row)


async def delete(ctx: AppContext, rule_id: int) -> None:
    async with transaction(ctx) as tx:
        gone = await tx.conn.execute(
            sa.delete(t.automation_rules).where(t.automation_rules.c.id == rule_id)
        )
        if not gone.rowcount:
            raise NotFound(f"rule {rule_id} not found")


async def runs(ctx: AppContext, rule_id: int, limit: int) -> list[dict[str, Any]]:
    r = t.rule_runs.c
    async with ctx.db.read() as conn:
        rows = await conn.execute(
            sa.select(t.rule_runs).where(r.rule_id == rule_id).order_by(r.id.desc()).limit(limit)
        )
        return [
            {
                "id": x.id,
                "conversation_id": x.conversation_id,
                "trigger": x.trigger,
                "status": x.status,
                "results": x.results or [],
                "created_at": x.created_at.isoformat(),
            }
            for x in rows
        ]
