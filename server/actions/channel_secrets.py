"""An inbox's encrypted secrets as its adapter sees them (``adapters.base.SecretStore``):
read one, and replace one that the provider rotated (an OAuth2 refresh token).

The replacement is a compare-and-set inside one transaction, so an admin who saved a new
value meanwhile is never overwritten by the adapter's older chain. The adapter keeps
running on its in-memory copy: nothing is reloaded. No value reaches the audit log.
"""

from __future__ import annotations

import sqlalchemy as sa

from server.actions import audit
from server.actions._tx import transaction
from server.context import AppContext
from server.storage import schema as t


class InboxSecrets:
    def __init__(self, ctx: AppContext, inbox_id: int) -> None:
        self._ctx, self._inbox_id = ctx, inbox_id

    async def get(self, name: str) -> str | None:
        async with self._ctx.db.read() as conn:
            row = (await conn.execute(self._select())).first()
        value = self._ctx.secrets.decrypt_json(row.secrets if row else None).get(name)
        return value if isinstance(value, str) else None

    async def replace(self, name: str, old: str, new: str) -> bool:
        async with transaction(self._ctx) as tx:
            row = (await tx.conn.execute(self._select().with_for_update())).first()
            stored = self._ctx.secrets.decrypt_json(row.secrets if row else None)
            if row is None or stored.get(name) != old:
                return False
            encrypted = self._ctx.secrets.encrypt_json({**stored, name: new})
            await tx.conn.execute(
                sa.update(t.inboxes)
                .where(t.inboxes.c.id == self._inbox_id)
                .values(secrets=encrypted)
            )
            await audit.record(
                tx.conn,
                "inbox.secret_rotated",
                target_type="inbox",
                target_id=self._inbox_id,
                details={"field": name},
            )
        return True

    def _select(self) -> sa.Select[tuple[str | None]]:
        return sa.select(t.inboxes.c.secrets).where(t.inboxes.c.id == self._inbox_id)
