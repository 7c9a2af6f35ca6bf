"""Files at rest: encrypted with the organization's data key, in the data directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

from jasping.config import get_settings
from jasping.crypto import get_keyring

_SAFE = re.compile(r"^[A-Za-z0-9_\-]+$")


def _root() -> Path:
    return get_settings().data_dir / "files"


def _path(ref: str) -> Path:
    parts = ref.split("/")
    if len(parts) != 3 or not all(_SAFE.match(p) for p in parts):
        raise ValueError(f"invalid file reference {ref!r}")
    return _root().joinpath(*parts)


def put(*, org_id: str, area: str, name: str, data: bytes) -> str:
    """Store `data` encrypted; returns a reference `org/area/name` to keep in the database."""
    ref = f"{org_id}/{area}/{name}"
    path = _path(ref)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(get_keyring().encrypt_bytes(org_id, data))
    os.replace(tmp, path)
    return ref


def get(ref: str) -> bytes:
    return get_keyring().decrypt_bytes(_path(ref).read_bytes())


def delete(ref: str | None) -> bool:
    """Remove a stored file; True if it existed."""
    if not ref:
        return False
    path = _path(ref)
    if path.exists():
        path.unlink()
        return True
    return False
