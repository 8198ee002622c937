"""Downloading a case's documents (GetDocument): the certificate and the thank-you letter bear the person's name,
so each answer is authorised like the case itself and written to ceremony's read-access log.

The stored path came from data (a unit code, a retiree id): it is opened only if it resolves under the documents
folder. An erased person's documents were overwritten and deleted (services/ceremony/erasure.py): the answer says
so instead of "not found".
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from backbone import read_access
from backbone.db import Connection
from contracts.ceremony import DocumentKind, GetDocument, ListReadAccess
from contracts.errors import DomainError, ErrorCode, forbidden, not_found
from services.ceremony.erasure import NOTICE

COLUMN = {DocumentKind.CERTIFICATE: "certificate_path", DocumentKind.THANK_YOU_LETTER: "letter_path"}
KIND_ZH = {DocumentKind.CERTIFICATE: "荣誉退休证", DocumentKind.THANK_YOU_LETTER: "感谢信"}


class DocumentDesk:
    def __init__(self, documents_dir: Path) -> None:
        self._root = documents_dir.resolve()

    async def get_document(self, conn: Connection, q: GetDocument, _now: datetime) -> dict[str, Any]:
        row = await conn.fetchrow(
            f"SELECT unit, {COLUMN[q.kind]} AS path FROM ceremony.case_overview WHERE retiree_id = $1", q.retiree_id)
        if row is None:
            raise not_found(f"no honorary-retirement case for retiree {q.retiree_id}",
                            zh="该退休人员没有荣誉退休仪式记录")
        if not q.actor.may_act_for(row["unit"]) and not q.actor.is_person(q.retiree_id):
            raise forbidden(f"{q.actor.user} of {q.actor.unit} may not read documents of unit {row['unit']}",
                            zh=f"无权下载其他单位（{row['unit']}）的文书")
        if row["path"] is None:
            raise not_found(f"no {q.kind.value} was issued for retiree {q.retiree_id}",
                            zh=f"尚未为该退休人员生成{KIND_ZH[q.kind]}")
        path, content = await asyncio.to_thread(self._read, Path(row["path"]), q)
        await conn.execute(
            "INSERT INTO ceremony.read_access (user_id, role, actor_unit, query, retiree_id, document, purpose) "
            "VALUES ($1, $2, $3, 'GetDocument', $4, $5, $6)",
            q.actor.user, q.actor.role.value, q.actor.unit, q.retiree_id, q.kind.value, q.purpose)
        return {"retiree_id": str(q.retiree_id), "kind": q.kind.value, "filename": path.name,
                "content_type": "application/pdf", "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(), "content_base64": base64.b64encode(content).decode()}

    def _read(self, stored: Path, q: GetDocument) -> tuple[Path, bytes]:
        """The file's bytes, refused unless the stored path resolves under the documents folder."""
        path = stored.resolve()
        if not path.is_relative_to(self._root):
            raise DomainError(ErrorCode.CONFLICT, f"the stored path {path} is not under {self._root}",
                              zh="文书路径不在文书目录内，已拒绝读取")
        if not path.is_file():
            if (path.parent / NOTICE).exists():
                raise DomainError(ErrorCode.CONFLICT, f"the documents of retiree {q.retiree_id} were erased",
                                  zh="该人员的个人信息已删除，文书已销毁")
            raise not_found(f"{path.name} is missing from the documents folder", zh=f"{KIND_ZH[q.kind]}文件不存在")
        return path, path.read_bytes()


async def list_read_access(conn: Connection, q: ListReadAccess, _now: datetime) -> list[Any]:
    return await read_access.list_read_access(conn, "ceremony", q, "query, document, purpose")

