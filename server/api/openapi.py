"""The OpenAPI 3.1 document, generated from the endpoint declarations."""

from __future__ import annotations

import re
from typing import Any

from server.api.routing import Endpoint

_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "agent": [{"session": []}, {"bearer": []}],
    "admin": [{"session": []}, {"bearer": []}],
    "inbox-token": [{"bearer": []}],
    "none": [],
    "visitor": [{"bearer": []}],
}


def document(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for e in endpoints:
        op = _operation(e, schemas)
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Switchboard API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "sb_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _operation(e: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": e.summary,
        "operationId": e.handler.__name__,
        "tags": [e.tag],
        "security": _SECURITY.get(e.auth, []),
        "parameters": [
            {
                "name": p,
                "in": "path",
                "required": True,
                "schema": {"type": "string" if p == "key" else "integer"},
            }
            for p in re.findall(r"{(\w+)}", e.path)
        ]
        + [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in e.query.items()
        ],
        "responses": {
            str(e.status): {"description": "success"},
            "default": {
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    schemas.setdefault(
        "Error",
        {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {},
                    },
                }
            },
        },
    )
    body = e.body or e.doc_body
    if body is not None:
        schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[body.__name__] = schema
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}
            },
        }
    return op
