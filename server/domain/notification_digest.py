"""The words of a notification e-mail digest (docs/automation.md "E-mail digests").

Pure: notifications in, subject and plain-text body out. The server does not store an
agent's language (the web app chooses it in the browser), so digests are in English.
"""

from __future__ import annotations

from dataclasses import dataclass

NOTE_CHARS = 200  # of a mention line: a private note is internal, so only its opening


@dataclass(frozen=True)
class Item:
    kind: str
    text: str
    conversation_id: int | None


def subject(count: int) -> str:
    noun = "notification" if count == 1 else "notifications"
    return f"Switchboard: {count} unread {noun}"


def line(item: Item, public_url: str) -> str:
    """One notification in words, and the link to its conversation when there is a URL."""
    text = " ".join(item.text.split())
    if item.kind == "mention":
        cut = text[:NOTE_CHARS] + ("…" if len(text) > NOTE_CHARS else "")
        text = f"{cut} (in a private note)"
    out = f"- {text}"
    if public_url and item.conversation_id is not None:
        out += f"\n  {public_url.rstrip('/')}/#/inbox/{item.conversation_id}"
    return out


def body(name: str, items: list[Item], public_url: str) -> str:
    count = len(items)
    noun = "notification" if count == 1 else "notifications"
    lines = "\n".join(line(item, public_url) for item in items)
    return (
        f"Hello {name},\n\nyou have {count} unread {noun} in Switchboard:\n\n{lines}\n\n"
        "You get this e-mail because you chose e-mail for these notifications; change it "
        "in the notification panel of Switchboard, under Preferences.\n"
    )
