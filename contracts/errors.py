"""Stable error codes of command and query replies (ARCHITECTURE §6)."""

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

    def __init__(self, code: ErrorCode, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def refused(message: str, **details: object) -> DomainError:
    return DomainError(ErrorCode.VALIDATION, message, **details)


def not_found(message: str, **details: object) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, message, **details)


def conflict(message: str, **details: object) -> DomainError:
    return DomainError(ErrorCode.CONFLICT, message, **details)


def forbidden(message: str, **details: object) -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message, **details)
