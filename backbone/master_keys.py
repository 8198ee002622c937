"""The key folder (§10): versioned master keys, kept outside the data folder and outside database backups.

* `master-<version>.key` — base64 of 32 bytes; the highest version wraps new and re-wrapped data keys;
* `retire-<version>.at` — when an older version is destroyed (its rotation time plus the backup window);
* `derived.json` — the secret that blind indexes and derived keys come from (never a wrapping key, not rotated);
* `uses-<service>.json` — the versions that still wrap a live data key in that service's `person_keys`.

A version is destroyed (overwritten, then unlinked) once it is due and no service uses it any more: every copy of
a data key wrapped by it (dead tuples, WAL, a dump, the stream) is then unreadable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backbone.crypto import new_master_key, parse_master_key

log = structlog.get_logger("master_keys")

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600
BLIND_INDEX_LABEL = b"wanqing:blind-index:v1"
# The derived keys a platform made before versioned master keys used (profiles' search index): kept as they were
# when a single master.key is migrated, so its indexes still match.
LEGACY_DERIVED = (b"wanqing search index v1",)
_KEY_FILE = re.compile(r"^master-(\d+)\.key$")


def write_private(path: Path, data: bytes) -> None:
    """An owner-only file, mode set at creation, replaced atomically."""
    path.parent.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_FILE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def shred(path: Path) -> None:
    """Overwrite a key file with random bytes, flush it to disk, then unlink it."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with path.open("r+b") as f:
        f.write(os.urandom(max(size, 64)))
        f.flush()
        os.fsync(f.fileno())
    path.unlink(missing_ok=True)


def _hkdf(root: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)


class Derivation:
    """Where blind-index and purpose keys come from: a root secret, plus fixed keys kept from a migrated
    single master key (one-way derived from it: they cannot unwrap anything).
    """

    def __init__(self, root: bytes, fixed: dict[bytes, bytes] | None = None) -> None:
        self._root = root
        self._fixed = fixed or {}

    @classmethod
    def legacy(cls, master: bytes) -> Derivation:
        """Exactly what a single master key gave before (the root is the master key itself)."""
        return cls(master)

    def derive_key(self, info: bytes) -> bytes:
        return self._fixed.get(b"hkdf:" + info) or _hkdf(self._root, info)

    def blind_index_key(self) -> bytes:
        return (self._fixed.get(b"hmac:" + BLIND_INDEX_LABEL)
                or hmac.new(self._root, BLIND_INDEX_LABEL, hashlib.sha256).digest())


def _legacy_fixed(master: bytes) -> dict[bytes, bytes]:
    fixed = {b"hmac:" + BLIND_INDEX_LABEL: hmac.new(master, BLIND_INDEX_LABEL, hashlib.sha256).digest()}
    for info in LEGACY_DERIVED:
        fixed[b"hkdf:" + info] = _hkdf(master, info)
    return fixed


