"""Free loopback TCP ports for throw-away servers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The kernel picks the port (bind to port 0), so parallel test runs do not collide on a
    hard-coded number. The socket is closed before returning, so another process could in
    theory grab the port before our server binds it; the service classes retry with a new
    port when that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
