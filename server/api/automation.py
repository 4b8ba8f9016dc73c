"""Routing and automation endpoints (docs/automation.md): assignment policy and capacity,
rules (admins), notifications (every agent), macros."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.actions import assignment, macros, notifications, rule_store
from server.actions.access import require_admin
from server.api.auth import actor_from
from server.api.routing import Api, Body, path_int, query_id, query_int

api = Api()
TAG = "automation"


class PolicyBody(Body):
    policy: Literal["off", "round_robin", "least_loaded"]


class CapacityBody(Body):
    max_open: int | None = Field(default=None, ge=0, le=10_000)
    inbox_limits: dict[str, Annotated[int, Field(ge=0, le=10_000)]] = Field(
        default_factory=dict, max_length=1000
    )


class RuleBody(Body):
    name: str = Field(min_length=1, max_length=200)
    trigger: str = Field(min_length=1, max_length=40)
    params: dict[str, Any] = Field(default_factory=dict)
    conditions: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=10)
    is_active: bool = True


class ReadBody(Body):
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(default=None, max_length=1000)


class PrefsBody(Body):
    prefs: dict[str, dict[str, bool]] = Field(max_length=20)


class MacroBody(Body):
    name: str = Field(min_length=1, max_length=200)
    visibility: Literal["shared", "personal"] = "personal"
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=10)


async def _admin(request: Request) -> Any:
    actor = await actor_from(request)
    require_admin(actor)
    return actor


# Assignment ---------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/admin/inboxes/{id}/routing",
    tag=TAG,
    auth="admin",
    summary="The inbox's auto-assignment policy (off, round_robin, least_loaded)",
)
async def get_routing(request: Request) -> Any:
    await _admin(request)
    return await assignment.get_policy(request.app.state.ctx, path_int(request, "id"))


@api.route(
    "PUT",
    "/api/admin/inboxes/{id}/routing",
    body=PolicyBody,
    tag=TAG,
    auth="admin",
    summary="Set the inbox's auto-assignment policy; queued conversations are served at once",
)
async def put_routing(request: Request, body: PolicyBody) -> Any:
    await _admin(request)
    return await assignment.set_policy(request.app.state.ctx, path_int(request, "id"), body.policy)


@api.route(
    "GET",
    "/api/admin/agents/{id}/capacity",
    tag=TAG,
    auth="admin",
    summary="An agent's capacity: max open conversations, globally and per inbox",
)
async def get_capacity(request: Request) -> Any:
    await _admin(request)
    return await assignment.get_capacity(request.app.state.ctx, path_int(request, "id"))


@api.route(
    "PUT",
    "/api/admin/agents/{id}/capacity",
    body=CapacityBody,
    tag=TAG,
    auth="admin",
    summary="Set an agent's capacity (null: no limit; inbox_limits: {inbox id: limit})",
)
async def put_capacity(request: Request, body: CapacityBody) -> Any:
    await _admin(request)
    return await assignment.set_capacity(
        request.app.state.ctx, path_int(request, "id"), body.max_open, body.inbox_limits
    )


# Rules --------------------------------------------------------------------------------


@api.route("GET", "/api/admin/rules", tag=TAG, auth="admin", summary="Automation rules")
async def list_rules(request: Request) -> Any:
    await _admin(request)
    return {"rules": await rule_store.list_rules(request.app.state.ctx)}


@api.route(
    "POST",
    "/api/admin/rules",
    body=RuleBody,
    status=201,
    tag=TAG,
    auth="admin",
    summary="Create a rule: when trigger, if conditions, then actions (422 names a bad field)",
)
async def create_rule(request: Request, body: RuleBody) -> Any:
    actor = await _admin(request)
    return await rule_store.save(request.app.state.ctx, actor, body.model_dump())


@api.route("GET", "/api/admin/rules/{id}", tag=TAG, auth="admin", summary="One rule")
async def get_rule(request: Request) -> Any:
    await _admin(request)
    return await rule_store.get(request.app.state.ctx, path_int(request, "id"))


@api.route(
    "PUT", "/api/admin/rules/{id}", body=RuleBody, tag=TAG, auth="admin", summary="Replace a rule"
)
async def put_rule(request: Request, body: RuleBody) -> Any:
    actor = await _admin(request)
    ctx = request.app.state.ctx
    return await rule_store.save(ctx, actor, body.model_dump(), path_int(request, "id"))


@api.route("DELETE", "/api/admin/rules/{id}", tag=TAG, auth="admin", summary="Delete a rule")
async def delete_rule(request: Request) -> Any:
    await _admin(request)
    await rule_store.delete(request.app.state.ctx, path_int(request, "id"))
    return Response(status_code=204)


@api.route(
    "GET",
    "/api/admin/rules/{id}/runs",
    tag=TAG,
    auth="admin",
    summary="A rule's latest runs with the outcome of every action (failures included)",
    query={"limit": {"type": "integer"}},
)
async def rule_runs(request: Request) -> Any:
    await _admin(request)
    ctx = request.app.state.ctx
    limit = query_int(request, "limit", 50, hi=200)
    return {"runs": await rule_store.runs(ctx, path_int(request, "id"), limit)}


# Notifications ------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/notifications",
    tag=TAG,
    summary="My notifications, newest first (unread=1, before=<id>, limit) and the unread count",
    query={
        "unread": {"type": "string"},
        "before": {"type": "integer"},
        "limit": {"type": "integer"},
    },
)
async def list_notifications(request: Request) -> Any:
    actor = await actor_from(request)
    return await notifications.list_for(
        request.app.state.ctx,
        actor,
        unread_only=request.query_params.get("unread") in ("1", "true"),
        limit=query_int(request, "limit", 50, hi=200),
        before=query_id(request, "before"),
    )


@api.route("GET", "/api/notifications/unread", tag=TAG, summary="My unread notification count")
async def unread(request: Request) -> Any:
    actor = await actor_from(request)
    return await notifications.unread_count(request.app.state.ctx, actor)


@api.route(
    "POST",
    "/api/notifications/read",
    body=ReadBody,
    tag=TAG,
    summary="Mark notifications read (ids; without ids: all of mine)",
)
async def mark_read(request: Request, body: ReadBody) -> Any:
    actor = await actor_from(request)
    return await notifications.mark_read(request.app.state.ctx, actor, body.ids)


@api.route("GET", "/api/notifications/preferences", tag=TAG, summary="My notification preferences")
async def get_prefs(request: Request) -> Any:
    actor = await actor_from(request)
    return {"prefs": await notifications.get_prefs(request.app.state.ctx, actor)}


@api.route(
    "PUT",
    "/api/notifications/preferences",
    body=PrefsBody,
    tag=TAG,
    summary="Set which notifications reach me in the app, on the desktop and by email",
)
async def put_prefs(request: Request, body: PrefsBody) -> Any:
    actor = await actor_from(request)
    return {"prefs": await notifications.set_prefs(request.app.state.ctx, actor, body.prefs)}


# Macros -------------------------------------------------------------------------------


@api.route("GET", "/api/macros", tag=TAG, summary="Shared macros and my personal ones")
async def list_macros(request: Request) -> Any:
    actor = await actor_from(request)
    return {"macros": await macros.list_for(request.app.state.ctx, actor)}


@api.route(
    "POST",
    "/api/macros",
    body=MacroBody,
    status=201,
    tag=TAG,
    summary="Create a macro (a named list of actions; shared macros need an admin)",
)
async def create_macro(request: Request, body: MacroBody) -> Any:
    actor = await actor_from(request)
    return await macros.save(request.app.state.ctx, actor, body.model_dump())


@api.route("PUT", "/api/macros/{id}", body=MacroBody, tag=TAG, summary="Replace a macro")
async def put_macro(request: Request, body: MacroBody) -> Any:
    actor = await actor_from(request)
    ctx = request.app.state.ctx
    return await macros.save(ctx, actor, body.model_dump(), path_int(request, "id"))


@api.route("DELETE", "/api/macros/{id}", tag=TAG, summary="Delete a macro")
async def delete_macro(request: Request) -> Any:
    actor = await actor_from(request)
    await macros.delete(request.app.state.ctx, actor, path_int(request, "id"))
    return Response(status_code=204)


@api.route(
    "POST",
    "/api/conversations/{id}/macros/{macro_id}",
    tag=TAG,
    summary="Run a macro on a conversation (one transaction; failures are listed, not hidden)",
)
async def run_macro(request: Request) -> Any:
    actor = await actor_from(request)
    return await macros.run(
        request.app.state.ctx, actor, path_int(request, "id"), path_int(request, "macro_id")
    )
