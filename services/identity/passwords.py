"""Passwords: the policy staff read (in Chinese), and argon2id hashing off the event loop.

argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, t=3, 64 MiB, p=4): about a
quarter of a second per hash here. At most HASHING_AT_ONCE hashes run at a time, so a burst of logins costs
bounded memory (64 MiB each) and leaves the event loop free.
"""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contracts.errors import DomainError, refused

MIN_LENGTH = 10
HASHING_AT_ONCE = 2
# The passwords every list of leaked passwords starts with (a longer list belongs in a deployment's policy).
COMMON = frozenset({"1234567890", "12345678910", "123456789a", "a123456789", "qwertyuiop", "1qaz2wsx3edc",
                    "password123", "woaini1314", "abc1234567", "admin12345"})


def problem(user: str, password: str, field: str = "password") -> DomainError | None:
    """What is wrong with a new password, as the refusal to give, or None. Long beats complicated: letters
    and digits, at least ten characters, not the user name, not a famous one.
    """
    if len(password) < MIN_LENGTH:
        return refused(f"a password has at least {MIN_LENGTH} characters",
                       zh=f"密码至少 {MIN_LENGTH} 位，请设置更长的密码", field=field)
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        return refused("a password has both letters and digits", zh="密码须同时包含字母和数字", field=field)
    if user.lower() in password.lower():
        return refused("a password may not contain the user name", zh="密码不能包含用户名", field=field)
    if password.lower() in COMMON:
        return refused("this password is among the most common ones", zh="该密码过于常见，容易被猜中，请换一个",
                       field=field)
    if password.strip() != password:
        return refused("a password may not begin or end with a space", zh="密码首尾不能有空格", field=field)
    return None


class Hashing:
    """argon2id hashing and verification in worker threads, a bounded number at once."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(HASHING_AT_ONCE)
        # Verified when the user is unknown or has no password, so a failure takes as long either way and
        # the answer's timing does not tell which user names exist.
        self._decoy = self._hasher.hash("decoy password 0")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
