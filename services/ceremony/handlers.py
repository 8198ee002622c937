"""Thin command handlers: load, decide, (generate a document,) record; the read models and timers follow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backbone.aggregate import load_state
from backbone.paths import PathEscapeError, under
from backbone.recording import CommandContext
from contracts.base import Accepted
from contracts.ceremony import (
    DEFAULT_MODE,
    BatchCeremonyCommand,
    CeremonyCaseCommand,
    GiveThankYouLetter,
    IssueCertificate,
    SetCeremonyMode,
    batch_id,
    batch_stream,
    case_stream,
    unit_stream,
)
from contracts.errors import refused
from services.ceremony import batch, case, unit_mode
from services.ceremony.archive_lookup import ArchiveLookup
from services.ceremony.batch import Batch
from services.ceremony.case import Case, Document, Facts, certificate_number
from services.ceremony.documents import Certificate, ThankYouLetter, render_certificate, render_thank_you_letter
from services.ceremony.policy import CeremonyPolicy


@dataclass(frozen=True)
class Handlers:
    policy: CeremonyPolicy
    archive: ArchiveLookup
    documents_dir: Path  # <WANQING_DATA_DIR>/documents/ceremony

    async def set_mode(self, ctx: CommandContext, cmd: SetCeremonyMode) -> Accepted:
        stream = unit_stream(cmd.unit)
        state, version = await load_state(ctx.conn, ctx.store, stream, unit_mode.evolve, DEFAULT_MODE)
        return await ctx.record(stream, version, unit_mode.decide(cmd, state), unit=cmd.unit)

    async def batch_command(self, ctx: CommandContext, cmd: BatchCeremonyCommand) -> Accepted:
        stream = batch_stream(batch_id(cmd.unit, cmd.year, cmd.half))
        state, version = await load_state(ctx.conn, ctx.store, stream, batch.evolve, Batch())
        events = batch.decide(cmd, state, self.policy.today(ctx.now))
        return await ctx.record(stream, version, events, unit=cmd.unit)

    async def case_command(self, ctx: CommandContext, cmd: CeremonyCaseCommand) -> Accepted:
        stream = case_stream(cmd.retiree_id)
        state, version = await load_state(ctx.conn, ctx.store, stream, case.evolve, Case())
        facts = Facts(today=self.policy.today(ctx.now))
        if not isinstance(cmd, IssueCertificate | GiveThankYouLetter):
            return await ctx.record(stream, version, case.decide(cmd, state, facts), unit=state.unit)
        case.check(cmd, state, facts)  # refuse before a number is taken or a file written
        document = await self._document(ctx, cmd, state, facts)
        reply = await ctx.record(stream, version, case.decide(cmd, state, Facts(facts.today, document)),
                                 unit=state.unit)
        # The office writes the number on the certificate's cover and in its register: say it.
        return reply.model_copy(update={"summary": {"certificate_number": document.number,
                                                    "document_path": document.path}})

    async def _document(self, ctx: CommandContext, cmd: IssueCertificate | GiveThankYouLetter, state: Case,
                        facts: Facts) -> Document:
        name = await self.archive.retiree_name(cmd.retiree_id, "生成退休证" if isinstance(cmd, IssueCertificate)
                                               else "生成感谢信")
        row = await ctx.conn.fetchrow(
            "SELECT u.name AS unit_name, c.document_number, r.retirement_date, "
            "EXISTS (SELECT 1 FROM ceremony.party_members p WHERE p.retiree_id = c.retiree_id) AS party_member "
            "FROM ceremony.cases c LEFT JOIN ceremony.units u ON u.code = c.unit "
            "LEFT JOIN ceremony.retirees r USING (retiree_id) WHERE c.retiree_id = $1", cmd.retiree_id)
        unit_name = (row and row["unit_name"]) or state.unit
        try:
            folder = under(self.documents_dir, state.unit, str(cmd.retiree_id))
        except PathEscapeError as exc:  # a unit code the contract should have refused: never write outside
            raise refused(f"no document can be written for unit {state.unit!r}: {exc}",
                          zh="单位代码有误，无法生成文书", field="unit") from exc
        if isinstance(cmd, GiveThankYouLetter):
            letter = ThankYouLetter(name=name, unit_name=unit_name, approved_on=state.approved_on,
                                    signed_by=cmd.signed_by, issued_on=facts.today,
                                    party_member=bool(row and row["party_member"]))
            return Document(path=str(render_thank_you_letter(folder / "感谢信.pdf", letter)))
        number = certificate_number(state.unit, facts.today.year,
                                    await self._next_certificate_sequence(ctx, state.unit, facts.today.year))
        cert = Certificate(name=name, unit_name=unit_name, certificate_number=number,
                           approved_on=state.approved_on, retirement_date=row["retirement_date"] if row else None,
                           document_number=(row and row["document_number"]) or "", issued_on=facts.today)
        return Document(path=str(render_certificate(folder / f"退休证-{number}.pdf", cert)), number=number)

    @staticmethod
    async def _next_certificate_sequence(ctx: CommandContext, unit: str, year: int) -> int:
        """The row lock is held until this transaction ends: concurrent issues queue, a rollback returns it."""
        seq: int = await ctx.conn.fetchval(
            "INSERT INTO ceremony.certificate_sequences AS s (unit, year, last) VALUES ($1, $2, 1) "
            "ON CONFLICT (unit, year) DO UPDATE SET last = s.last + 1 RETURNING last", unit, year)
        return seq
