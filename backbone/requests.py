"""Reading a request body: strictly against the message's published schema, with refusals people can read.

JSON is parsed in pydantic's strict mode, so what the published JSON Schema refuses the service refuses too (a
number where a date-time is due, "1" where an integer is due). Each problem is named by its field, in Chinese
for people and in English for developers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ValidationError

from backbone.envelope import canonical
from contracts.base import Actor, Refused
from contracts.errors import ErrorCode

# Pydantic's error types, as staff read them.
PROBLEMS_ZH: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不是这条请求的字段",
    "string_type": "应为文字",
    "string_too_short": "不能为空或太短",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "bool_type": "应为是或否（true / false）",
    "datetime_type": "应为日期时间，如 2027-03-01T09:00:00+08:00",
    "datetime_parsing": "应为日期时间，如 2027-03-01T09:00:00+08:00",
    "datetime_from_date_parsing": "应为日期时间，如 2027-03-01T09:00:00+08:00",
    "timezone_aware": "日期时间须带时区，如 +08:00",
    "date_type": "应为日期，如 2027-03-01",
    "date_parsing": "应为日期，如 2027-03-01",
    "date_from_datetime_parsing": "应为日期，如 2027-03-01",
    "date_from_datetime_inexact": "应为日期，如 2027-03-01",
    "uuid_type": "应为编号（UUID）",
    "uuid_parsing": "应为编号（UUID）",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
    "greater_than_equal": "太小",
    "greater_than": "太小",
    "less_than_equal": "太大",
    "less_than": "太大",
    "too_short": "项数太少",
    "too_long": "项数太多",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "json_invalid": "不是有效的 JSON",
}
UNREADABLE_ZH = "请求内容无法识别：不是有效的 JSON 对象"
MAX_BODY_BYTES = 4 * 1024 * 1024  # the largest real request, a 2,000-row roster batch, is well under 1 MiB
MAX_DEPTH = 32  # no message nests deeper than a handful of levels


def _depth_and_nul(value: Any, path: str = "", depth: int = 0) -> tuple[int, str | None]:
    """The nesting depth of a parsed body, and the first field whose text holds a NUL (Postgres cannot store
    it). Stops descending past MAX_DEPTH.
    """
    if depth > MAX_DEPTH:
        return depth, None
    if isinstance(value, str):
        return depth, (path or "(body)") if "\x00" in value else None
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    deepest, nul = depth, None
    for key, child in children:
        d, n = _depth_and_nul(child, f"{path}.{key}" if path else str(key), depth + 1)
        deepest, nul = max(deepest, d), nul or n
        if deepest > MAX_DEPTH:
            break
    return deepest, nul


def refusal(code: ErrorCode, zh: str, message: str, **details: Any) -> Refused:
    return Refused(code=code, message=zh, developer_message=message, details=details)


def _problems(exc: ValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors(include_url=False, include_input=False):
        ctx = e.get("ctx") or {}
        zh = PROBLEMS_ZH.get(e["type"], "格式不正确")
        if e["type"] in ("enum", "literal_error") and "expected" in ctx:
            zh = f"只能是 {ctx['expected']}"
        elif e["type"] == "value_error":
            zh = f"不符合要求（{ctx.get('error', e['msg'])}）"
        out.append({"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"], "problem_zh": zh,
                    "kind": e["type"]})
    return out


def parse_body(model: type[BaseModel], body: bytes, actor: Actor | None) -> BaseModel | Refused:  # noqa: PLR0911 - one exit per refusal
    """The request as its model, with the actor of the verified credential (never one the body names);
    `actor` None for the requests that carry no credential (a login), whose models have no actor at all.
    """
    if len(body) > MAX_BODY_BYTES:
        return refusal(ErrorCode.VALIDATION, f"请求内容过大（超过 {MAX_BODY_BYTES // 1024 // 1024} MB），请分批提交",
                       f"the body is {len(body)} bytes, more than {MAX_BODY_BYTES}")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return refusal(ErrorCode.VALIDATION, UNREADABLE_ZH, f"malformed JSON: {exc}")
    except RecursionError:
        return refusal(ErrorCode.VALIDATION, "请求内容嵌套层数过多，无法识别", "the body is nested too deeply")
    if not isinstance(payload, dict):
        return refusal(ErrorCode.VALIDATION, UNREADABLE_ZH, "the body must be a JSON object")
    depth, nul = _depth_and_nul(payload)
    if depth > MAX_DEPTH:
        return refusal(ErrorCode.VALIDATION, "请求内容嵌套层数过多，无法识别",
                       f"the body is nested more than {MAX_DEPTH} levels deep")
    if nul is not None:
        return refusal(ErrorCode.VALIDATION, f"请求内容有误：{nul}：含有不可保存的空字符（NUL），请删除后重试",
                       f"{nul}: text holds a NUL character, which cannot be stored", field=nul)
    if "actor" in payload:
        return refusal(ErrorCode.VALIDATION, "请求中不能指定办理人：办理人以登录凭证为准",
                       "the body names an actor: who acts is taken from the credential alone", field="actor")
    if actor is not None:
        body = json.dumps({**payload, "actor": actor.model_dump(mode="json")}, ensure_ascii=False).encode()
    try:
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        errors = _problems(exc)
        en = "; ".join(f"{e['field'] or '(body)'}: {e['problem']}" for e in errors)
        zh = "；".join(f"{e['field'] or '请求'}：{e['problem_zh']}" for e in errors)
        return refusal(ErrorCode.VALIDATION, f"请求内容有误：{zh}", f"invalid {model.__name__}: {en}", errors=errors)


def fingerprint(name: str, request: BaseModel) -> bytes:
    """The identity of a request: its name and its whole body, canonically (an identical repeat is the same)."""
    return hashlib.sha256(name.encode() + b"\n" + canonical(request.model_dump(mode="json"))).digest()
