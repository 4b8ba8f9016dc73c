"""The guard on outbound requests to URLs that come from outside or from configuration
(integration webhooks, profile pictures, media).

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
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise TransientError(f"cannot resolve {host!r}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global or addr.is_multicast:
            raise PrivateAddress(f"refused to fetch {host!r}: it resolves to a private address")
