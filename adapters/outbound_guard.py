"""The guard on outbound connections that come from outside or from configuration
(integration webhooks, profile pictures, media, and admin-set IMAP/SMTP hosts).

A URL whose host resolves to a private, loopback, link-local or reserved address is
refused unless the admin allowed it (SWITCHBOARD_ALLOW_PRIVATE_URLS): otherwise a crafted
payload or a careless setting could make the server probe the internal network.
The check resolves the name itself; an attacker who controls DNS could still answer
differently for the connection (rebinding) — pin the address in the HTTP client if that
matters for your deployment.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from adapters.base import PermanentError, TransientError


class PrivateAddress(PermanentError):
    """The URL points at a private or loopback address and that is not allowed."""


async def refuse_private(url: str, allow_private: bool) -> None:
    """Refuse a URL whose host resolves to a non-public address (see the module doc)."""
    await refuse_private_host(urlsplit(url).hostname or "", allow_private)


async def refuse_private_host(host: str, allow_private: bool) -> None:
    """Refuse a host name or address that resolves to a non-public address.

    Called right before connecting (an IMAP watcher's every reconnect, every SMTP send,
    the "test connection" probe), so a name that changes its address is checked again.
    """
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise TransientError(f"cannot resolve {host!r}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global or addr.is_multicast:
            raise PrivateAddress(
                f"refused to connect to {host!r}: it resolves to a private address "
                "(an admin can allow that with SWITCHBOARD_ALLOW_PRIVATE_URLS)"
            )
