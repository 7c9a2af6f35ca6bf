"""Password hashing with argon2id, and the password policy: a minimum length and no common (breached) password.

The list in `data/common-passwords.txt.gz` is the 20,000 most common passwords from public breaches (lowercased,
deduplicated), compiled by Royce Williams and shipped by Django (`django/contrib/auth/common-passwords.txt.gz`,
BSD-3-Clause). It is read from the package, never downloaded. A password is refused when it is on the list, or is a
listed password followed by digits and punctuation only ("iloveyou2026!"), the first variation attackers try.
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
MIN_LENGTH = 12
COMMON_LIST = Path(__file__).parent / "data" / "common-passwords.txt.gz"
_SUFFIX = re.compile(r"[\d\W_]+$")


class WeakPassword(ValueError):
    """The password is too short or too common to protect an account."""


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def is_common(password: str) -> bool:
    """Whether the password (case-insensitively) is a common one, or one with digits or symbols added at its end."""
    lowered = password.strip().lower()
    common = common_passwords()
    if lowered in common or lowered.replace(" ", "") in common:
        return True
    base = _SUFFIX.sub("", lowered)
    return len(base) >= 4 and base != lowered and base in common


def check_strength(password: str, *, email: str | None = None) -> None:
    """`WeakPassword` with the reason when the password may not protect an account."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakPassword("the password repeats too few different characters")
    if is_common(password):
        raise WeakPassword("this password is among the most common ones found in data breaches; choose another")
    if email:
        local = email.split("@", 1)[0].lower()
        if password.lower() in (email.lower(), local):
            raise WeakPassword("the password must not be your email address")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


DUMMY_HASH = _hasher.hash("jasping-timing-equaliser")
