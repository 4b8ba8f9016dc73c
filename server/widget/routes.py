"""Everything the widget registers with the app (see server/app.py)."""

from __future__ import annotations

from server.widget import api, embed, socket

API_GROUPS = [api.api, embed.api]
extra_routes = socket.routes
