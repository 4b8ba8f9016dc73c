"""docker-compose.yml runs the production shape; no Docker engine here, so check the file.

Two app nodes, PostgreSQL and Redis, health checks, persistent volumes, and every
SWITCHBOARD_* variable a real setting that parses (the same shape the multi-node tests
run natively).
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from server.settings import PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("app-1", "app-2")
SETTING_NAMES = {PREFIX + f.name.upper() for f in fields(Settings)}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def resolved(value: str) -> str:
    """``${VAR:?msg}`` / ``${VAR:-default}`` filled as compose would (sample values)."""

    def fill(match: re.Match[str]) -> str:
        name, kind, default = match.groups()
        if kind == "-":
            return default or ""
        return "k" * 40 if "SECRET" in name else "sample-password"

    return re.sub(r"\$\{(\w+)(?::([-?])([^}]*))?\}", fill, value)


def test_the_services_are_two_app_nodes_postgres_and_redis(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {*APPS, "postgres", "redis"}
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    assert compose["services"]["redis"]["image"].startswith("redis:")


def test_every_service_has_a_health_check_and_persistent_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        assert service["healthcheck"]["test"], name
        mounts = [v.split(":")[0] for v in service["volumes"]]
        assert mounts and set(mounts) <= declared, name
    used = [v.split(":")[0] for s in compose["services"].values() for v in s["volumes"]]
    assert len(used) == len(set(used)), "two services share a volume"


def test_app_nodes_wait_for_healthy_dependencies(compose: dict[str, Any]) -> None:
    for app in APPS:
        depends = compose["services"][app]["depends_on"]
        assert depends == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }


def test_app_environment_names_are_real_settings_and_parse(compose: dict[str, Any]) -> None:
    node_ids = set()
    for app in APPS:
        env = {k: resolved(str(v)) for k, v in compose["services"][app]["environment"].items()}
        unknown = {k for k in env if k.startswith(PREFIX)} - SETTING_NAMES
        assert not unknown, f"{app}: not settings in server/settings.py: {sorted(unknown)}"
        settings = load_settings(environ=env)  # raises ConfigError on a bad value
        assert urlsplit(settings.database_url).hostname == "postgres"
        assert urlsplit(settings.database_url).scheme == "postgresql"
        assert urlsplit(settings.redis_url).hostname == "redis"
        assert settings.host == "0.0.0.0" and settings.ws_compression is False
        node_ids.add(settings.node_id)
    assert len(node_ids) == len(APPS) and "" not in node_ids


def test_the_image_serves_what_the_app_nodes_expect(compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "EXPOSE 8000" in dockerfile
    for app in APPS:
        service = compose["services"][app]
        assert service["build"] == "."
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert all(p.endswith(":8000") for p in service["ports"])
