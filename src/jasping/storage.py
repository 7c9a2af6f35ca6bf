"""Files at rest: encrypted with the organization's data key here, then kept by a `FileStore` backend.

`JASPING_FILES_BACKEND` chooses the backend: `local` (the default: files under the data directory) or `s3` (any
S3-compatible object storage, see `jasping.storage_s3`). Either way the bytes are encrypted before they leave this
module (AES-256-GCM, `jasping.crypto`), so a disk thief or the storage provider only ever holds ciphertext.

Callers keep a reference `org/area/name` in the database and use the module functions `put`, `get`, `delete` and
`exists`. A store that cannot be reached raises `StorageUnavailable` (a 503 for a request), before anything is written
to the database by `put`'s callers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import Protocol

from jasping.config import Settings, get_settings
from jasping.crypto import get_keyring
from jasping.errors import DomainError

log = logging.getLogger(__name__)

_SAFE = re.compile(r"^[A-Za-z0-9_\-]+$")


class StorageUnavailable(DomainError):
    """The file store could not be reached or refused the operation; trying again later may help."""

    status, code = 503, "storage_unavailable"
    headers = {"Retry-After": "30"}


class FileStore(Protocol):
    """Keeps opaque (already encrypted) blobs under validated references `org/area/name`."""

    name: str

    def write(self, ref: str, blob: bytes) -> None:
        """Store `blob` under `ref`, replacing what was there; all or nothing. Raises `StorageUnavailable`."""

    def read(self, ref: str) -> bytes:
        """The blob under `ref`; `FileNotFoundError` when there is none, `StorageUnavailable` when unreachable."""

    def remove(self, ref: str) -> bool:
        """Remove the blob under `ref`; True if it existed. Raises `StorageUnavailable`."""

    def exists(self, ref: str) -> bool:
        """Whether a blob is stored under `ref`. Raises `StorageUnavailable`."""


def check_ref(ref: str) -> str:
    """`ref` itself when it is `org/area/name` of safe characters (no path tricks), else `ValueError`."""
    parts = ref.split("/")
    if len(parts) != 3 or not all(_SAFE.match(p) for p in parts):
        raise ValueError(f"invalid file reference {ref!r}")
    return ref


class LocalStore:
    """Blobs as files under `<data dir>/files/org/area/name`, written through a temporary file and a rename."""

    name = "local"

    def __init__(self, root: Path):
        self.root = root

    def _path(self, ref: str) -> Path:
        return self.root.joinpath(*check_ref(ref).split("/"))

    def write(self, ref: str, blob: bytes) -> None:
        path = self._path(ref)
        tmp = path.with_suffix(".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(blob)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            log.error("cannot write %s under %s: %s", ref, self.root, exc)
            raise StorageUnavailable(
                "the file could not be stored (the server's disk refused it); try again later"
            ) from exc

    def read(self, ref: str) -> bytes:
        return self._path(ref).read_bytes()

    def remove(self, ref: str) -> bool:
        path = self._path(ref)
        if path.exists():
            path.unlink()
            return True
        return False

    def exists(self, ref: str) -> bool:
        return self._path(ref).is_file()


_stores: dict[tuple, FileStore] = {}
_lock = threading.Lock()


def _key(settings: Settings) -> tuple:
    if settings.files_backend == "s3":
        return (
            "s3",
            settings.s3_endpoint_url,
            settings.s3_bucket,
            settings.s3_region,
            settings.s3_access_key_id,
            settings.s3_secret_access_key,
        )
    return ("local", str(settings.data_dir))


def store(settings: Settings | None = None) -> FileStore:
    """The configured backend (one per configuration, made on first use)."""
    settings = settings or get_settings()
    key = _key(settings)
    with _lock:
        if key not in _stores:
            if key[0] == "s3":
                from jasping.storage_s3 import S3Store  # boto3 is only needed with this backend

                _stores[key] = S3Store.from_settings(settings)
            else:
                _stores[key] = LocalStore(settings.data_dir / "files")
        return _stores[key]


def put(*, org_id: str, area: str, name: str, data: bytes, scope: str | None = None) -> str:
    """Store `data` encrypted (under `scope`'s data key, the organization's by default); returns a reference
    `org/area/name` to keep in the database."""
    ref = check_ref(f"{org_id}/{area}/{name}")
    store().write(ref, get_keyring().encrypt_bytes(scope or org_id, data))
    return ref


def get(ref: str) -> bytes:
    """The decrypted bytes of a stored file (`FileNotFoundError` if it is gone)."""
    return get_keyring().decrypt_bytes(store().read(check_ref(ref)))


def exists(ref: str | None) -> bool:
    return bool(ref) and store().exists(check_ref(ref))


def delete(ref: str | None, *, strict: bool = False) -> bool:
    """Remove a stored file; True if it existed. A store that cannot be reached is logged and answers False (this
    runs in commit and rollback hooks, which must not fail); with `strict`, it raises `StorageUnavailable` instead
    (erasure, which must know and try again)."""
    if not ref:
        return False
    try:
        return store().remove(check_ref(ref))
    except StorageUnavailable:
        if strict:
            raise
        log.error("the stored file %s could not be deleted now: the file store is unavailable", ref)
        return False
