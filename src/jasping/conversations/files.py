"""Files customers send in a conversation (the `save_file` tool): checked by their bytes, stored encrypted, kept
with the conversation for the team. Channel-agnostic: the widget uploads here, WhatsApp media will too."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jasping import storage
from jasping.config import get_settings
from jasping.conversations import service as conversations
from jasping.conversations.models import Conversation, ConversationFile, Message
from jasping.crypto import get_keyring
from jasping.db import after_rollback, new_id
from jasping.errors import Invalid, NotFound, TooLarge, UnsupportedType
from jasping.integrations import drive_copy
from jasping.knowledge.ingest.safezip import member_names
from jasping.knowledge.types import IngestError

ACCEPTED = "photos (JPEG, PNG, GIF, WebP, HEIC), PDF, Word (.docx), Excel (.xlsx) and text files"
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"heim", b"heis")
_TEXT_SUFFIXES = {".csv": "text/csv", ".md": "text/markdown"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


_AUDIO_VIDEO = (
    (b"OggS", "audio/ogg", ".ogg"),
    (b"ID3", "audio/mpeg", ".mp3"),
    (b"\xff\xfb", "audio/mpeg", ".mp3"),
    (b"\xff\xf3", "audio/mpeg", ".mp3"),
    (b"#!AMR", "audio/amr", ".amr"),
)
_MP4_AUDIO = (b"M4A ", b"M4B ")
_MP4_VIDEO = (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"3gp4", b"3gp5", b"3gp6", b"qt  ", b"dash", b"MSNV")


def _audio_video(data: bytes) -> tuple[str, str] | None:
    """Voice notes and videos (WhatsApp sends them); None when the bytes are neither."""
    for magic, ctype, suffix in _AUDIO_VIDEO:
        if data.startswith(magic):
            return ctype, suffix
    if data[4:8] == b"ftyp":
        if data[8:12] in _MP4_AUDIO:
            return "audio/mp4", ".m4a"
        if data[8:12] in _MP4_VIDEO:
            return ("video/3gpp", ".3gp") if data[8:11] == b"3gp" else ("video/mp4", ".mp4")
    return None


def kind_of(data: bytes, filename: str, *, audio_video: bool = False) -> tuple[str, str]:
    """The content type and usual suffix of a customer's file, from its bytes (the name only tells text kinds
    apart). Anything else — programs, archives, scripts disguised as images — is refused. `audio_video`: voice
    notes and videos are accepted too (a messaging app's media)."""
    if not data:
        raise Invalid("the file is empty", code="empty_file")
    if audio_video and (found := _audio_video(data)):
        return found
    for magic, ctype, suffix in _IMAGES:
        if data.startswith(magic):
            return ctype, suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic", ".heic"
    if data.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = member_names(data)
        except IngestError as exc:
            raise UnsupportedType(f"this archive cannot be accepted: {exc}. We accept {ACCEPTED}.") from exc
        if "word/document.xml" in names:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"
        if "xl/workbook.xml" in names:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"
        raise UnsupportedType(f"compressed archives are not accepted. We accept {ACCEPTED}.")
    if b"\x00" not in data[:8192]:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
        if text is not None and not text.lstrip().lower().startswith(("<!doctype", "<html", "<svg", "<?xml")):
            suffix = PurePosixPath(filename.lower()).suffix
            return _TEXT_SUFFIXES.get(suffix, "text/plain"), suffix if suffix in _TEXT_SUFFIXES else ".txt"
    raise UnsupportedType(f"this kind of file is not accepted. We accept {ACCEPTED}.")


def clean_name(filename: str | None, suffix: str) -> str:
    """A display name: no directories, no control or direction-override characters, at most 120 characters,
    with the suffix of what the file really is."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = _CONTROL.sub("", unicodedata.normalize("NFC", name)).strip(" .")
    stem = name[: -len(PurePosixPath(name).suffix)] if PurePosixPath(name).suffix else name
    stem = stem[:100].strip() or "file"
    return f"{stem}{suffix}"


def save_file(
    session: Session,
    conversation: Conversation,
    *,
    filename: str | None,
    data: bytes,
    channel: str = "web",
    client_message_id: str | None = None,
    audio_video: bool = False,
) -> tuple[ConversationFile, Message]:
    """Store a customer's file with the conversation and the message that carries it. The stored bytes are
    removed again if the transaction does not commit, so no orphan file is left behind."""
    settings = get_settings()
    if len(data) > settings.widget_max_file_mb * 1024 * 1024:
        raise TooLarge(f"the file is larger than {settings.widget_max_file_mb} MB")
    ctype, suffix = kind_of(data, filename or "", audio_video=audio_video)
    count = session.execute(
        select(func.count()).select_from(ConversationFile).where(ConversationFile.conversation_id == conversation.id)
    ).scalar_one()
    if count >= settings.widget_files_per_conversation:
        raise Invalid(f"this conversation already holds {count} files, the most it can take", code="too_many_files")
    name = clean_name(filename, suffix)
    file = ConversationFile(
        id=new_id("fil"),
        org_id=conversation.org_id,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        name=name,
        content_type=ctype,
        size=len(data),
        channel=channel,
        stored_file="",
    )
    get_keyring().ensure_data_key(file.crypto_scope, session=session)  # the contact's key (crypto-shredding)
    file.stored_file = storage.put(
        org_id=conversation.org_id, area="conversation-files", name=file.id, data=data, scope=file.crypto_scope
    )
    stored = file.stored_file
    after_rollback(session, lambda: storage.delete(stored))
    meta = {"file": describe(file)}
    if client_message_id:
        meta["client_message_id"] = client_message_id
    message = conversations.add_message(session, conversation, role="user", text=name, meta=meta)
    file.message_id = message.id
    session.add(file)
    session.flush()
    drive_copy.queue_copies(session, file)  # a copy into the agent's Drive folder, if one is connected
    return file, message


def describe(file: ConversationFile) -> dict:
    """What a client may know of a file (no storage reference)."""
    return {"id": file.id, "name": file.name, "content_type": file.content_type, "size": file.size}


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the real (UTF-8) one, per RFC 6266 / RFC 5987."""
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "") or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def get_file(session: Session, conversation_id: str, file_id: str) -> ConversationFile:
    file = session.get(ConversationFile, file_id)
    if file is None or file.conversation_id != conversation_id:
        raise NotFound("no such file in this conversation", code="file_not_found")
    return file


def sent_before(session: Session, conversation_id: str, client_message_id: str | None) -> ConversationFile | None:
    """The file of an upload the client already made (a retry after a lost response)."""
    if not client_message_id:
        return None
    for message in conversations.history(session, conversation_id, limit=40):
        meta = message.meta or {}
        if message.role == "user" and meta.get("client_message_id") == client_message_id and meta.get("file"):
            return session.get(ConversationFile, meta["file"]["id"])
    return None
