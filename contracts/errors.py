"""Stable error codes of command and query replies (ARCHITECTURE §6), and the refusal deciders raise.

A refusal speaks to two readers: `zh` is what staff read (Chinese, with the domain's words), `message` is the
English detail for developers and logs. Both are required, so no refusal reaches a person in English.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"


class DomainError(Exception):
    """A refusal with a stable code; raised by deciders and mapped one-to-one onto a failure reply."""

    def __init__(self, code: ErrorCode, message: str, *, zh: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.zh = zh
        self.details = details


def refused(message: str, *, zh: str, **details: object) -> DomainError:
    return DomainError(ErrorCode.VALIDATION, message, zh=zh, **details)


def not_found(message: str, *, zh: str, **details: object) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, message, zh=zh, **details)


def conflict(message: str, *, zh: str, **details: object) -> DomainError:
    return DomainError(ErrorCode.CONFLICT, message, zh=zh, **details)


def forbidden(message: str, *, zh: str, **details: object) -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message, zh=zh, **details)
