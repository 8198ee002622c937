"""Requests to erase a person's data (PIPL Art. 47, 49): request → the district office's decision → erasure → a
certificate of erasure for the requester. Pure: the requests of one retiree's stream, folded from its events.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import assert_never
from uuid import UUID

from contracts.base import LOCAL_TZ, Event, Role
from contracts.errors import conflict, forbidden, not_found, refused
from contracts.profiles import (
    DecideErasure,
    ErasureDecided,
    ErasureRequestCommand,
    ErasureRequested,
    ErasureRequester,
    PersonalDataErased,
    RequestErasure,
    RetireeStatus,
    erasure_requester_key,
)


@dataclass(frozen=True)
class Request:
    requester: ErasureRequester
    requested_at: datetime
    approved: bool | None = None  # None: not decided yet
    decision_reason: str | None = None
    decided_at: datetime | None = None
    erased_at: datetime | None = None
    readable_copies_expire_at: datetime | None = None


@dataclass(frozen=True)
class Requests:
    by_id: dict[UUID, Request] = field(default_factory=dict)

    def approved(self, request_id: UUID) -> bool:
        r = self.by_id.get(request_id)
        return r is not None and r.approved is True


def evolve(state: Requests, event: Event) -> Requests:
    match event:
        case ErasureRequested():
            return Requests({**state.by_id, event.request_id: Request(event.requester, event.requested_at)})
        case ErasureDecided() if event.request_id in state.by_id:
            r = replace(state.by_id[event.request_id], approved=event.approved, decision_reason=event.reason,
                        decided_at=event.decided_at)
            return Requests({**state.by_id, event.request_id: r})
        case PersonalDataErased() if event.request_id in state.by_id:
            assert event.request_id is not None
            r = replace(state.by_id[event.request_id], readable_copies_expire_at=event.readable_copies_expire_at)
            return Requests({**state.by_id, event.request_id: r})
        case _:
            return state


def decide(cmd: ErasureRequestCommand, state: Requests, status: RetireeStatus | None, now: datetime) -> list[Event]:
    """`status`: the person's (a relative may ask only for a deceased person, the person only while alive)."""
    match cmd:
        case RequestErasure():
            if cmd.request_id in state.by_id:
                raise conflict("this request is already recorded", zh="该申请已登记，无需重复登记")
            deceased = status is RetireeStatus.DECEASED
            if cmd.requester is ErasureRequester.CLOSE_RELATIVE and not deceased:
                raise refused("a relative may request erasure only for a deceased person (PIPL Art. 49)",
                              zh="近亲属只能为已去世的人员申请删除个人信息（《个人信息保护法》第四十九条）",
                              field="requester")
            if cmd.requester is ErasureRequester.CLOSE_RELATIVE and not cmd.relation:
                raise refused("a relative's request names the relation", zh="近亲属申请须填写与本人的关系",
                              field="relation")
            if cmd.requester is ErasureRequester.SELF and deceased:
                raise refused("the person is deceased: a close relative may request", zh="本人已去世，应由近亲属申请",
                              field="requester")
            return [ErasureRequested(
                retiree_id=cmd.retiree_id, request_id=cmd.request_id,
                requester_key=erasure_requester_key(cmd.request_id),
                requester=cmd.requester, requester_name=cmd.requester_name, relation=cmd.relation,
                contact=cmd.contact, reason=cmd.reason, requested_at=now)]
        case DecideErasure():
            if cmd.actor.role is not Role.DISTRICT_OFFICE:
                raise forbidden("only the district office decides an erasure request",
                                zh="只有区老干部局可以审批删除个人信息申请")
            request = state.by_id.get(cmd.request_id)
            if request is None:
                raise not_found(f"no erasure request {cmd.request_id}", zh="没有这份删除申请")
            if request.approved is not None:
                raise conflict("this request was already decided", zh="该申请已审批，不能重复审批")
            return [ErasureDecided(retiree_id=cmd.retiree_id, request_id=cmd.request_id, approved=cmd.approve,
                                   reason=cmd.reason, decided_by=cmd.actor.user, decided_at=now)]
        case _:
            assert_never(cmd)


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(LOCAL_TZ):%Y年%m月%d日}"


@dataclass(frozen=True)
class Certificate:
    request_id: UUID
    retiree_id: UUID
    requester_name: str
    relation: str | None
    requested_at: datetime
    decided_at: datetime
    erased_at: datetime
    readable_copies_expire_at: datetime | None


def certificate_text(c: Certificate) -> str:
    """删除个人信息证明: what was erased and when the last readable copy expires (no name of the erased person)."""
    who = f"{c.requester_name}（{c.relation}）" if c.relation else c.requester_name
    expiry = (f"数据库备份等留存副本中的加密信息，已无法解读的最晚时间为 {_day(c.readable_copies_expire_at)}"
              f"（备份保留期届满，旧主密钥随之销毁）。" if c.readable_copies_expire_at
              else "本平台未启用主密钥轮换，留存副本的失效时间无法确定。")
    return (
        "删除个人信息证明\n\n"
        f"{who}：\n\n"
        f"您于 {_day(c.requested_at)} 提出的删除个人信息申请（申请编号 {c.request_id}），"
        f"经区老干部局于 {_day(c.decided_at)} 审核同意，"
        f"已于 {_day(c.erased_at)} 办理完毕。\n\n"
        f"已删除的内容：档案编号 {c.retiree_id} 所对应人员的姓名、身份证号码、联系电话、住址、紧急联系人、"
        "银行账户、住院及健康信息、家庭情况、遗属信息，以及各业务系统中据此形成的关怀信息、证书和文书。"
        "为保证档案历史可核验，加密后的记录仍保留，但其密钥已经销毁，任何人均无法解读。\n\n"
        f"{expiry}\n\n"
        "特此证明。\n\n"
        "区老干部局\n"
        f"{_day(c.erased_at)}\n"
    )


def certificate_of(envelopes: list[tuple[Event, datetime]], request_id: UUID, retiree_id: UUID,
                   requester_name: str, relation: str | None) -> Certificate | None:
    """From the stream's events with their times: None until the request was approved and carried out."""
    requested = decided = erased = None
    expires: datetime | None = None
    for event, at in envelopes:
        match event:
            case ErasureRequested() if event.request_id == request_id:
                requested = event.requested_at
            case ErasureDecided() if event.request_id == request_id and event.approved:
                decided = event.decided_at
            case PersonalDataErased() if event.request_id == request_id:
                erased, expires = at, event.readable_copies_expire_at
            case _:
                pass
    if requested is None or decided is None or erased is None:
        return None
    return Certificate(request_id, retiree_id, requester_name, relation, requested, decided, erased, expires)
