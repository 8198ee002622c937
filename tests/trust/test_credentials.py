"""The credential: only a valid, unexpired token from an issuer allowed to vouch for that actor proves anyone."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backbone.credentials import (
    IDENTITY,
    OPS,
    CredentialError,
    Issuer,
    Signer,
    TrustBundle,
    new_signing_key,
    public_b64,
)
from contracts.base import Actor, Role, system_actor

CLERK = Actor(user="clerk-U0001", role=Role.UNIT_STAFF, unit="U0001")
OFFICE = Actor(user="office-1", role=Role.DISTRICT_OFFICE, unit="DISTRICT")


@pytest.fixture
def signers() -> dict[str, Signer]:
    return {name: Signer(name, new_signing_key()) for name in (IDENTITY, OPS, "care", "profiles")}


@pytest.fixture
def trust(signers: dict[str, Signer]) -> TrustBundle:
    return TrustBundle({name: Issuer(name, s.key.public_key()) for name, s in signers.items()})


def test_a_valid_credential_proves_its_actor(signers: dict[str, Signer], trust: TrustBundle) -> None:
    assert trust.verify(signers[IDENTITY].mint(CLERK)) == CLERK
    assert trust.verify(signers[OPS].mint(OFFICE)) == OFFICE
    assert trust.verify(signers["care"].mint(system_actor("care"))) == system_actor("care")


@pytest.mark.parametrize("token", [None, "", "not-a-token", "a.b.c"])
def test_no_or_garbage_credential_proves_nobody(trust: TrustBundle, token: str | None) -> None:
    with pytest.raises(CredentialError):
        trust.verify(token)


def test_an_expired_credential_proves_nobody(signers: dict[str, Signer], trust: TrustBundle) -> None:
    old = signers[IDENTITY].mint(CLERK, now=datetime.now(UTC) - timedelta(minutes=5))
    with pytest.raises(CredentialError, match="expired") as caught:
        trust.verify(old)
    assert "过期" in caught.value.zh


def test_a_tampered_credential_proves_nobody(signers: dict[str, Signer], trust: TrustBundle) -> None:
    header, claims, signature = signers[IDENTITY].mint(CLERK).split(".")
    raw = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    raw["role"], raw["unit"] = "district_office", "DISTRICT"  # a clerk promoting themselves
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    with pytest.raises(CredentialError, match="invalid credential"):
        trust.verify(f"{header}.{forged}.{signature}")


def test_a_key_nobody_trusts_proves_nobody(trust: TrustBundle) -> None:
    stranger = Signer(IDENTITY, new_signing_key())  # calls itself identity, signs with its own key
    with pytest.raises(CredentialError):
        trust.verify(stranger.mint(OFFICE))
    unknown = Signer("agency-x", new_signing_key())
    with pytest.raises(CredentialError, match="unknown issuer"):
        trust.verify(unknown.mint(OFFICE))


def test_a_service_vouches_only_for_itself(signers: dict[str, Signer], trust: TrustBundle) -> None:
    with pytest.raises(CredentialError, match="may not vouch"):
        trust.verify(signers["care"].mint(OFFICE))  # care's key cannot make a district office
    with pytest.raises(CredentialError, match="may not vouch"):
        trust.verify(signers["care"].mint(system_actor("profiles")))  # nor another service


def test_nobody_but_the_service_acts_as_a_service(signers: dict[str, Signer], trust: TrustBundle) -> None:
    for issuer in (OPS, IDENTITY):
        with pytest.raises(CredentialError, match="may not vouch"):
            trust.verify(signers[issuer].mint(system_actor("care")))


def test_the_trust_bundle_round_trips_through_its_file(signers: dict[str, Signer], tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    TrustBundle.write(path, {name: public_b64(s.key) for name, s in signers.items()})
    assert TrustBundle.load(path).verify(signers[OPS].mint(CLERK)) == CLERK
