"""The erasure request workflow, pure: request (the person, or a deceased person's close relative) → decision."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts.base import Actor, Role
from contracts.errors import DomainError, ErrorCode
from contracts.profiles import (
    DecideErasure,
    ErasureDecided,
    ErasureRequested,
    ErasureRequester,
    PersonalDataErased,
    RequestErasure,
    RetireeStatus,
)
from services.profiles import erasure_request
from services.profiles.erasure_request import Certificate, Requests, certificate_text, evolve

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
OFFICE = Actor(user="office-1", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
CLERK = Actor(user="clerk", role=Role.UNIT_STAFF, unit="U0001")
RID, REQ = uuid.uuid4(), uuid.uuid4()


def request(requester: ErasureRequester = ErasureRequester.CLOSE_RELATIVE, relation: str | None = "子女",
            actor: Actor = CLERK) -> RequestErasure:
    return RequestErasure(command_id=uuid.uuid4(), retiree_id=RID, request_id=REQ, requester=requester,
                          requester_name="欧阳青松",
                          relation=relation, contact="13900001111", reason="家属申请删除", actor=actor)


def requested() -> Requests:
    return evolve(Requests(), erasure_request.decide(request(), Requests(), RetireeStatus.DECEASED, NOW)[0])


def code(exc: pytest.ExceptionInfo[DomainError]) -> ErrorCode:
    return exc.value.code


class TestRequest:
    def test_a_close_relative_of_a_deceased_person_may_request(self) -> None:
        [event] = erasure_request.decide(request(), Requests(), RetireeStatus.DECEASED, NOW)
        assert isinstance(event, ErasureRequested)
        assert event.requester_key == f"erasure-request-{REQ}"  # sealed with the request's own key
        assert (event.requester_name, event.relation, event.requested_at) == ("欧阳青松", "子女", NOW)

    def test_a_relative_may_not_request_for_a_living_person(self) -> None:
        with pytest.raises(DomainError) as exc:
            erasure_request.decide(request(), Requests(), RetireeStatus.RETIRED, NOW)
        assert code(exc) is ErrorCode.VALIDATION

    def test_a_relative_names_the_relation(self) -> None:
        with pytest.raises(DomainError) as exc:
            erasure_request.decide(request(relation=None), Requests(), RetireeStatus.DECEASED, NOW)
        assert code(exc) is ErrorCode.VALIDATION

    def test_the_person_requests_while_alive(self) -> None:
        [event] = erasure_request.decide(request(ErasureRequester.SELF, None), Requests(), RetireeStatus.RETIRED,
                                         NOW)
        assert isinstance(event, ErasureRequested)

    def test_the_same_request_twice_is_a_conflict(self) -> None:
        with pytest.raises(DomainError) as exc:
            erasure_request.decide(request(), requested(), RetireeStatus.DECEASED, NOW)
        assert code(exc) is ErrorCode.CONFLICT


class TestDecision:
    def decide(self, actor: Actor, state: Requests) -> list[object]:
        cmd = DecideErasure(command_id=uuid.uuid4(), retiree_id=RID, request_id=REQ, approve=True,
                            reason="符合法定条件", actor=actor)
        return list(erasure_request.decide(cmd, state, RetireeStatus.DECEASED, NOW))

    def test_only_the_district_office_decides(self) -> None:
        with pytest.raises(DomainError) as exc:
            self.decide(CLERK, requested())
        assert code(exc) is ErrorCode.FORBIDDEN

    def test_approval_is_recorded_and_makes_the_request_approved(self) -> None:
        [event] = self.decide(OFFICE, requested())
        assert isinstance(event, ErasureDecided)
        assert evolve(requested(), event).approved(REQ)

    def test_a_request_is_decided_once(self) -> None:
        [event] = self.decide(OFFICE, requested())
        assert isinstance(event, ErasureDecided)
        with pytest.raises(DomainError) as exc:
            self.decide(OFFICE, evolve(requested(), event))
        assert code(exc) is ErrorCode.CONFLICT

    def test_an_unknown_request_is_not_found(self) -> None:
        with pytest.raises(DomainError) as exc:
            self.decide(OFFICE, Requests())
        assert code(exc) is ErrorCode.NOT_FOUND


class TestCertificate:
    def test_it_states_what_was_erased_and_when_the_last_copy_expires_without_the_erased_name(self) -> None:
        expires = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)
        history = [(requested_event, NOW) for requested_event in
                   erasure_request.decide(request(), Requests(), RetireeStatus.DECEASED, NOW)]
        history.append((ErasureDecided(retiree_id=RID, request_id=REQ, approved=True, reason="同意",
                                       decided_by="office-1", decided_at=NOW), NOW))
        history.append((PersonalDataErased(retiree_id=RID, reason="依申请", request_id=REQ,
                                           readable_copies_expire_at=expires), NOW))
        cert = erasure_request.certificate_of(history, REQ, RID, "欧阳青松", "子女")
        assert cert == Certificate(REQ, RID, "欧阳青松", "子女", NOW, NOW, NOW, expires)
        text = certificate_text(cert)
        assert text.startswith("删除个人信息证明")
        assert "欧阳青松（子女）" in text
        assert "2026年12月31日" in text  # the last readable copy's expiry, Beijing date
        assert str(RID) in text

    def test_no_certificate_before_the_erasure(self) -> None:
        history = [(e, NOW) for e in erasure_request.decide(request(), Requests(), RetireeStatus.DECEASED, NOW)]
        assert erasure_request.certificate_of(history, REQ, RID, "欧阳青松", "子女") is None
