"""The keyring of a service that holds personal data, and its upkeep: re-wrap after a rotation, vacuum after an
erasure (no dead tuple of a key or of a dropped read-model row stays in the live table files), destroy due versions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from backbone.crypto import Keyring, parse_master_key
from backbone.db import quote_ident
from backbone.master_keys import MasterKeys
from backbone.settings import Settings

log = structlog.get_logger()


def master_keys_of(settings: Settings) -> MasterKeys | None:
    if settings.key_dir is None:
        return None
    return MasterKeys(settings.key_dir, timedelta(days=settings.backup_window_days))


def open_keyring(name: str, settings: Settings) -> Keyring:
    """From the key folder (the platform's way), else one unversioned key as configured (file or value)."""
    keys = master_keys_of(settings)
    if keys is not None:
        return Keyring(name, keys)
    if settings.master_key_file is not None:
        return Keyring(name, parse_master_key(settings.master_key_file.read_text(encoding="utf-8").strip()))
    if settings.master_key is not None:
        return Keyring(name, parse_master_key(settings.master_key.get_secret_value()))
    raise SystemExit("WANQING_KEY_DIR is required by a service that holds personal data")


async def _wall_clock() -> datetime:
    return datetime.now(UTC)


class KeyUpkeep:
    """One pass (`run_once`) or a loop (`run`); `tables` are the service's own tables that hold something of a
    person (read models), vacuumed with the key table after an erasure.
    """

    def __init__(self, pool: asyncpg.Pool, keyring: Keyring, tables: Sequence[str] = (),
                 interval_s: float = 30, clock: Callable[[], Awaitable[datetime]] | None = None) -> None:
        # The platform clock (an erasure schedules destruction by the command's time, which may be simulated).
        self._now = clock or _wall_clock
        self._pool = pool
        self._keyring = keyring
        self._tables = [f"{quote_ident(keyring.schema)}.{quote_ident(t)}" for t in ("person_keys", *tables)]
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> list[int]:
        """Returns the versions destroyed by this pass."""
        ring, keys = self._keyring, self._keyring.master_keys
        async with self._pool.acquire() as conn:
            rewrapped = await ring.rewrap(conn) if keys is not None else 0
            if rewrapped or ring.erased_since_vacuum:
                ring.erased_since_vacuum = False
                for table in self._tables:  # FULL: the table is written anew, the old file (dead tuples) unlinked
                    await conn.execute(f"VACUUM (FULL) {table}")
                log.info("keys_upkept", rewrapped=rewrapped, vacuumed=self._tables)
            if keys is None:
                return []
            keys.record_use(ring.schema, await ring.versions_in_use(conn))
        return keys.destroy_due(await self._now())

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except (asyncpg.InterfaceError, asyncpg.exceptions.ConnectionDoesNotExistError):
                if self._pool.is_closing():
                    return  # the service is stopping
                log.warning("key_upkeep_database_unavailable")  # an outage: the next pass tries again
            except Exception:
                log.exception("key_upkeep_failed")
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        """In the background of the running service (a service's `startup` hook)."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"key-upkeep-{self._keyring.schema}")
