"""Delivery status notifications (RFC 3464) and external-body parts (RFC 2046) as
sentences an agent can read. Pure.

A bounce's ``message/delivery-status`` part is a list of header blocks: one about the
reporting server, then one per recipient (``Final-Recipient``, ``Action``, ``Status``,
``Diagnostic-Code``). We say, per recipient, "Delivery to x failed: 550 5.1.1 …".
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

_ACTIONS = {
    "failed": "failed",
    "delayed": "is delayed",
    "delivered": "succeeded",
    "relayed": "was relayed",
    "expanded": "was forwarded to a list",
}


@dataclass(frozen=True)
class RecipientStatus:
    recipient: str
    action: str  # failed | delayed | delivered | relayed | expanded ("" when absent)
    status: str  # the enhanced status code, e.g. 5.1.1
    diagnostic: str  # the remote server's answer, e.g. "550 5.1.1 User unknown"

    @property
    def failed(self) -> bool:
        return self.action == "failed" or (not self.action and self.status.startswith("5"))

    def sentence(self) -> str:
        verb = _ACTIONS.get(self.action, "failed" if self.failed else "has status")
        detail = self.diagnostic or (f"status {self.status}" if self.status else "")
        if not detail:
            return f"Delivery to {self.recipient} {verb}."
        return f"Delivery to {self.recipient} {verb}: {detail}"

    def as_dict(self) -> dict[str, str]:
        return {
            "recipient": self.recipient,
            "action": self.action,
            "status": self.status,
            "diagnostic": self.diagnostic,
        }


def delivery_statuses(part: Message) -> list[RecipientStatus]:
    """One entry per recipient block of a message/delivery-status part."""
    blocks = _blocks(part)
    found = []
    for block in blocks:
        recipient = _typed(block.get("Final-Recipient") or block.get("Original-Recipient"))
        if not recipient:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        found.append(
            RecipientStatus(
                recipient=recipient[:320],
                action=str(block.get("Action") or "").strip().lower()[:20],
                status=str(block.get("Status") or "").strip()[:20],
                diagnostic=_typed(block.get("Diagnostic-Code"))[:500],
            )
        )
    if not found and blocks:  # a status without any recipient block: still say something
        status = str(blocks[0].get("Status") or "").strip()[:20]
        found.append(RecipientStatus("the recipient", "", status, ""))
    return found


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    return []


def _typed(value: object) -> str:
    """``rfc822; x@y`` → ``x@y``; ``smtp; 550 …`` → ``550 …`` (RFC 3464 typed fields)."""
    text = " ".join(str(value or "").split())
    kind, sep, rest = text.partition(";")
    if sep and kind.strip().isascii() and " " not in kind.strip():
        return rest.strip()
    return text


def external_body_sentence(part: Message) -> str:
    """What a message/external-body part points at (its content is not in the mail)."""
    access = str(part.get_param("access-type") or "unknown").lower()
    where = [
        str(part.get_param(key))
        for key in ("url", "name", "site", "directory", "server")
        if part.get_param(key)
    ]
    place = f": {' '.join(where)[:500]}" if where else ""
    return f"A part of this email is stored elsewhere (access type {access[:40]}){place}"
