"""The S3-compatible file store: AWS S3, MinIO, Cloudflare R2, Scaleway, OVHcloud, Backblaze B2, Wasabi…

Objects are the blobs `jasping.storage` already encrypted with the organization's data key: the provider never sees
a file's content. Keys are the references themselves, `org/area/name`. boto3 is imported here only, so the default
install (local files) does not need it: `pip install 'jasping[s3]'`.

Any failure to reach the bucket (connection refused, timeout, wrong credentials, missing bucket, a 5xx) becomes
`StorageUnavailable` with a message an operator can act on; the details go to the log.
"""

from __future__ import annotations

import logging
from typing import Any

from jasping.config import Settings
from jasping.storage import StorageUnavailable, check_ref

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
_MISSING = ("404", "NoSuchKey", "NotFound")


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "JASPING_FILES_BACKEND=s3 needs boto3: install JasPing with the s3 extra (pip install 'jasping[s3]')"
        ) from exc
    return boto3


class S3Store:
    """Blobs as objects of one bucket."""

    name = "s3"

    def __init__(self, client: Any, bucket: str):
        self.client, self.bucket = client, bucket

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        if not settings.s3_bucket:
            raise RuntimeError("JASPING_FILES_BACKEND=s3 needs JASPING_S3_BUCKET (and usually JASPING_S3_ENDPOINT_URL)")
        boto3 = _boto3()
        from botocore.config import Config

        config = Config(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"max_attempts": 3, "mode": "standard"},
            # Path-style URLs (endpoint/bucket/key) work on every S3-compatible server; AWS keeps virtual hosts.
            s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
            # Only the checksums the API requires: several S3-compatible servers refuse boto3's default CRC32 headers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region or None,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            config=config,
        )
        return cls(client, settings.s3_bucket)

    def _unavailable(self, action: str, ref: str, exc: Exception) -> StorageUnavailable:
        code = _code(exc)
        log.error("S3 %s of %s in bucket %s failed: %s", action, ref, self.bucket, exc)
        if code == "NoSuchBucket":
            reason = f"the bucket {self.bucket!r} does not exist"
        elif code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            reason = f"the bucket {self.bucket!r} refused the credentials"
        else:
            reason = f"the bucket {self.bucket!r} cannot be reached"
        return StorageUnavailable(f"the file store is unavailable ({reason}); try again in a moment")

    def write(self, ref: str, blob: bytes) -> None:
        key = check_ref(ref)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=blob, ContentType="application/octet-stream")
        except Exception as exc:  # noqa: BLE001 - botocore's errors are many; all mean "not stored"
            raise self._unavailable("upload", ref, exc) from exc

    def read(self, ref: str) -> bytes:
        key = check_ref(ref)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            return answer["Body"].read()
        except Exception as exc:  # noqa: BLE001
            if _code(exc) in _MISSING:
                raise FileNotFoundError(f"no stored file {ref}") from exc
            raise self._unavailable("download", ref, exc) from exc

    def exists(self, ref: str) -> bool:
        key = check_ref(ref)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except Exception as exc:  # noqa: BLE001
            if _code(exc) in _MISSING:
                return False
            raise self._unavailable("lookup", ref, exc) from exc

    def remove(self, ref: str) -> bool:
        existed = self.exists(ref)  # S3 answers a delete the same whether the object was there or not
        if existed:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=check_ref(ref))
            except Exception as exc:  # noqa: BLE001
                raise self._unavailable("delete", ref, exc) from exc
        return existed


def _code(exc: Exception) -> str:
    """The S3 error code of a botocore `ClientError` (`NoSuchKey`, `404`, `AccessDenied`…), else ""."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""
