"""Settings from the environment (WANQING_ prefix); empty URLs mean the embedded default."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WANQING_", env_file=None, extra="ignore")

    nats_url: str = ""
    database_url: str = ""
    data_dir: Path = Path(".wanqing")
    district: str = Field(default="DISTRICT", pattern=r"^[A-Za-z0-9_-]+$")
    # Base64 of 32 bytes; wraps every per-person data key. The embedded default generates one into data_dir.
    master_key: SecretStr | None = None
    # An owner-only file holding the master key, read once at start (so it is not in the process environment);
    # given only to the services that open personal data.
    master_key_file: Path | None = None
    # The key folder of versioned master keys (backbone/master_keys.py): outside the data folder and outside
    # database backups. `wanqing up` uses `<data dir>.keys` unless this is set; a service given it ignores the
    # two settings above.
    key_dir: Path | None = None
    # How long a database backup is kept: an old master version is destroyed this long after a rotation, and an
    # erased person's data is unreadable from every copy once it has passed.
    backup_window_days: float = Field(default=30, ge=0)
    # How often a service holding personal data re-wraps keys, vacuums after erasures and destroys due versions.
    key_upkeep_interval_s: float = Field(default=30, gt=0)
    # The issuers of credentials this process believes (public keys), and this process's own signing key.
    trust_file: Path | None = None
    signing_key_file: Path | None = None
    # This process's NATS user (an nkey seed file, owner-only) on a server that requires authentication; its
    # replies come to its own inbox prefix `_INBOX_<service>` (wanqing/nats_auth.py).
    nats_nkey_file: Path | None = None
    # The CA that signed the NATS servers' certificates: connect over TLS (production; docs/security.md).
    nats_ca_file: Path | None = None
    # How long a credential identity mints lives: a deactivation takes effect within this time plus 5 s.
    credential_lifetime_s: int = Field(default=50, ge=2, le=3600)
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    log_level: str = "info"
    # Service processes: where /metrics and /health listen (0 = an ephemeral port, written to the log).
    http_host: str = "127.0.0.1"
    http_port: int = 0
    relay_window: int = Field(default=1000, ge=1)
    relay_batch: int = Field(default=1000, ge=1)
    relay_idle_poll_s: float = Field(default=0.05, gt=0)
    consumer_batch: int = Field(default=100, ge=1)
    consumer_max_deliver: int = Field(default=8, ge=2)
    ticker_interval_s: float = Field(default=0.5, gt=0)
    # Signed checkpoints (docs/audit.md): one at least every N events or every M seconds when anything is new;
    # the checkpointer looks this often.
    checkpoint_every_events: int = Field(default=1000, ge=1)
    checkpoint_every_s: float = Field(default=300.0, gt=0)
    checkpoint_poll_s: float = Field(default=1.0, gt=0)
    # The witnesses every checkpoint is also handed to (comma-separated; each an account of its own whose stream
    # acks what it keeps, docs/audit.md). `wanqing up` sets the auditor's; empty: none.
    witnesses: str = Field(default="", pattern=r"^([A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64})*)?$")
    pool_max: int = Field(default=10, ge=1)
    # Commands and queries handled at once per process (each in its own transaction; conflicts retry).
    command_workers: int = Field(default=4, ge=1, le=64)
    # `wanqing up` loads the demo district (wanqing/demo) into a platform that has no units yet.
    load_demo: bool = True
    # The staff console (工作台) that `wanqing up` starts: where it listens (0: a free port, shown in the banner).
    console_port: int = Field(default=8800, ge=0, le=65535)
