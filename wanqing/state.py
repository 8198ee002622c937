"""Where the platform is: the environment's URLs, or the state file a running `wanqing up` keeps in data_dir."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from backbone.settings import Settings

STATE_FILE = "platform.json"


class PlatformNotFoundError(RuntimeError):
    """Neither WANQING_NATS_URL/WANQING_DATABASE_URL nor a running `wanqing up` says where the platform is."""


@dataclass(frozen=True)
class PlatformState:
    nats_url: str
    database_url: str
    pid: int
    embedded: bool
    services: dict[str, str] = field(default_factory=dict)  # service -> health URL
    console_url: str = ""  # the staff console's address, when it runs


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def write_state(data_dir: Path, state: PlatformState) -> Path:
    path = state_path(data_dir)
    tmp = path.with_suffix(".tmp")
    # The database URL may carry a password when the servers are external: owner-only, like the master key.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(state), out, ensure_ascii=False, indent=2)
    tmp.replace(path)  # readers never see a half-written file
    return path


def read_state(data_dir: Path) -> PlatformState | None:
    path = state_path(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return PlatformState(**raw)


def remove_state(data_dir: Path) -> None:
    state_path(data_dir).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_state(data_dir: Path) -> PlatformState | None:
    """The state of a live `wanqing up`; a file left by a killed supervisor is ignored."""
    state = read_state(data_dir)
    if state is None or not pid_alive(state.pid):
        return None
    return state


def nats_url(settings: Settings) -> str:
    if settings.nats_url:
        return settings.nats_url
    state = running_state(settings.data_dir)
    if state is None:
        raise PlatformNotFoundError(_hint(settings, "WANQING_NATS_URL"))
    return state.nats_url


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    state = running_state(settings.data_dir)
    if state is None:
        raise PlatformNotFoundError(_hint(settings, "WANQING_DATABASE_URL"))
    return state.database_url


def _hint(settings: Settings, variable: str) -> str:
    return (
        f"no Wanqing platform found: {variable} is not set and no running `wanqing up` wrote "
        f"{state_path(settings.data_dir)}. Start one with `wanqing up` (or `make up`), or set {variable}."
    )
