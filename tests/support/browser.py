"""Launch Debian's Chromium through Playwright for end-to-end tests.

``playwright install`` downloads its own browser build, which these machines cannot fetch,
so tests drive the distribution's /usr/bin/chromium instead.
"""

from __future__ import annotations

import os
from typing import Any

from playwright.async_api import Browser, Playwright

from .services import INSTALL_HINT, ServiceUnavailable

CHROMIUM_PATH = "/usr/bin/chromium"

#: --no-sandbox: Chromium's sandbox cannot start as root in a container.
#: --disable-quic and the background/sync/update switches: no traffic leaves the machine
#: (there is no network besides package registries) and no retries slow the page down.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


async def launch_chromium(playwright: Playwright, **options: Any) -> Browser:
    """Launch headless Chromium from /usr/bin/chromium; ``options`` go to ``launch()``.

    Raises :class:`ServiceUnavailable` with the install hint when Chromium is missing, so
    end-to-end tests fail loudly instead of being skipped.
    """
    if not os.access(CHROMIUM_PATH, os.X_OK):
        raise ServiceUnavailable(
            f"{CHROMIUM_PATH} not found (Debian package 'chromium'); {INSTALL_HINT}"
        )
    args = [*CHROMIUM_ARGS, *options.pop("args", ())]
    return await playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=args, **options)
