"""What a Meta webhook delivery means, as plain data (shared by the three channels)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class MediaRef:
    """An attachment as the platform describes it: a CDN url or a media id to resolve."""

    kind: str  # image | video | audio | file | sticker | document | location …
    url: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A message in the thread: from the customer, or an echo of one sent by the business."""

    account_id: str  # page id / Instagram account id / phone number id it was sent to
    user_id: str  # PSID / IGSID / wa_id: the customer
    mid: str
    text: str | None
    sent_at: datetime | None
    media: tuple[MediaRef, ...] = ()
    name: str | None = None
    reply_to: str | None = None
    is_echo: bool = False
    app_id: str | None = None  # echoes: the app that sent it
    metadata: str | None = None  # echoes: what the sender attached (ours: see marker.py)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """Delivery/read/failure news about messages the business sent."""

    account_id: str
    user_id: str
    status: str  # sent | delivered | read | failed
    mids: tuple[str, ...] = ()
    watermark: datetime | None = None  # Messenger: everything sent before this instant
    at: datetime | None = None
    error: str | None = None


Event = Incoming | Receipt
