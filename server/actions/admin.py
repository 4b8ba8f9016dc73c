"""Admin actions: agents, teams, inboxes (with encrypted, write-only secrets), membership,
business hours, response-time targets, canned responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adapters.base import ConfigInvalid
from adapters.registry import ADAPTERS
from server import serialize
from server.actions import accounts, audit, clock
from server.actions._tx import transaction
from server.context import AppContext
from server.crypto import hash_password, new_token
from server.domain.calendar import BusinessHours
from server.events.types import EventType
from server.exceptions import Conflict, InvalidInput, NotFound
from server.storage import schema as t
from server.storage.schema import utcnow


async def create_user(
    ctx: AppContext, *, email: str, name: str, role: str, password: str | None, is_bot: bool = False
) -> dict[str, Any]:
    try:
        async with ctx.db.write() as conn:
            row = (
                await conn.execute(
                    t.users.insert()
                    .values(
                        email=email.strip().lower(),
                        name=name,
                        role=role,
                        is_bot=is_bot,
                        password_hash=hash_password(password) if password else None,
                        is_active=True,
                        created_at=utcnow(),
                    )
                    .returning(t.users)
                )
            ).one()
            await audit.record(
                conn,
                "agent.create",
                target_type="user",
                target_id=row.id,
                details={"email": row.email, "role": role, "is_bot": is_bot, "password": password},
            )
    except IntegrityError:
        raise Conflict(f"email: an account with {email!r} already exists") from None
    return serialize.user(row)


async def update_user(
    ctx: AppContext, user_id: int, fields: Mapping[str, Any], *, keep_token_id: int | None = None
) -> dict[str, Any]:
    """Change an agent. A new password or deactivation revokes the agent's sessions and
    API tokens (but ``keep_token_id``, the session making the change); a role change is
    announced (``agent.updated``) so open sockets re-evaluate access at once. The caller
    closes revoked sockets after commit (``hub.revoke``)."""
    values = dict(fields)
    password = values.pop("password", None)
    async with transaction(ctx) as tx:
        before = (await tx.conn.execute(sa.select(t.users).where(t.users.c.id == user_id))).first()
        if before is None:
            raise NotFound(f"agent {user_id} not found")
        await _keep_an_admin(tx.conn, before, values)
        if values:
            await tx.conn.execute(
                sa.update(t.users).where(t.users.c.id == user_id).values(**values)
            )
        if password:
            await accounts.store_password(tx.conn, user_id, password, keep_token_id=keep_token_id)
        if values.get("is_active") is False:  # deactivation ends every session at once
            await accounts.revoke_user_tokens(tx.conn, user_id)
        row = (await tx.conn.execute(sa.select(t.users).where(t.users.c.id == user_id))).one()
        if row.role != before.role or row.is_active != before.is_active:
            await tx.emit(EventType.AGENT_UPDATED, await _agent_event(tx.conn, row))
        changed = sorted([*values, *(["password"] if password else [])])
        await audit.record(
            tx.conn,
            "agent.update",
            target_type="user",
            target_id=user_id,
            details={
                "fields": changed,
                **{k: values[k] for k in ("role", "is_active") if k in values},
            },
        )
    return serialize.user(row)


async def _keep_an_admin(conn: Any, before: Any, values: Mapping[str, Any]) -> None:
    """Refuse to demote or disable the last active admin (nobody could manage the team)."""
    leaves = values.get("role", before.role) != "admin" or values.get("is_active") is False
    if before.role != "admin" or not before.is_active or not leaves:
        return
    u = t.users.c
    others = await conn.execute(
        sa.select(u.id).where(u.role == "admin", u.is_active.is_(True), u.id != before.id).limit(1)
    )
    if others.first() is None:
        raise Conflict("role: this is the last active admin; make someone else an admin first")


async def _agent_event(conn: Any, row: Any) -> dict[str, Any]:
    """The agent and the inboxes it is a member of (its sockets' new access view)."""
    members = await conn.execute(
        sa.select(t.inbox_members.c.inbox_id).where(t.inbox_members.c.user_id == row.id)
    )
    # What the agent directory shows every agent (/api/agents): no email address.
    user = {k: getattr(row, k) for k in ("id", "name", "role", "is_active", "is_bot")}
    return {"user": user, "inbox_ids": sorted(int(r[0]) for r in members)}


async def fresh_id(conn: Any, table: sa.Table, deleted: str) -> dict[str, int]:
    """``{"id": n}`` for an INSERT into ``table`` on SQLite: an id no row ever had.

    SQLite (without AUTOINCREMENT) gives a new row the highest id + 1, so deleting the
    newest inbox or team would hand its id to the next one, and everything that still
    names the old id (automation rules, saved views, identities scoped to the inbox)
    would silently apply to the new one. Deletions are in the audit log (``deleted``:
    its action), so the next id is above those too. PostgreSQL's sequences never reuse
    an id: ``{}`` there, the sequence decides."""
    if conn.dialect.name != "sqlite":
        return {}
    a = t.audit_log.c
    top = (
        await conn.execute(
            sa.select(
                sa.func.max(table.c.id),
                sa.select(sa.func.max(sa.cast(a.target_id, sa.Integer)))
                .where(a.action == deleted)
                .scalar_subquery(),
            )
        )
    ).one()
    return {"id": max(int(top[0] or 0), int(top[1] or 0)) + 1}


async def create_team(ctx: AppContext, name: str, member_ids: list[int]) -> dict[str, Any]:
    try:
        async with ctx.db.write() as conn:
            team_id = (
                await conn.execute(
                    t.teams.insert()
                    .values(
                        name=name,
                        created_at=utcnow(),
                        **await fresh_id(conn, t.teams, "team.delete"),
                    )
                    .returning(t.teams.c.id)
                )
            ).scalar_one()
            await _set_team_members(conn, team_id, member_ids)
            await audit.record(
                conn,
                "team.create",
                target_type="team",
                target_id=team_id,
                details={"name": name, "member_ids": sorted(member_ids)},
            )
    except IntegrityError:
        raise Conflict(f"name: a team called {name!r} exists, or an agent id is unknown") from None
    return {"id": team_id, "name": name, "member_ids": sorted(member_ids)}


async def _set_team_members(conn: Any, team_id: int, member_ids: list[int]) -> None:
    await conn.execute(sa.delete(t.team_members).where(t.team_members.c.team_id == team_id))
    if member_ids:
        await conn.execute(
            t.team_members.insert(), [{"team_id": team_id, "user_id": u} for u in set(member_ids)]
        )


async def update_team(
    ctx: AppContext, team_id: int, name: str | None, member_ids: list[int] | None
) -> dict[str, Any]:
    try:
        async with ctx.db.write() as conn:
            row = (await conn.execute(sa.select(t.teams).where(t.teams.c.id == team_id))).first()
            if row is None:
                raise NotFound(f"team {team_id} not found")
            if name is not None:
                await conn.execute(
                    sa.update(t.teams).where(t.teams.c.id == team_id).values(name=name)
                )
            if member_ids is not None:
                await _set_team_members(conn, team_id, member_ids)
            await audit.record(
                conn,
                "team.update",
                target_type="team",
                target_id=team_id,
                details={"name": name, "member_ids": member_ids},
            )
            members = [
                r.user_id
                for r in (
                    await conn.execute(
                        sa.select(t.team_members.c.user_id).where(
                            t.team_members.c.team_id == team_id
                        )
                    )
                ).all()
            ]
    except IntegrityError:
        raise Conflict(f"name: a team called {name!r} exists, or an agent id is unknown") from None
    return {"id": team_id, "name": name or row.name, "member_ids": sorted(members)}


def _adapter(kind: str) -> Any:
    if kind not in ADAPTERS:
        raise InvalidInput(f"kind: expected one of {', '.join(sorted(ADAPTERS))}, got {kind!r}")
    return ADAPTERS[kind]


def split_config(kind: str, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate with the adapter, then separate secrets (encrypted) from plain settings."""
    adapter = _adapter(kind)
    validate = getattr(adapter, "validate_config", None)
    try:
        clean = validate(config) if validate else dict(config)
    except ConfigInvalid as exc:
        raise InvalidInput(f"config.{exc.reason}") from None
    secret_names = adapter.capabilities.secret_fields
    plain = {k: v for k, v in clean.items() if k not in secret_names}
    secrets = {k: v for k, v in clean.items() if k in secret_names and v not in (None, "")}
    return plain, secrets


def _check_hours(hours: Mapping[str, Any] | None) -> None:
    if hours is None:
        return
    try:
        BusinessHours.from_json(dict(hours))
    except ValueError as exc:
        raise InvalidInput(f"business_hours: {exc}") from None


async def create_inbox(
    ctx: AppContext,
    *,
    name: str,
    kind: str,
    config: Mapping[str, Any],
    business_hours: Mapping[str, Any] | None = None,
    frt_targets: Mapping[str, Any] | None = None,
    nrt_targets: Mapping[str, Any] | None = None,
    member_ids: list[int] | None = None,
) -> dict[str, Any]:
    plain, secrets = split_config(kind, config)
    _check_hours(business_hours)
    clock.check_targets("frt_targets", frt_targets)
    clock.check_targets("nrt_targets", nrt_targets)
    async with transaction(ctx) as tx:
        row = (
            await tx.conn.execute(
                t.inboxes.insert()
                .values(
                    **await fresh_id(tx.conn, t.inboxes, "inbox.delete"),
                    name=name,
                    kind=kind,
                    public_key=new_token(16),
                    config=plain,
                    secrets=ctx.secrets.encrypt_json(secrets) if secrets else None,
                    business_hours=business_hours,
                    frt_targets=frt_targets,
                    nrt_targets=nrt_targets,
                    is_active=True,
                    created_at=utcnow(),
                )
                .returning(t.inboxes)
            )
        ).one()
        if member_ids:
            await tx.conn.execute(
                t.inbox_members.insert(),
                [{"inbox_id": row.id, "user_id": u} for u in set(member_ids)],
            )
        await audit.record(
            tx.conn,
            "inbox.create",
            target_type="inbox",
            target_id=row.id,
            details={
                "name": name,
                "kind": kind,
                "config_keys": sorted(config),
                "member_ids": sorted(set(member_ids or [])),
            },
        )
        data = inbox_view(ctx, row)
        # member_ids lets connected sockets start showing the new inbox in stream order
        await tx.emit(
            EventType.INBOX_UPDATED,
            {"inbox": _public_inbox(data), "member_ids": sorted(set(member_ids or []))},
            inbox_id=row.id,
        )
    if ctx.channels is not None:
        await ctx.channels.reload(row.id)
    return data


async def update_inbox(ctx: AppContext, inbox_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    async with transaction(ctx) as tx:
        row = (
            await tx.conn.execute(sa.select(t.inboxes).where(t.inboxes.c.id == inbox_id))
        ).first()
        if row is None:
            raise NotFound(f"inbox {inbox_id} not found")
        values = _inbox_values(ctx, row, fields)
        if values:
            await tx.conn.execute(
                sa.update(t.inboxes).where(t.inboxes.c.id == inbox_id).values(**values)
            )
        await audit.record(
            tx.conn,
            "inbox.update",
            target_type="inbox",
            target_id=inbox_id,
            details={"fields": sorted(fields), "config_keys": sorted(fields.get("config") or {})},
        )
        row = (await tx.conn.execute(sa.select(t.inboxes).where(t.inboxes.c.id == inbox_id))).one()
        if any(name in values for name in _CLOCK_FIELDS):
            await clock.settings_changed(tx, row)
        data = inbox_view(ctx, row)
        await tx.emit(EventType.INBOX_UPDATED, {"inbox": _public_inbox(data)}, inbox_id=inbox_id)
    if ctx.channels is not None:
        await ctx.channels.reload(inbox_id)
    return data


#: Settings the response clock reads: changing one moves open deadlines (docs/frt.md).
_CLOCK_FIELDS = ("business_hours", "frt_targets", "nrt_targets")


def _inbox_values(ctx: AppContext, row: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: fields[k] for k in ("name", "is_active", *_CLOCK_FIELDS[1:]) if k in fields}
    for name in _CLOCK_FIELDS[1:]:
        clock.check_targets(name, values.get(name))
    if "business_hours" in fields:
        _check_hours(fields["business_hours"])
        values["business_hours"] = fields["business_hours"]
    if "config" in fields:
        stored = ctx.secrets.decrypt_json(row.secrets)
        merged = {**(row.config or {}), **stored, **fields["config"]}
        plain, secrets = split_config(row.kind, merged)
        values["config"] = plain
        values["secrets"] = ctx.secrets.encrypt_json(secrets) if secrets else None
    return values


def inbox_view(ctx: AppContext, row: Any) -> dict[str, Any]:
    adapter = ADAPTERS.get(row.kind)
    names = adapter.capabilities.secret_fields if adapter else ()
    stored = set(ctx.secrets.decrypt_json(row.secrets))
    return serialize.inbox(row, names, stored)


def _public_inbox(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("id", "name", "kind", "is_active")}


async def set_inbox_members(ctx: AppContext, inbox_id: int, user_ids: list[int]) -> list[int]:
    async with transaction(ctx) as tx:
        exists = (
            await tx.conn.execute(sa.select(t.inboxes.c.id).where(t.inboxes.c.id == inbox_id))
        ).first()
        if exists is None:
            raise NotFound(f"inbox {inbox_id} not found")
        known = {
            r.id
            for r in (
                await tx.conn.execute(sa.select(t.users.c.id).where(t.users.c.id.in_(user_ids)))
            ).all()
        }
        if unknown := set(user_ids) - known:
            raise InvalidInput(f"user_ids: unknown agent(s) {sorted(unknown)}")
        await tx.conn.execute(
            sa.delete(t.inbox_members).where(t.inbox_members.c.inbox_id == inbox_id)
        )
        if user_ids:
            await tx.conn.execute(
                t.inbox_members.insert(),
                [{"inbox_id": inbox_id, "user_id": u} for u in set(user_ids)],
            )
        await audit.record(
            tx.conn,
            "inbox.members",
            target_type="inbox",
            target_id=inbox_id,
            details={"member_ids": sorted(set(user_ids))},
        )
        await tx.emit(
            EventType.INBOX_UPDATED,
            {"inbox": {"id": inbox_id}, "member_ids": sorted(set(user_ids))},
            inbox_id=inbox_id,
        )
    return sorted(set(user_ids))


async def create_canned(ctx: AppContext, short_code: str, content: str) -> dict[str, Any]:
    try:
        async with ctx.db.write() as conn:
            row = (
                await conn.execute(
                    t.canned_responses.insert()
                    .values(short_code=short_code, content=content, created_at=utcnow())
                    .returning(t.canned_responses)
                )
            ).one()
            await audit.record(
                conn,
                "canned.create",
                target_type="canned",
                target_id=row.id,
                details={"short_code": short_code},
            )
    except IntegrityError:
        raise Conflict(f"short_code: {short_code!r} is already used") from None
    return {"id": row.id, "short_code": row.short_code, "content": row.content}


async def update_canned(ctx: AppContext, canned_id: int, content: str) -> dict[str, Any]:
    async with ctx.db.write() as conn:
        row = (
            await conn.execute(
                sa.update(t.canned_responses)
                .where(t.canned_responses.c.id == canned_id)
                .values(content=content)
                .returning(t.canned_responses)
            )
        ).first()
        if row is not None:
            await audit.record(conn, "canned.update", target_type="canned", target_id=canned_id)
    if row is None:
        raise NotFound(f"canned response {canned_id} not found")
    return {"id": row.id, "short_code": row.short_code, "content": row.content}


async def delete_canned(ctx: AppContext, canned_id: int) -> None:
    async with ctx.db.write() as conn:
        done = await conn.execute(
            sa.delete(t.canned_responses).where(t.canned_responses.c.id == canned_id)
        )
        if done.rowcount:
            await audit.record(conn, "canned.delete", target_type="canned", target_id=canned_id)
    if done.rowcount == 0:
        raise NotFound(f"canned response {canned_id} not found")
