"""Download My Data: everything JasPing keeps about an account holder, as a zip built on request (nothing stored).

`account.json` (valid against `schemas/account-export.json`, published at `GET /api/v1/schemas/account-export.json`)
holds the profile, memberships, the organizations the user owns (their settings, agents, knowledge sources, API keys
and connected services — never secrets), login sessions, audit events about the user, marketing consents and data
requests. The tabular parts are also CSV files, and `files/` holds the documents uploaded as knowledge to the
organizations the user owns — what an account uploads. Customers' data (contacts, conversations, leads,
appointments) is not in it: the business is its controller and exports it per contact (`/api/v1/contacts/{id}/export`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import zipfile
from importlib import resources
from typing import IO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jasping import clock, storage
from jasping.agents.models import Agent
from jasping.db import session_scope, unscoped
from jasping.integrations.models import Integration
from jasping.knowledge.models import Source
from jasping.privacy import account_consents, requests
from jasping.security.audit import Actor, AuditEvent
from jasping.security.sessions import LoginSession
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import ApiKey, Role, User

FORMAT, VERSION = "jasping.account-export", 1
SCHEMA_FILE = "account-export.json"


def schema() -> dict:
    """The published JSON Schema of `account.json`."""
    return json.loads(resources.files("jasping.privacy").joinpath("schemas", SCHEMA_FILE).read_text("utf-8"))


def _iso(value) -> str | None:  # noqa: ANN001
    return value.isoformat() if value is not None else None


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:100] or "file"


def _organization(session: Session, org) -> tuple[dict, list[tuple[str, str]]]:  # noqa: ANN001
    """An owned organization's settings, and the (zip path, stored ref) of its uploaded files."""
    agents = session.execute(select(Agent).where(Agent.org_id == org.id).order_by(Agent.created_at)).scalars()
    sources = session.execute(select(Source).where(Source.org_id == org.id).order_by(Source.created_at)).scalars()
    keys = session.execute(select(ApiKey).where(ApiKey.org_id == org.id).order_by(ApiKey.created_at)).scalars()
    links = session.execute(select(Integration).where(Integration.org_id == org.id)).scalars()
    files, source_rows = [], []
    for s in sources:
        path = f"files/{org.id}/{s.id}-{_safe_name(s.filename or s.title)}" if s.stored_file else None
        if path:
            files.append((path, s.stored_file))
        source_rows.append(
            {
                "id": s.id,
                "agent_id": s.agent_id,
                "kind": s.kind,
                "title": s.title,
                "url": s.url,
                "filename": s.filename,
                "content_type": s.content_type,
                "size_bytes": s.size_bytes,
                "created_at": _iso(s.created_at),
                "file": path,
            }
        )
    data = {
        "id": org.id,
        "name": org.name,
        "country": org.country,
        "timezone": org.timezone,
        "default_language": org.default_language,
        "contact_email": org.contact_email,
        "contact_phone": org.contact_phone,
        "conversation_retention_days": org.conversation_retention_days,
        "created_at": _iso(org.created_at),
        "agents": [
            {
                "id": a.id,
                "name": a.name,
                "languages": list(a.languages or []),
                "instructions": a.instructions,
                "greeting": a.greeting,
                "widget_color": a.widget_color,
                "allowed_origins": list(a.allowed_origins or []),
                "booking": a.booking,
                "created_at": _iso(a.created_at),
            }
            for a in agents
        ],
        "knowledge_sources": source_rows,
        "api_keys": [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "role": k.role,
                "created_at": _iso(k.created_at),
                "last_used_at": _iso(k.last_used_at),
                "revoked_at": _iso(k.revoked_at),
            }
            for k in keys
        ],
        "integrations": [
            {"id": i.id, "type": i.type, "name": i.name, "status": i.status, "created_at": _iso(i.created_at)}
            for i in links
        ],
    }
    return data, files


