"""Who is acting: an agent/admin/bot (``Actor``) or the system."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: int
    role: str  # agent | admin
    name: str
    is_bot: bool = False
    token_id: int | None = None  # the session or API token that authenticated this request

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
