"""Saved views (docs/views.md): GET/POST /api/views, PUT/DELETE /api/views/{id}."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request

from server import view_counts
from server.actions import saved_views as actions
from server.api.auth import actor_from
from server.api.routing import Api, Body, path_int

api = Api()
TAG = "views"


class ViewBody(Body):
    name: str = Field(min_length=1, max_length=80)
    shared: bool = False
    filters: dict[str, Any] = Field(default_factory=dict, max_length=10)


class ViewPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    shared: bool | None = None
    filters: dict[str, Any] | None = Field(default=None, max_length=10)


@api.route("GET", "/api/views", tag=TAG, summary="My views and shared ones, each with its count")
async def list_views(request: Request) -> Any:
    actor = await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        return {"items": await view_counts.views_of(conn, actor)}


@api.route(
    "POST",
    "/api/views",
    body=ViewBody,
    status=201,
    tag=TAG,
    summary="Save a view: a name and the list's filters (status, inbox_id, team_id, assignee, "
    "label, q, sort); shared views (admins) appear for every agent",
)
async def create_view(request: Request, body: ViewBody) -> Any:
    actor = await actor_from(request)
    filters = await _checked(request, actor, body.filters)
    row = await actions.create(
        request.app.state.ctx, actor, body.name.strip(), body.shared, filters
    )
    return await _answer(request, actor, row)


@api.route(
    "PUT", "/api/views/{id}", body=ViewPatch, tag=TAG, summary="Rename, share or refilter a view"
)
async def update_view(request: Request, body: ViewPatch) -> Any:
    actor = await actor_from(request)
    changes: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = body.name.strip()
    if body.shared is not None:
        changes["shared"] = body.shared
    if body.filters is not None:
        changes["filters"] = await _checked(request, actor, body.filters)
    row = await actions.update(request.app.state.ctx, actor, path_int(request, "id"), changes)
    return await _answer(request, actor, row)


@api.route("DELETE", "/api/views/{id}", tag=TAG, summary="Delete a view")
async def delete_view(request: Request) -> Any:
    actor = await actor_from(request)
    await actions.delete(request.app.state.ctx, actor, path_int(request, "id"))
    return {"ok": True}


async def _checked(request: Request, actor: Any, raw: dict[str, Any]) -> dict[str, str]:
    """Known keys only, and values the list accepts (the count runs the same filters)."""
    filters = actions.clean_filters(raw)
    async with request.app.state.ctx.db.read() as conn:
        await view_counts.count(conn, actor, filters)
    return filters


async def _answer(request: Request, actor: Any, row: Any) -> dict[str, Any]:
    async with request.app.state.ctx.db.read() as conn:
        return {
            **view_counts.view_json(row, actor),
            "count": await view_counts.count(conn, actor, row.filters),
        }
