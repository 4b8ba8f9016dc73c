"""Every ``SWITCHBOARD_NOTIFY_EMAIL_MINUTES``, queue each agent's notification digest
(docs/automation.md "E-mail digests"); the account-mail worker sends it. Runs on every
node: the rows are claimed atomically (server/actions/notification_mail.py)."""

from __future__ import annotations

import asyncio
import logging

from server.actions import notification_mail
from server.context import AppContext

log = logging.getLogger(__name__)


async def run(ctx: AppContext) -> None:
    if not ctx.settings.mail_url:
        return
    while True:
        # sleep first: a digest gathers what happened over the interval
        await asyncio.sleep(ctx.settings.notify_email_minutes * 60)
        try:
            await notification_mail.send_digests(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:  # the loop must outlive a database blip
            log.exception("notification digest round failed")
