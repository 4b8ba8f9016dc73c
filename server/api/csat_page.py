"""The page a survey link opens (docs/csat.md): five choices and a comment, no script.

Plain HTML with a form that posts back to the same address, so it works in any mail
client's browser and on phones, in the survey's language; everything interpolated is
escaped. The JSON twin is ``POST /api/csat/{token}``.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from server.actions import csat as actions
from server.domain import csat
from server.exceptions import IllegalState, InvalidInput, NotFound
from server.storage.schema import utcnow

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1a1a1a}"
    "main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px}"
    "fieldset{border:0;padding:0;display:flex;flex-wrap:wrap;gap:.5rem}legend{margin-bottom:.5rem}"
    "label.r{flex:1 1 5rem;border:1px solid #bbb;border-radius:6px;padding:.6rem;text-align:center}"
    "label.r input{display:block;margin:0 auto .3rem}"
    "textarea{width:100%;box-sizing:border-box;min-height:6rem;font:inherit}"
    "button{margin-top:1rem;padding:.6rem 1.4rem;font:inherit;background:#0b5cad;color:#fff;"
    "border:0;border-radius:6px}.note{color:#555}.error{color:#a00}"
    "@media (prefers-color-scheme:dark){body{background:#15171a;color:#eee}"
    "main{background:#22252a}label.r{border-color:#555}.note{color:#bbb}.error{color:#f88}}"
)


def routes() -> list[BaseRoute]:
    return [Route("/csat/{token}", page, methods=["GET", "POST"])]


async def page(request: Request) -> HTMLResponse:
    token = request.path_params["token"]
    ctx = request.app.state.ctx
    try:
        async with ctx.db.read() as conn:
            survey = await actions.survey_by_token(conn, token)
    except NotFound:
        return _render("en", None, csat.text("en", "unknown"), status=404)
    lang = survey.language
    if request.method == "POST":
        return await _submit(request, survey, lang)
    if utcnow() > survey.editable_until:
        return _render(lang, None, csat.text(lang, "closed"), status=410)
    async with ctx.db.read() as conn:
        settings = await actions.settings_for(conn, survey.inbox_id)
    return _render(lang, survey, None, question=settings["question"])


async def _submit(request: Request, survey: Any, lang: str) -> HTMLResponse:
    form = await request.form(max_files=0, max_fields=4, max_part_size=8192)
    try:
        row = await actions.answer(
            request.app.state.ctx,
            request.path_params["token"],
            form.get("rating"),
            form.get("comment"),
        )
    except IllegalState:
        return _render(lang, None, csat.text(lang, "closed"), status=410)
    except InvalidInput as exc:
        key = "too_long" if "comment" in exc.message else "pick"
        return _render(lang, survey, csat.text(lang, key), error=True, status=422)
    until = row.editable_until.date().isoformat()
    return _render(lang, row, csat.text(lang, "thanks").format(until=until))


def _render(
    lang: str,
    survey: Any,
    message: str | None,
    *,
    question: str | None = None,
    error: bool = False,
    status: int = 200,
) -> HTMLResponse:
    e = html.escape
    title = csat.text(lang, "title")
    body = [f"<h1>{e(title)}</h1>"]
    if message:
        body.append(f'<p class="{"error" if error else "note"}" role="status">{e(message)}</p>')
    if survey is not None and not (message and not error):
        body.append(_form(lang, survey, question))
    page = (
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>"
    )
    return HTMLResponse(page, status_code=status, headers={"cache-control": "no-store"})


def _form(lang: str, survey: Any, question: str | None) -> str:
    e = html.escape
    choices = "".join(
        f'<label class="r"><input type="radio" name="rating" value="{r}" required'
        f"{' checked' if survey.rating == r else ''}>{r}<br>{e(csat.text(lang, str(r)))}</label>"
        for r in csat.RATINGS
    )
    asked = question or csat.text(lang, "question")
    comment = e(survey.comment or "")
    label = e(csat.text(lang, "comment"))
    return (
        f'<form method="post"><fieldset><legend><strong>{e(asked)}</strong></legend>'
        f"{choices}</fieldset>"
        f'<p><label for="comment">{label}</label><textarea id="comment" name="comment" '
        f'maxlength="{csat.MAX_COMMENT}">{comment}</textarea></p>'
        f'<button type="submit">{e(csat.text(lang, "send"))}</button></form>'
    )
