"""On PersonalDataErased: the person's documents on disk (certificates, letters, which carry their name) are
overwritten and deleted, in every unit's folder they were made in; a short notice in Chinese takes their place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import structlog

from backbone.db import Connection
from backbone.events import EventMeta, Routes
from backbone.paths import under
from contracts.base import LOCAL_TZ
from contracts.profiles import PersonalDataErased

log = structlog.get_logger()
NOTICE = "已删除.txt"


def shred_file(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())
    path.unlink()


@dataclass(frozen=True)
class ErasedDocuments:
    documents_dir: Path  # <WANQING_DATA_DIR>/documents/ceremony/<unit>/<retiree>/

    def folders_of(self, retiree_id: str) -> list[Path]:
        if not self.documents_dir.is_dir():
            return []
        return [under(self.documents_dir, unit.name, retiree_id) for unit in self.documents_dir.iterdir()
                if unit.is_dir() and (unit / retiree_id).is_dir()]

    async def erased(self, _conn: Connection, event: PersonalDataErased, meta: EventMeta) -> None:
        removed = 0
        for folder in self.folders_of(str(event.retiree_id)):
            for doc in folder.iterdir():
                if doc.is_file() and doc.name != NOTICE:
                    shred_file(doc)
                    removed += 1
            (folder / NOTICE).write_text(
                f"该人员的个人信息已于 {meta.occurred_at.astimezone(LOCAL_TZ):%Y年%m月%d日} 依法删除，"
                f"原有证书和文书已销毁（共 {removed} 份）。\n", encoding="utf-8")
        log.info("documents_erased", retiree_id=str(event.retiree_id), removed=removed)

    @property
    def routes(self) -> Routes:
        return Routes.of({PersonalDataErased: self.erased})
