"""Signed, expiring tokens for links sent by email (appointment links, account restore links).

A token's signature is an HMAC-SHA256 of its body under a key derived (HKDF) from the master key with a purpose of
its own, so a token made for one purpose never verifies for another. Tokens made before a master-key rotation still
verify with the old keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jasping.config import get_settings
from jasping.crypto import load_master_keys


def keys(purpose: str) -> list[bytes]:
    """The signing keys of `purpose`: the current master key's first, then those of the older master keys."""
    current, old = load_master_keys(get_settings(), create=True)
    info = f"jasping {purpose}".encode()
    return [HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw) for raw in [current, *old]]


def signature(key: bytes, body: str) -> str:
    """The URL-safe HMAC-SHA256 of `body` (43 characters)."""
    digest = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def sign(purpose: str, body: str) -> str:
    """`body` followed by a dot and its signature under the current key of `purpose`."""
    return f"{body}.{signature(keys(purpose)[0], body)}"


def verify(purpose: str, body: str, sig: str) -> bool:
    """Whether `sig` signs `body` for `purpose` under the current or an older master key."""
    return any(hmac.compare_digest(signature(key, body), sig) for key in keys(purpose))
