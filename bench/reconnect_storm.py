"""Reconnect storm: N agent sockets drop while messages are sent, then all resume.

    .venv/bin/python bench/reconnect_storm.py --clients 1000 --messages 100 --down 10

Prints missed and duplicate events across all clients (must both be 0) and the catch-up
p50/p99 from the moment the clients reconnect.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import servers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--down", type=float, default=10.0)
    a = parser.parse_args()
    with servers.switchboard() as sb:
        result = servers.node(
            "reconnect_storm.js",
            url=sb.ws,
            http=sb.http,
            token=sb.token,
            key=sb.inbox_key,
            inbound=servers.INBOUND,
            clients=a.clients,
            messages=a.messages,
            down=a.down,
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
