"""Google Drive for a connected integration: customers' files copied into the agent's folder (`drive.file` scope:
JasPing sees only what it made). The folder is looked up among JasPing's own files by name, made when missing,
and its id kept in the integration's settings.
"""

from __future__ import annotations

import json
import secrets

from jasping.integrations.google_api import call, segment
from jasping.integrations.models import Integration

FOLDER = "application/vnd.google-apps.folder"


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ensure_folder(integration: Integration) -> str:
    """The id of the integration's folder, made the first time (and remembered in its settings)."""
    settings = dict(integration.settings or {})
    if settings.get("drive_folder_id"):
        return settings["drive_folder_id"]
    name = settings.get("drive_folder") or "JasPing"
    query = f"name = {_quoted(name)} and mimeType = '{FOLDER}' and trashed = false"
    params = {"q": query, "spaces": "drive", "fields": "files(id,name)", "pageSize": 1}
    found = call(integration, "GET", "drive", "drive/v3/files", params=params).json().get("files") or []
    if found:
        folder = found[0]["id"]
    else:
        body = {"name": name, "mimeType": FOLDER}
        folder = call(integration, "POST", "drive", "drive/v3/files", params={"fields": "id"}, json=body).json()["id"]
    integration.settings = {**settings, "drive_folder_id": folder}
    return folder


def upload_file(integration: Integration, *, name: str, content: bytes, mime_type: str) -> dict:
    """Copy a file into the folder (one multipart upload); returns Google's `{"id", "name", "mimeType", "size"}`."""
    metadata = {"name": name, "parents": [ensure_folder(integration)], "mimeType": mime_type}
    boundary = f"jasping-{secrets.token_hex(16)}"
    body = b"".join(
        [
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
            json.dumps(metadata, ensure_ascii=False).encode(),
            f"\r\n--{boundary}\r\nContent-Type: {mime_type}\r\n\r\n".encode(),
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    params = {"uploadType": "multipart", "fields": "id,name,mimeType,size"}
    headers = {"Content-Type": f"multipart/related; boundary={boundary}"}
    return call(
        integration, "POST", "drive", "upload/drive/v3/files", params=params, content=body, headers=headers
    ).json()


def delete_file(integration: Integration, file_id: str) -> None:
    """Delete a copied file (erasure); one already gone is fine."""
    call(integration, "DELETE", "drive", f"drive/v3/files/{segment(file_id)}", also_ok=(404,))
