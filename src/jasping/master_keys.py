"""Master keys: read from `JASPING_MASTER_KEY` or the `master.key` file (mode 0600) in the data directory, created
on first run; older ones (`JASPING_OLD_MASTER_KEYS`, `master.key.old-*`) still unwrap during a rotation. The
keyring in `jasping.crypto` wraps the data keys with them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from pathlib import Path

from jasping.config import Settings


class CryptoError(Exception):
    """Encrypted data could not be read or written."""


class MasterKeyError(CryptoError):
    """The master key is missing, malformed, or not the one that wrapped the stored data keys."""


def decode_key(text: str) -> bytes:
    """A 32-byte key from base64 (standard or URL-safe) or 64 hex digits."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error) as exc:
        raise MasterKeyError("the master key must be 32 bytes in base64 or 64 hex digits") from exc
    if len(raw) != 32:
        raise MasterKeyError(f"the master key must be 32 bytes (got {len(raw)})")
    return raw


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def key_id(raw: bytes) -> str:
    """A public fingerprint of a master key (never the key)."""
    return hashlib.sha256(b"jasping-master-key-id:" + raw).hexdigest()[:16]


def write_key_file(path: Path, raw: bytes) -> None:
    """Write a key file readable by its owner only (mode 0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    if tmp.exists():
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(encode_key(raw) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def key_file(settings: Settings) -> Path:
    return settings.data_dir / "master.key"


def load_master_keys(settings: Settings, *, create: bool = True) -> tuple[bytes, list[bytes]]:
    """The current master key and the older ones still accepted for unwrapping."""
    old: list[bytes] = []
    if settings.old_master_keys:
        old += [decode_key(k) for k in settings.old_master_keys.split(",") if k.strip()]
    kf = key_file(settings)
    for path in sorted(kf.parent.glob("master.key.old-*")):
        old.append(decode_key(path.read_text()))
    if settings.master_key:
        return decode_key(settings.master_key), old
    if kf.exists():
        return decode_key(kf.read_text()), old
    if not create:
        raise MasterKeyError(f"no master key: set JASPING_MASTER_KEY or create {kf}")
    raw = secrets.token_bytes(32)
    write_key_file(kf, raw)
    return raw, old
