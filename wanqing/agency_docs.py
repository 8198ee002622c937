"""What each outside agency is told about its feed, generated from its policy (deploy/agencies.json): an AsyncAPI
3.0 document, the JSON Schema of every message it receives and a short README, under
`<target>/agencies/<agency>/` (`wanqing contracts export DIR`; the copy kept in the repository is
docs/agencies/generated/, `python -m wanqing.agency_docs` rewrites it).

Each message's schema is the FeedMessage envelope with `data` holding exactly the rule's fields (typed as in the
event) and the revealed ones (text, with their legal basis), nothing else (`additionalProperties: false`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from contracts.base import Event
from contracts.feed import FEED_STREAM, SUBJECT_ERASED, AgencyBook, AgencyPolicy, EventRule, FeedMessage, feed_subject
from services.feed.app import event_types, load_book

DOCS_GENERATED = Path(__file__).resolve().parents[1] / "docs" / "agencies" / "generated"
SPEC_VERSION = "1"
CHECKPOINT = "Checkpoint"

# How an agency's staff read the types and fields (the English name follows each; unknown ones keep it alone).
TYPE_ZH: dict[str, str] = {
    "RetirementApproved": "退休审批通过", "MemberDeceased": "离退休人员去世", "SurvivorRecorded": "遗属登记",
    "AssistanceCaseOpened": "困难帮扶立案", "AssistanceApproved": "困难帮扶批准", "AssistancePaid": "帮扶款发放",
    "HealthExamRecorded": "年度体检完成", "CommunityRegistered": "社区居住登记", SUBJECT_ERASED: "个人信息已删除",
}
FIELD_ZH: dict[str, str] = {
    "approved_on": "批准日期", "retirement_date": "退休日期", "category": "人员类别",
    "document_number": "批准文号", "died_on": "去世日期", "relation": "遗属与本人关系",
    "amount_requested": "申请金额（元）", "amount": "金额（元）", "paid_on": "发放日期", "examined_on": "体检日期",
    "community": "所在社区", "registered_on": "登记日期", "erased_at": "删除时间",
}
REVEAL_ZH: dict[str, str] = {"name": "姓名", "id_number": "公民身份号码", "phone": "联系电话", "address": "住址",
                             "sex": "性别", "birth_date": "出生日期"}
_ANNOTATED: Any = Annotated  # subscripted at run time with a field's own constraints


class Checkpoint(BaseModel):
    """区级平台各服务的签名审计检查点（Ed25519），请原样保存，用于日后核验平台数据未被篡改。
    A service's signed audit checkpoint (Ed25519): keep it as it is; it lets anyone verify later that the
    platform's history was not rewritten (docs/audit.md).
    """

    model_config = ConfigDict(extra="forbid")

    body: dict[str, Any] = Field(description="检查点内容（服务、序号、事件哈希、上一检查点、签名者等）"
                                             " / the signed body")
    signature: str = Field(description="对 body 规范化 JSON 的 Ed25519 签名（Base64） / Ed25519 signature, base64")


def _zh(table: dict[str, str], name: str) -> str:
    return f"{table[name]}（{name}）" if name in table else name


def data_model(agency: AgencyPolicy, type_: str, rule: EventRule, event: type[Event]) -> type[BaseModel]:
    """`data` of the agency's messages of one type: exactly the rule's fields and the revealed ones."""
    fields: dict[str, Any] = {}
    for name in rule.fields:
        info = event.model_fields[name]
        annotation = _ANNOTATED[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[name] = (annotation, Field(title=FIELD_ZH.get(name, name), description=(
            f"{_zh(FIELD_ZH, name)}：事件 {type_} 的字段，原样抄送 / copied as is from the event")))
    for name, basis in rule.reveal.items():
        fields[name] = (str | None, Field(title=REVEAL_ZH.get(name, name), description=(
            f"{_zh(REVEAL_ZH, name)}：依法提供，法律依据：{basis}（档案中没有时为 null） / personal data revealed "
            "with this legal basis (null when the archive holds none)")))
    return create_model(f"{type_}Data", __config__=ConfigDict(extra="forbid"),
                        __doc__=f"{agency.short}收到的 {_zh(TYPE_ZH, type_)} 的内容 / what {agency.id} is given",
                        **fields)


def _envelope(type_: str, data: type[BaseModel], doc: str) -> type[FeedMessage]:
    return create_model(f"{type_}Message", __base__=FeedMessage, __doc__=doc, data=(data, Field(
        description="本类型消息的全部内容，不含其他任何字段 / exactly these fields, nothing else")))


def message_model(agency: AgencyPolicy, type_: str, rule: EventRule, event: type[Event]) -> type[FeedMessage]:
    """The FeedMessage envelope of one type the agency receives, with `data` as the rule gives it."""
    subject = ("subject 为贵单位专用的人员假名" if agency.subject == "pseudonym" else "subject 恒为 null（只计数）")
    doc = (f"{agency.name}收到的消息：{_zh(TYPE_ZH, type_)}。{subject}；legal_basis 列出每个依法提供字段的法律依据。"
           f" / A message of type {type_} for agency {agency.id}.")
    return _envelope(type_, data_model(agency, type_, rule, event), doc)


def erasure_model(agency: AgencyPolicy) -> type[FeedMessage]:
    """`SubjectErased`: the person's data was erased on the platform; erase what you hold of this subject."""
    data = create_model(f"{SUBJECT_ERASED}Data", __config__=ConfigDict(extra="forbid"),
                        __doc__="删除通知的内容 / the notice's content",
                        erased_at=(AwareDatetime, Field(title="删除时间", description="平台删除该人员个人信息的时间"
                                                                                 " / when the platform erased it")))
    doc = (f"{agency.name}收到的删除通知：平台已依《中华人民共和国个人信息保护法》第四十七条删除该人员的个人信息，"
           "请删除贵单位保存的该 subject 的信息。 / The person's data was erased (PIPL Art. 47): erase what you hold "
           "of this subject.")
    return _envelope(SUBJECT_ERASED, data, doc)


