"""CSAT over HTTP (docs/csat.md): per-inbox settings, the customer's answer, reports."""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from server.actions import csat
from server.actions.access import require_admin, visible_inbox_ids
from server.api.auth import actor_from
from server.api.reports import period
from server.api.routing import Api, Body, path_int
from server.exceptions import InvalidInput
from server.reporting import csat as figures

api = Api()


class SettingsBody(Body):
    enabled: bool
    language: str = "en"
    question: str | None = Field(default=None, max_length=500)


class AnswerBody(Body):
    rating: int
    comment: str | None = Field(default=None, max_length=2000)


@api.route("GET", "/api/admin/inboxes/{id}/csat", tag="admin", summary="An inbox's CSAT settings")
async def get_settings(request: Request) -> Any:
    require_admin(await actor_from(request))
    async with request.app.state.ctx.db.read() as conn:
        return await csat.settings_for(conn, path_int(request, "id"))


@api.route(
    "PUT",
    "/api/admin/inboxes/{id}/csat",
    body=SettingsBody,
    tag="admin",
    summary="Turn CSAT surveys on or off for an inbox; language (en, pl, el) and question",
)
async def put_settings(request: Request, body: SettingsBody) -> Any:
    require_admin(await actor_from(request))
    ctx = request.app.state.ctx
    return await csat.save_settings(
        ctx, path_int(request, "id"), body.enabled, body.language, body.question
    )


@api.route(
    "POST",
    "/api/csat/{token}",
    body=AnswerBody,
    auth="none",
    tag="csat",
    summary="A customer's rating (1-5) and comment, by the survey link's token; changeable "
    "until the survey closes",
)
async def answer(request: Request, body: AnswerBody) -> Any:
    row = await csat.answer(
        request.app.state.ctx, request.path_params["token"], body.rating, body.comment
    )
    return {"survey": csat.survey_json(row)}


@api.route(
    "GET",
    "/api/reports/csat",
    tag="reports",
    summary="CSAT per group_by=agent|team|inbox|channel|label over from..to: surveys sent, "
    "answered, response rate %, average rating, satisfied % (4-5), distribution; format=csv",
    query={k: {"type": "string"} for k in ("from", "to", "group_by", "format", "inbox_id")},
)
async def report(request: Request) -> Any:
    actor = await actor_from(request)
    by = request.query_params.get("group_by", "agent")
    if by not in figures.GROUPS:
        raise InvalidInput(f"group_by: expected one of {', '.join(figures.GROUPS)}, got {by!r}")
    start, end = period(request)
    inbox = request.query_params.get("inbox_id")
    if inbox is not None and not (inbox.isascii() and inbox.isdigit()):
        raise InvalidInput(f"inbox_id: expected an integer, got {inbox!r}")
    async with request.app.state.ctx.db.read() as conn:
        visible = await visible_inbox_ids(conn, actor)
        found = await figures.counts(conn, visible, start, end, int(inbox) if inbox else None, by)
        groups = figures.grouped(found, by, await figures.names(conn, by))
    if request.query_params.get("format") == "csv":
        return _csv(groups, by)
    return {"from": start.isoformat(), "to": end.isoformat(), "group_by": by, "groups": groups}


def _csv(groups: list[dict[str, Any]], by: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            by,
            "surveys sent",
            "answered",
            "response rate (%)",
            "average (1-5)",
            "satisfied (%)",
            "1",
            "2",
            "3",
            "4",
            "5",
        ]
    )
    for g in groups:
        d = g["distribution"]
        writer.writerow(
            [
                g["label"],
                g["sent"],
                g["answered"],
                g["response_rate_percent"],
                g["average_rating"],
                g["satisfied_percent"],
                *(d[str(r)] for r in range(1, 6)),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="csat-by-{by}.csv"'},
    )
