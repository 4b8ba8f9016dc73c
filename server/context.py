"""The application context: the long-lived objects every action and route needs."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.crypto import SecretBox
from server.events.backlog import PublishBacklog
from server.events.bus import Bus
from server.settings import Settings
from server.storage.db import Database

if TYPE_CHECKING:
    from server.channels import ChannelManager


@dataclass
class AppContext:
    settings: Settings
    db: Database
    bus: Bus
    secrets: SecretBox
    node_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    #: this process's run of ``node_id``: a node restarted under a fixed SWITCHBOARD_NODE_ID
    #: is a new incarnation, and its dead predecessor's outbox claims are void at once
    boot_id: str = field(default_factory=lambda: secrets.token_hex(6))
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    channels: ChannelManager | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    #: ids of published events not yet marked in the database (see workers/marker.py);
    #: None when no marker worker runs, and publishers mark at once instead.
    unmarked: list[int] | None = None
    #: committed events waiting for the bus after a failed publish (events/backlog.py)
    publish_backlog: PublishBacklog = field(default_factory=PublishBacklog)

    @property
    def incarnation(self) -> str:
        """Who holds outbox claims: the node id plus this process's boot id."""
        return f"{self.node_id}/{self.boot_id}"
