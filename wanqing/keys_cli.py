"""`wanqing keys`: the operator's view of the key folder (versioned master keys), a rotation, and destruction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from backbone.crypto import Keyring
from backbone.key_upkeep import open_keyring
from backbone.master_keys import MasterKeys
from backbone.settings import Settings
from wanqing.catalog import opens_personal_data
from wanqing.supervisor import key_folder

app = typer.Typer(no_args_is_help=True, help="Master keys: versions, rotation, destruction after the backup window.")


def _keys(settings: Settings | None = None) -> MasterKeys:
    settings = settings or Settings()
    return MasterKeys(key_folder(settings, settings.data_dir), timedelta(days=settings.backup_window_days))


def rebuild_keyring(service: str, settings: Settings) -> Keyring | None:
    """The keyring a rebuild of `service` opens sealed facts with (None for a service that keeps none): the
    services' own (backbone.key_upkeep.open_keyring), with the platform's default key folder when none is set.
    """
    if not opens_personal_data(service):  # its composition root says so (wanqing/catalog.py)
        return None
    if settings.key_dir is None and settings.master_key is None and settings.master_key_file is None:
        settings = settings.model_copy(update={"key_dir": key_folder(settings, settings.data_dir)})
    return open_keyring(service, settings)


@app.command()
def status() -> None:
    """The key folder, its versions, when each older one is destroyed, and which services still use them."""
    keys = _keys()
    retire = keys.retirements()
    typer.echo(f"key folder: {keys.folder}  (backup window {keys.backup_window.days} days)")
    current = keys.current()
    for version in sorted(keys.versions()):
        when = "current" if version == current else f"destroyed at {retire[version].isoformat()}" \
            if version in retire else "not scheduled"
        typer.echo(f"  version {version}: {when}")
    typer.echo(f"  in use: {sorted(keys.in_use())}")
    expires = keys.last_readable_copy_expires()
    typer.echo(f"last readable copy of erased data expires: {expires.isoformat() if expires else '-'}")


@app.command()
def rotate() -> None:
    """A new master version: the running services re-wrap every live data key under it; the older versions are
    destroyed once the backup window has passed (`wanqing keys destroy-due`, or the services themselves).
    """
    version, expires = _keys().rotate(datetime.now(UTC))
    typer.echo(f"master key version {version}; older versions destroyed at {expires.isoformat()}")


@app.command("destroy-due")
def destroy_due() -> None:
    """Destroy (overwrite, unlink) the versions that are due and that no service still uses."""
    destroyed = _keys().destroy_due(datetime.now(UTC))
    typer.echo(f"destroyed: {destroyed or 'none'}")
