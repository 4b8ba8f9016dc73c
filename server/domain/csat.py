"""Customer satisfaction (docs/csat.md), pure: who is asked, the words, the figures.

A customer is asked once per segment (a response cycle, docs/frt.md), after the
conversation is resolved, if the segment got a human reply and the channel may still
carry a message. Ratings are 1 to 5; "satisfied" means 4 or 5 (the usual CSAT score).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.csat_texts import TEXTS

RATINGS = (1, 2, 3, 4, 5)
LANGUAGES = ("en", "pl", "el")
MAX_COMMENT = 2000
#: A customer may change the answer for this long after being asked.
EDITABLE_FOR = timedelta(days=7)


def text(language: str, key: str) -> str:
    return TEXTS.get(language, TEXTS["en"])[key]


def survey_message(language: str, question: str | None, link: str) -> str:
    asked = question or text(language, "question")
    return text(language, "message").format(question=asked, link=link)


def skip_reason(
    *,
    enabled: bool,
    responded: bool,
    public_url: str,
    window_closes: datetime | None,
    now: datetime,
) -> str | None:
    """Why no survey is sent for this resolve (None: send it)."""
    if not enabled:
        return "disabled"
    if not responded:
        return "this segment got no human reply"
    if not public_url:
        return "SWITCHBOARD_PUBLIC_URL is not set, so there is no link to send"
    if window_closes is not None and window_closes < now:
        return "the channel's reply window had closed"
    return None


def parse_rating(raw: object) -> int | None:
    """1 to 5 from a form or JSON value; None when it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw in RATINGS else None
    if isinstance(raw, str) and raw.strip() in {str(r) for r in RATINGS}:
        return int(raw.strip())
    return None


@dataclass(frozen=True, slots=True)
class Summary:
    sent: int
    answered: int
    response_rate: float | None  # percent, 0.1 precision
    average: float | None  # 1..5, 0.01 precision
    satisfied: float | None  # percent of answers rated 4 or 5, 0.1 precision
    distribution: dict[int, int]


def summarise(sent: int, ratings: Iterable[int]) -> Summary:
    given = [r for r in ratings if r in RATINGS]
    n = len(given)
    return Summary(
        sent=sent,
        answered=n,
        response_rate=round(100 * n / sent, 1) if sent else None,
        average=round(sum(given) / n, 2) if n else None,
        satisfied=round(100 * sum(1 for r in given if r >= 4) / n, 1) if n else None,
        distribution={r: given.count(r) for r in RATINGS},
    )