def message_models(agency: AgencyPolicy) -> dict[str, type[FeedMessage]]:
    """Every message type the agency receives (in its policy's order), and SubjectErased if it names people."""
    known = event_types()
    models = {t: message_model(agency, t, rule, known[t][1]) for t, rule in agency.events.items()}
    if agency.subject == "pseudonym":
        models[SUBJECT_ERASED] = erasure_model(agency)
    return models


def _channel_description(agency: AgencyPolicy, type_: str) -> str:
    if type_ == SUBJECT_ERASED:
        return ("个人信息删除通知（《个人信息保护法》第四十七条）：收到后请删除该 subject 的全部信息。"
                " / Erasure notice: erase everything you hold of this subject.")
    rule = agency.events[type_]
    parts = [f"{_zh(TYPE_ZH, type_)}。字段：{'、'.join(_zh(FIELD_ZH, f) for f in rule.fields) or '无（只计数）'}"]
    if rule.reveal:
        parts.append(f"依法提供：{'、'.join(_zh(REVEAL_ZH, r) for r in rule.reveal)}")
    if rule.where:
        parts.append(f"仅限：{'，'.join(f'{k} = {v}' for k, v in rule.where.items())}")
    if rule.known_only:
        parts.append("仅限本单位已收到过的人员")
    return "；".join(parts) + f"。 / Messages of type {type_} for {agency.id}."


