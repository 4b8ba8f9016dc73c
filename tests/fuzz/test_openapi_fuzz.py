"""Schemathesis against the served /api/openapi.json, as an agent, as an admin and
anonymously, on SQLite and PostgreSQL (DESIGN: "no input can produce a 5xx").

The property, for every documented operation and every generated request (valid and
invalid by the schema): no 5xx, and every 4xx is the documented JSON error
``{"error": {"code": str, "message": str, ...}}``.

``SWITCHBOARD_FUZZ_EXAMPLES`` sets the examples per operation, mode and role (default 1:
about 2,000 requests per ``make test``); README.md ("Fuzzing") has the long run.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.fuzz.conftest import FuzzTarget

EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "1"))
#: Operations that end the fuzzer's own session or credentials. They take no input worth
#: fuzzing as their owner; anonymously (401) they are fuzzed like every other.
ENDS_OWN_SESSION = re.compile(r"logout|revoke|password|sessions|tokens/\{")
#: Which credential each documented ``auth`` kind gets, per role.
CREDENTIAL = {
    "agent": {"agent": "agent", "admin": "agent", "visitor": "visitor", "inbox-token": "inbound"},
    "admin": {"agent": "admin", "admin": "admin", "visitor": "visitor", "inbox-token": "inbound"},
    "anonymous": {},
}


def _auth_kinds(openapi: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(METHOD, path) → the endpoint's auth kind, read back from the app's declarations."""
    from server.app import all_endpoints

    return {(e.method, e.path): e.auth for e in all_endpoints()}


def _operations(target: FuzzTarget) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{target.base}/api/openapi.json", timeout=30)
    return [result.ok() for result in schema.get_all_operations()]


def _headers(target: FuzzTarget, role: str, auth: str) -> dict[str, str]:
    credential = CREDENTIAL[role].get(auth)
    return {"authorization": f"Bearer {target.tokens[credential]}"} if credential else {}


def _aim(target: FuzzTarget, role: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
    """Point key parameters at real inboxes and keep ids off the fuzzer's own users.

    Anonymously, keys stay as generated (the lookup of any key is fuzzed too).
    """
    params = dict(params)
    if role != "anonymous" and "key" in params:
        if path.startswith("/api/widget/"):
            params["key"] = target.keys["webchat"]
        elif path.startswith("/api/channels/api/"):
            params["key"] = target.keys["api"]
        elif path.startswith("/webhooks/"):
            params["key"] = target.keys["telegram" if role == "admin" else "messenger"]
    if path.startswith("/api/admin/agents/") and params.get("id") in target.user_ids.values():
        params["id"] = 10**6
    return params


def _problem(response: Any) -> str | None:
    """Why a response breaks the property, or None."""
    status = response.status_code
    if status >= 500:
        return f"answered {status}"
    if status < 400:
        return None
    ctype = (response.headers.get("content-type") or [""])[0]  # schemathesis: name → values
    if not ctype.startswith("application/json"):
        return f"{status} is not JSON: {ctype}"
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return f"{status} body is not a JSON object"
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    ):
        return f"{status} body is not the documented error: {response.text[:200]}"
    return None


def _fuzz(target: FuzzTarget, role: str, operation: Any, auth: str) -> str | None:
    """Run one operation's examples; a description of the first (shrunk) failure, or None."""
    headers = _headers(target, role, auth)
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, headers=headers or None),
        operation.as_strategy(GenerationMode.NEGATIVE, headers=headers or None),
    )

    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.path_parameters = _aim(target, role, operation.path, case.path_parameters or {})
        response = case.call(base_url=target.base, session=target.session, timeout=30)
        problem = _problem(response)
        assert problem is None, f"{problem}\n{case.as_curl_command()}"

    try:
        run()
    except AssertionError as exc:
        return f"{operation.method.upper()} {operation.path}: {exc}"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("role", ["agent", "admin", "anonymous"])
def test_no_5xx_and_every_4xx_is_the_documented_error(fuzz_target: FuzzTarget, role: str) -> None:
    kinds = _auth_kinds({})
    failures: list[str] = []
    for operation in _operations(fuzz_target):
        method, path = operation.method.upper(), operation.path
        if role != "anonymous" and ENDS_OWN_SESSION.search(path):
            continue
        failure = _fuzz(fuzz_target, role, operation, kinds.get((method, path), "none"))
        if failure:
            failures.append(failure)
        assert fuzz_target.alive(), f"the server died during {method} {path}"
        for who in ("agent", "admin"):  # an operation may have ended a session: log in again
            if role == who and not fuzz_target.token_works(who):
                fuzz_target.login(who)
    assert not failures, "\n\n".join(failures)


def test_every_query_parameter_a_handler_reads_is_documented() -> None:
    """The fuzzer generates only what the document declares: an undeclared parameter is
    never fuzzed. Reads through a helper are not seen here; direct reads are."""
    import inspect

    from server.app import all_endpoints

    reads = re.compile(r'query_params\.get\(\s*"([^"]+)"|query_(?:int|id)\(request, "([^"]+)"')
    missing = {
        f"{e.method} {e.path}": sorted(name for name in names if name not in e.query)
        for e in all_endpoints()
        if (names := {a or b for a, b in reads.findall(inspect.getsource(e.handler))})
    }
    assert {k: v for k, v in missing.items() if v} == {}
