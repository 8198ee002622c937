"""The platform's secrets in one owner-only folder (`<data dir>/secrets`, mode 0700), made once by `wanqing up`.

* `signing/<principal>.key` — each issuer's Ed25519 key: `identity` (people who log in), `ops` (the command
  line and the demo), and every service (itself, for what it asks other services);
* `trust.json` — the public halves: what every service believes (backbone/credentials.py);
* `console.key` — the key of the staff console's CSRF tokens;
* `nats/<principal>.nk` — each principal's NATS user (wanqing/nats_auth.py).

Each process is given the paths of what it needs, never the secrets in its environment (docs/security.md).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backbone.credentials import IDENTITY, OPS, TrustBundle, load_signing_key, new_signing_key, private_pem, public_b64

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Create an owner-only file (mode set at creation, so it is never readable by others, even briefly)."""
    path.parent.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_FILE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


@dataclass(frozen=True)
class PlatformSecrets:
    root: Path

    def signing_key(self, principal: str) -> Path:
        return self.root / "signing" / f"{principal}.key"

    @property
    def trust_file(self) -> Path:
        return self.root / "trust.json"

    @property
    def console_secret(self) -> Path:
        """The key of the console's CSRF tokens (random bytes; only the console reads it)."""
        return self.root / "console.key"


def ensure(data_dir: Path, services: Sequence[str]) -> PlatformSecrets:
    """Every issuer's key (kept once made) and the trust bundle of their public keys; idempotent."""
    secrets = PlatformSecrets(data_dir / "secrets")
    secrets.root.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    secrets.root.chmod(OWNER_ONLY_DIR)
    public: dict[str, str] = {}
    for principal in dict.fromkeys((IDENTITY, OPS, *services)):
        path = secrets.signing_key(principal)
        if not path.exists():
            write_private(path, private_pem(new_signing_key()))
        public[principal] = public_b64(load_signing_key(path))
    TrustBundle.write(secrets.trust_file, public)
    if not secrets.console_secret.exists():
        write_private(secrets.console_secret, base64.b64encode(os.urandom(32)) + b"\n")
    return secrets


def ops_key_file(data_dir: Path) -> Path:
    """Where the command line finds the operator's key on a platform `wanqing up` made."""
    return PlatformSecrets(data_dir / "secrets").signing_key(OPS)