def asyncapi(agency: AgencyPolicy, models: dict[str, type[FeedMessage]]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the agency's feed (the platform sends, the agency's stream keeps)."""
    broker = NatsBroker(description=(
        f"平台的 NATS；贵单位以本单位账户连接，消息存于贵单位账户的流 {FEED_STREAM}。"
        " / The platform's NATS; connect with your agency's account credentials."))
    for type_, model in models.items():
        broker.publisher(feed_subject(agency.id, type_), schema=model, title=type_,
                         description=_channel_description(agency, type_))
    checkpoint = f"witness.{agency.id}.{{service}}.checkpoint"
    broker.publisher(checkpoint, schema=Checkpoint, title=CHECKPOINT, description=(
        "平台各服务的签名审计检查点，由贵单位作为见证方保存（见 docs/audit.md）。"
        " / Signed audit checkpoints of each platform service, kept by your agency as a witness."))
    doc: dict[str, Any] = json.loads(AsyncAPI(
        broker, title=f"{agency.name} 数据订阅", version=SPEC_VERSION, schema_version="3.0.0",
        description=(f"{agency.name}（{agency.short}）从区离退休干部服务平台“晚晴”接收的数据。用途：{agency.purpose}。"
                     f"消息位于贵单位账户的流 {FEED_STREAM}，主题 agency.{agency.id}.<类型>，Nats-Msg-Id 等于 "
                     f"message_id（重复的消息会被丢弃）。 / What agency {agency.id} receives from the Wanqing "
                     "platform; generated from deploy/agencies.json."),
    ).to_specification().to_json())
    channel = doc["channels"][CHECKPOINT]
    channel["parameters"] = {"service": {"description": "产生检查点的平台服务名 / the platform service's name"}}
    channel["bindings"]["nats"]["subject"] = f"witness.{agency.id}.*.checkpoint"
    return doc


def readme(agency: AgencyPolicy, models: dict[str, type[FeedMessage]]) -> str:
    who = ("贵单位专用的人员假名：同一人员始终相同，与其他单位收到的假名无法对应 / a pseudonym of your own, stable "
           "for one person" if agency.subject == "pseudonym" else "无：只计数，不识别任何个人 / none: counts only")
    lines = [
        f"# {agency.name}（{agency.short}）数据订阅 / Data feed of agency `{agency.id}`", "",
        "> 本目录由 `wanqing contracts export` 根据 deploy/agencies.json 生成，请勿手工修改。",
        "> Generated from deploy/agencies.json by `wanqing contracts export`; do not edit.", "",
        f"- 用途 / Purpose：{agency.purpose}",
        f"- 人员标识 subject / Subject：{who}",
        (f"- 流 / Stream：贵单位账户中的 `{FEED_STREAM}`，主题 `agency.{agency.id}.<类型>`；"
         "`Nats-Msg-Id` = `message_id`"),
        f"- 确认 / Acknowledgements：贵单位客户端的持久消费者 `{agency.durable}`",
        "- AsyncAPI 3.0：[asyncapi.json](asyncapi.json)", "",
        "## 消息类型 / Message types", "",
    ]
    for type_ in models:
        lines += [f"### {type_}：{TYPE_ZH.get(type_, type_)}", "",
                  (f"主题 / Subject：`{feed_subject(agency.id, type_)}`；"
                   f"Schema：[schemas/{type_}.schema.json](schemas/{type_}.schema.json)"), ""]
        if type_ == SUBJECT_ERASED:
            lines += [("平台已依《中华人民共和国个人信息保护法》第四十七条删除该人员的个人信息，"
                       "请删除贵单位保存的该 subject 的信息。 / Erase what you hold of this subject."), "",
                      "| 字段 Field | 说明 Meaning |", "| --- | --- |", "| `erased_at` | 删除时间 / when erased |", ""]
            continue
        rule = agency.events[type_]
        lines += ["| 字段 Field | 说明 Meaning |", "| --- | --- |"]
        lines += [f"| `{name}` | {FIELD_ZH.get(name, name)} |" for name in rule.fields] or ["| （无，只计数） | |"]
        lines.append("")
        if rule.reveal:
            lines += ["依法提供的个人信息 / Revealed with a legal basis:", "",
                      "| 字段 Field | 说明 Meaning | 法律依据 Legal basis |", "| --- | --- | --- |"]
            lines += [f"| `{name}` | {REVEAL_ZH.get(name, name)} | {basis} |" for name, basis in rule.reveal.items()]
            lines.append("")
        if rule.where:
            lines += ["仅限 / Only when: " + "，".join(f"`{k}` = {v}" for k, v in rule.where.items()), ""]
        if rule.known_only:
            lines += ["仅限贵单位已收到过消息的人员 / Only about people you were already told of.", ""]
    lines += ["## 审计检查点 / Audit checkpoints", "",
              (f"主题 / Subject：`witness.{agency.id}.<service>.checkpoint`：平台各服务的签名审计检查点（Ed25519），"
               "请原样保存 / signed audit checkpoints, keep them as they are."), ""]
    return "\n".join(lines)


def _write_json(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")
    return path


def export_agency_docs(target: Path, book: AgencyBook) -> list[Path]:
    """Write `<target>/agencies/<agency>/` for every agency of the book; returns the files written."""
    written: list[Path] = []
    for agency in book.agencies:
        root = target / "agencies" / agency.id
        models = message_models(agency)
        written.append(_write_json(root / "asyncapi.json", asyncapi(agency, models)))
        schemas: dict[str, type[BaseModel]] = {**models, CHECKPOINT: Checkpoint}
        for type_, model in schemas.items():
            schema = model.model_json_schema(mode="validation")
            schema["$id"] = f"urn:wanqing:agency:{agency.id}:{type_}"
            written.append(_write_json(root / "schemas" / f"{type_}.schema.json", schema))
        readme_path = root / "README.md"
        readme_path.write_text(readme(agency, models), "utf-8")
        written.append(readme_path)
    return written


def regenerate(docs: Path = DOCS_GENERATED) -> list[Path]:
    """Replace the repository's copy (docs/agencies/generated/<agency>/) with a fresh export."""
    with tempfile.TemporaryDirectory() as tmp:
        export_agency_docs(Path(tmp), load_book())
        if docs.exists():
            shutil.rmtree(docs)
        shutil.copytree(Path(tmp) / "agencies", docs)
    return sorted(p for p in docs.rglob("*") if p.is_file())


if __name__ == "__main__":
    print(f"wrote {len(regenerate())} files under {DOCS_GENERATED}")  # noqa: T201
