"""The console's settings, from the environment (WANQING_ prefix, like every process of the platform)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WANQING_", env_file=None, extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    # The console's NATS user (`console`: commands, queries and identity's login only) and, on a TLS cluster,
    # the CA of its servers.
    nats_nkey_file: Path | None = None
    nats_ca_file: Path | None = None
    console_host: str = "127.0.0.1"
    console_port: int = Field(default=8800, ge=0, le=65535)
    # An owner-only file of random bytes: the key of the forms' CSRF tokens (made by `wanqing up`).
    console_secret_file: Path | None = None
    # Cookies only over HTTPS. Browsers treat http://localhost as secure, so this stays on for the local platform
    # too; turn it off only for a plain-HTTP test host that is not localhost.
    console_cookie_secure: bool = True
    # How long a console session may sit idle before it must log in again (identity's own limit is 12 h).
    console_idle_s: int = Field(default=1800, ge=2, le=43200)
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    log_level: str = "info"
