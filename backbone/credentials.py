"""Who is acting, proven: short-lived Ed25519-signed credentials, minted by an issuer and verified by every service.

A credential is a compact JWS (EdDSA) naming the actor (user, role, unit), its issuer and its expiry. Issuers
and what each may vouch for are listed in the trust bundle every service reads at start:

* `identity` — people who logged in (any role but `system`), and itself;
* `ops` — the operator's command line and the demo (acting for the district office, or as a named staff
  member, never as a service); its key sits in the platform's secrets folder, next to the master key;
* each service — itself only (role `system`, user = the service), for what it asks other services.

The runtime takes the actor from a verified credential alone; an `actor` in a payload is refused.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.base import Actor, Role, system_actor

HEADER = "Wanqing-Credential"
ALGORITHM = "EdDSA"
# Short: a deactivation takes effect within a minute (the lifetime plus the leeway for clock skew between
# the processes of one platform).
LIFETIME = timedelta(seconds=50)
LEEWAY = timedelta(seconds=5)
IDENTITY, OPS = "identity", "ops"


class CredentialError(Exception):
    """A missing, malformed, expired, tampered or untrusted credential: nothing is done for it."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        msg = f"{path} is not an Ed25519 private key"
        raise TypeError(msg)
    return key


@dataclass(frozen=True)
class Issuer:
    """One signer of credentials, and what it may vouch for."""

    name: str
    public_key: Ed25519PublicKey

    def may_vouch_for(self, actor: Actor) -> bool:
        if actor.role is Role.SYSTEM:  # a service is only itself, and only it is a service
            return actor.user == self.name and self.name != OPS
        # People: identity vouches for those who logged in; ops, the operator's tool, for any staff member or
        # the district office (docs/security.md); a service for nobody but itself.
        return self.name in (IDENTITY, OPS)


@dataclass(frozen=True)
class TrustBundle:
    """The issuers a process believes, by name (written by `wanqing up`, read once at start)."""

    issuers: dict[str, Issuer]

    @classmethod
    def load(cls, path: Path) -> TrustBundle:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls({name: Issuer(name, Ed25519PublicKey.from_public_bytes(base64.b64decode(key)))
                    for name, key in raw["issuers"].items()})

    @staticmethod
    def write(path: Path, public_keys: dict[str, str]) -> None:
        path.write_text(json.dumps({"issuers": public_keys}, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def verify(self, token: str | None) -> Actor:
        """The actor a credential proves; CredentialError for anything less than a valid, trusted one.

        Expiry is judged on the wall clock (a simulated platform clock moves business time, not credentials).
        """
        if not token:
            raise CredentialError("no credential", "未登录或登录已失效：请先登录")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            issuer = self.issuers.get(str(unverified.get("iss")))
            if issuer is None:
                raise CredentialError(f"credential from an unknown issuer {unverified.get('iss')!r}",
                                      "登录凭证无效：签发者不可信")
            claims = jwt.decode(token, issuer.public_key, algorithms=[ALGORITHM], leeway=LEEWAY,
                                options={"require": ["exp", "iat", "iss", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise CredentialError("the credential has expired", "登录已过期，请重新登录") from exc
        except jwt.InvalidTokenError as exc:
            raise CredentialError(f"invalid credential: {exc}", "登录凭证无效，请重新登录") from exc
        try:
            actor = Actor(user=claims["sub"], role=Role(claims["role"]), unit=claims["unit"])
        except (KeyError, ValueError) as exc:
            raise CredentialError(f"credential without a valid actor: {exc}", "登录凭证无效，请重新登录") from exc
        if not issuer.may_vouch_for(actor):
            raise CredentialError(f"{issuer.name} may not vouch for {actor.user} ({actor.role.value})",
                                  "登录凭证无效：签发者无权代表该用户")
        return actor


@dataclass(frozen=True)
class Signer:
    """An issuer's private side: mints credentials for the actors it may vouch for."""

    name: str
    key: Ed25519PrivateKey
    lifetime: timedelta = LIFETIME

    def mint(self, actor: Actor, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {"iss": self.name, "sub": actor.user, "role": actor.role.value, "unit": actor.unit,
                  "iat": int(issued.timestamp()), "exp": int((issued + self.lifetime).timestamp()),
                  "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def headers(self, actor: Actor | None = None) -> dict[str, str]:
        """The NATS headers of a request made as `actor` (a service's own requests: itself, as the system)."""
        return {HEADER: self.mint(actor or system_actor(self.name))}