def collect(session: Session, user: User) -> tuple[dict, list[tuple[str, str]]]:
    """`account.json`'s content for `user`, and the uploaded files to add (zip path, stored ref)."""
    with unscoped(session):
        memberships = tenancy.memberships(session, user.id)
        owned, files = [], []
        for member, org in memberships:
            if member.role == Role.owner.value:
                data, org_files = _organization(session, org)
                owned.append(data)
                files += org_files
        logins = session.execute(
            select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.created_at)
        ).scalars()
        events = session.execute(
            select(AuditEvent)
            .where(
                or_(
                    AuditEvent.actor_id == user.id,
                    (AuditEvent.object_type == "user") & (AuditEvent.object_id == user.id),
                )
            )
            .order_by(AuditEvent.seq)
        ).scalars()
        data = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": clock.now().isoformat(),
            "profile": {
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "locale": user.locale,
                "created_at": _iso(user.created_at),
                "last_login_at": _iso(user.last_login_at),
            },
            "memberships": [
                {"organization_id": o.id, "organization_name": o.name, "role": m.role, "since": _iso(m.created_at)}
                for m, o in memberships
            ],
            "organizations_owned": owned,
            "login_sessions": [
                {"organization_id": x.org_id, "created_at": _iso(x.created_at), "expires_at": _iso(x.expires_at)}
                for x in logins
            ],
            "audit_events": [
                {
                    "seq": e.seq,
                    "at": _iso(e.at),
                    "organization_id": e.org_id,
                    "actor_type": e.actor_type,
                    "actor_id": e.actor_id,
                    "action": e.action,
                    "object_type": e.object_type,
                    "object_id": e.object_id,
                    "ip_hash": e.ip_hash,
                    "detail": json.loads(e.detail or "{}"),
                }
                for e in events
            ],
            "consents": [
                {
                    "purpose": c.purpose,
                    "granted": c.granted,
                    "notice_version": c.notice_version,
                    "method": c.method,
                    "ip_hash": c.ip_hash,
                    "at": _iso(c.created_at),
                }
                for c in account_consents.history(session, user.id)
            ],
            "data_requests": [request_row(r) for r in requests.for_user(session, user.id)],
        }
    return data, files


def request_row(r: requests.DataRequest) -> dict:
    return {
        "id": r.id,
        "right": r.right,
        "status": r.status,
        "channel": r.channel,
        "received_at": _iso(r.received_at),
        "due_at": _iso(r.due_at),
        "extended_until": _iso(r.extended_until),
        "extension_reason": r.extension_reason,
        "closed_at": _iso(r.closed_at),
        "notes": r.notes,
    }


# The CSV files: name, the part of account.json, its columns (nested values as JSON).
CSV_FILES = (
    ("memberships.csv", lambda d: d["memberships"]),
    (
        "organizations_owned.csv",
        lambda d: [{k: v for k, v in o.items() if not isinstance(v, list)} for o in d["organizations_owned"]],
    ),
    (
        "agents.csv",
        lambda d: [{"organization_id": o["id"], **a} for o in d["organizations_owned"] for a in o["agents"]],
    ),
    (
        "knowledge_sources.csv",
        lambda d: [{"organization_id": o["id"], **s} for o in d["organizations_owned"] for s in o["knowledge_sources"]],
    ),
    ("login_sessions.csv", lambda d: d["login_sessions"]),
    ("audit_events.csv", lambda d: d["audit_events"]),
    ("consents.csv", lambda d: d["consents"]),
    ("data_requests.csv", lambda d: d["data_requests"]),
)


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    columns = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
    return out.getvalue()


def track(user_id: str, *, ip: str | None = None) -> None:
    """Record the download as an access request answered at once (in a short write transaction of its own, so the
    export itself only reads)."""
    actor = Actor("user", user_id, ip)
    with session_scope() as s:
        tracked = requests.open_request(
            s, subject_type=requests.USER, subject_id=user_id, right="access", channel="self_service", actor=actor
        )
        requests.close_request(s, request_id=tracked.id, note="answered at once: Download My Data", actor=actor)


def build(session: Session, user: User) -> IO[bytes]:
    """The zip of the user's data (a temporary file, rewound)."""
    data, files = collect(session, user)
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - handed to the response
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("account.json", json.dumps(data, ensure_ascii=False, indent=2))
        for name, rows in CSV_FILES:
            zf.writestr(name, _csv(rows(data)))
        for path, ref in files:
            try:
                zf.writestr(path, storage.get(ref))
            except FileNotFoundError:
                continue  # a source whose file is already gone: listed without it
        zf.writestr("README.txt", README)
    out.seek(0)
    return out


README = """Your JasPing data

account.json     everything we keep about your account; its JSON Schema is published at
                 /api/v1/schemas/account-export.json
*.csv            the same, table by table (nested values as JSON)
files/           the documents you uploaded as knowledge to the organizations you own

Your customers' conversations, leads and appointments are not here: your business is their controller and exports
them per customer from the dashboard or the API.
"""