class MasterKeys:
    """One key folder. Every method reads the folder again: another process may have rotated it."""

    def __init__(self, folder: Path, backup_window: timedelta = timedelta(days=30)) -> None:
        self.folder = folder
        self.backup_window = backup_window

    # ---------------------------------------------------------------- reading
    def versions(self) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        for p in self.folder.iterdir() if self.folder.is_dir() else ():
            m = _KEY_FILE.match(p.name)
            if m:
                try:
                    found[int(m.group(1))] = parse_master_key(p.read_text(encoding="utf-8").strip())
                except FileNotFoundError:  # destroyed meanwhile
                    continue
        return found

    def current(self) -> int:
        found = [int(m.group(1)) for p in self.folder.iterdir() if (m := _KEY_FILE.match(p.name))]
        if not found:
            msg = f"no master key in {self.folder} (`wanqing up` makes one)"
            raise SystemExit(msg)
        return max(found)

    def derivation(self) -> Derivation:
        doc = json.loads((self.folder / "derived.json").read_text(encoding="utf-8"))
        fixed = {base64.b64decode(k): base64.b64decode(v) for k, v in doc.get("fixed", {}).items()}
        return Derivation(base64.b64decode(doc["root"]), fixed)

    def retirements(self) -> dict[int, datetime]:
        out: dict[int, datetime] = {}
        for p in self.folder.glob("retire-*.at"):
            try:
                out[int(p.name[len("retire-"):-len(".at")])] = datetime.fromisoformat(p.read_text().strip())
            except (FileNotFoundError, ValueError):
                continue
        return out

    def in_use(self) -> set[int]:
        used: set[int] = set()
        for p in self.folder.glob("uses-*.json"):
            try:
                used.update(json.loads(p.read_text(encoding="utf-8"))["versions"])
            except (FileNotFoundError, ValueError, KeyError):
                continue
        return used

    def last_readable_copy_expires(self) -> datetime | None:
        """When the last version still on disk that is scheduled for destruction goes (None: none scheduled)."""
        pending = [at for v, at in self.retirements().items() if (self.folder / f"master-{v}.key").exists()]
        return max(pending) if pending else None

    # ---------------------------------------------------------------- changing
    def ensure(self, legacy_file: Path | None = None, initial: str | None = None) -> MasterKeys:
        """Make the folder (owner-only) with version 1: a legacy single master key file becomes version 1."""
        self.folder.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
        self.folder.chmod(OWNER_ONLY_DIR)
        migrated: bytes | None = None
        if not any(_KEY_FILE.match(p.name) for p in self.folder.iterdir()):
            if legacy_file is not None and legacy_file.exists():
                b64 = legacy_file.read_text(encoding="utf-8").strip()
                migrated = parse_master_key(b64)
                log.info("master_key_migrated", source=str(legacy_file), folder=str(self.folder))
            else:
                b64 = initial or new_master_key()
                migrated = parse_master_key(b64) if initial else None
            write_private(self.folder / "master-1.key", (b64 + "\n").encode())
        if not (self.folder / "derived.json").exists():
            fixed = _legacy_fixed(migrated) if migrated is not None else {}
            doc = {"root": base64.b64encode(os.urandom(32)).decode(),
                   "fixed": {base64.b64encode(k).decode(): base64.b64encode(v).decode() for k, v in fixed.items()}}
            write_private(self.folder / "derived.json", json.dumps(doc).encode())
        return self

    def rotate(self, now: datetime) -> tuple[int, datetime]:
        """A new current version; every older one not yet scheduled is destroyed at `now + backup window`.
        Returns the new version and that time.
        """
        version = self.current() + 1
        write_private(self.folder / f"master-{version}.key", (new_master_key() + "\n").encode())
        expires = now + self.backup_window
        scheduled = self.retirements()
        for old in self.versions():
            if old < version and old not in scheduled:
                write_private(self.folder / f"retire-{old}.at", expires.isoformat().encode())
        log.info("master_key_rotated", version=version, old_versions_destroyed_at=expires.isoformat())
        return version, expires

    def record_use(self, service: str, versions: set[int]) -> None:
        write_private(self.folder / f"uses-{service}.json", json.dumps({"versions": sorted(versions)}).encode())

    def destroy_due(self, now: datetime | None = None) -> list[int]:
        """Destroy every version that is due, is not current and wraps no live key of any service."""
        now = now or datetime.now(UTC)
        current, used = self.current(), self.in_use()
        destroyed = []
        for version, at in sorted(self.retirements().items()):
            if at <= now and version != current and version not in used:
                shred(self.folder / f"master-{version}.key")
                (self.folder / f"retire-{version}.at").unlink(missing_ok=True)
                destroyed.append(version)
                log.info("master_key_destroyed", version=version)
        return destroyed


def default_folder(data_dir: Path) -> Path:
    """A sibling of the data folder (`<data dir>.keys`): outside it, so a copy of the data folder or a database
    backup does not carry the keys.
    """
    resolved = data_dir.resolve()
    return resolved.with_name(resolved.name + ".keys")
