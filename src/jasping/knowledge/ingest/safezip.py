"""Checks on ZIP containers (DOCX, XLSX) before any library decompresses them."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from jasping.knowledge.types import IngestError

_NESTED_SUFFIXES = (".zip", ".jar", ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".odt", ".ods", ".odp", ".epub")


@dataclass(frozen=True)
class ZipLimits:
    """Caps on a ZIP container: members, total uncompressed size, compression ratio, nesting depth."""

    max_members: int = 10_000
    max_total_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 100.0
    ratio_min_bytes: int = 1024 * 1024  # small members may compress very well without being a threat
    max_depth: int = 2


DEFAULT_LIMITS = ZipLimits()


def _bomb(detail: str) -> IngestError:
    return IngestError(
        "archive_bomb",
        f"This file looks like a compression bomb ({detail}), so we did not open it. "
        "If it is a genuine document, open it and save it again, then upload the new copy.",
    )


def open_zip(data: bytes) -> zipfile.ZipFile:
    """Open bytes as a ZIP archive, or raise IngestError('corrupt_file')."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise IngestError(
            "corrupt_file", "This file is damaged or incomplete (its ZIP structure is broken). Try saving it again."
        ) from exc


def check_archive(data: bytes, limits: ZipLimits = DEFAULT_LIMITS, *, depth: int = 0) -> None:
    """Raise IngestError('archive_bomb') when the archive is too big, too compressed or nested too deep."""
    if depth > limits.max_depth:
        raise _bomb("archives nested inside archives")
    with open_zip(data) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise _bomb(f"more than {limits.max_members:,} files inside")
        total = sum(info.file_size for info in infos)
        if total > limits.max_total_bytes:
            raise _bomb(f"it would expand to more than {limits.max_total_bytes // (1024 * 1024)} MB")
        packed = sum(info.compress_size for info in infos)
        if total > limits.ratio_min_bytes and total > limits.max_ratio * max(packed, 1):
            raise _bomb(f"compressed more than {limits.max_ratio:.0f} to 1")
        for info in infos:
            if info.flag_bits & 0x1:
                raise IngestError("encrypted_file", "This file is password-protected. Remove it and upload again.")
            size = info.file_size
            if size > limits.ratio_min_bytes and size > limits.max_ratio * max(info.compress_size, 1):
                raise _bomb(f"compressed more than {limits.max_ratio:.0f} to 1")
        for info in infos:
            if info.is_dir():
                continue
            nested = info.filename.lower().endswith(_NESTED_SUFFIXES)
            if not nested:
                with archive.open(info) as member:
                    nested = member.read(4) == b"PK\x03\x04"
            if nested:
                check_archive(archive.read(info), limits, depth=depth + 1)


def member_names(data: bytes) -> set[str]:
    """The names inside a ZIP archive (raises IngestError('corrupt_file') when it is not one)."""
    with open_zip(data) as archive:
        return set(archive.namelist())
