"""The data map (DESIGN principle 3): every table and column holding personal data, declared once.

Each `Entry` says whose data it is (the `user` of an account, for which JasPing is controller, or a `contact` of a
business, for which the business is controller and JasPing its processor), its category, how long it is kept, how an
erasure treats it and why it is kept. Retention (`privacy.retention`), the record of processing (`record()`, published
at `GET /api/v1/privacy/record-of-processing` and on the dashboard) and, next, export and erasure are derived from it.
Tables without personal data are listed in `NOT_PERSONAL_TABLES` (data_map_exempt.py) with the reason;
`tests/test_data_map.py` fails when a table or a personal-looking column is in neither.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from jasping.privacy.data_map_exempt import NOT_PERSONAL_COLUMNS, NOT_PERSONAL_TABLES  # noqa: F401 - re-exported

USER, CONTACT = "user", "contact"
SUBJECTS = (USER, CONTACT)
CATEGORIES = (
    "account",
    "conversation",
    "lead",
    "appointment",
    "file",
    "billing",
    "security_log",
    "marketing_consent",
    "cookie_consent",
    "export",  # exports and other request artefacts (7 days); no table: account exports are built on request
    "rights_request",  # the tracker of data-subject requests (GDPR art. 15-22)
)
DELETE, ANONYMISE, KEEP = "delete", "anonymise", "keep_for_legal_obligation"
ERASURES = (DELETE, ANONYMISE, KEEP)

CONVERSATION_PERIOD = "12 months from last activity, or the organization's shorter period"


@dataclass(frozen=True)
class Entry:
    """Personal data in one table (or in some of its rows, said by `rows`)."""

    table: str
    columns: tuple[str, ...]
    subject: str
    category: str
    retention: str
    erasure: str
    purpose: str
    rows: str | None = None  # which rows, when a table holds more than one category


DATA_MAP: tuple[Entry, ...] = (
    # ---- accounts (JasPing is controller) -------------------------------------------------------------
    Entry(
        "users",
        ("email", "email_hash", "name", "password_hash", "locale", "last_login_at"),
        USER,
        "account",
        "while the account is active; after a deletion request, 30 days (restorable), then erased",
        DELETE,
        "log in to the dashboard and run the account",
    ),
    Entry(
        "organizations",
        ("contact_email", "contact_phone"),
        USER,
        "account",
        "while the account is active",
        DELETE,
        "reach the business about its account",
    ),
    Entry(
        "memberships",
        ("user_id",),
        USER,
        "account",
        "while the account is active",
        DELETE,
        "who may act in which organization, with which role",
    ),
    Entry(
        "api_keys",
        ("created_by",),
        USER,
        "account",
        "until revoked or the organization is deleted",
        ANONYMISE,
        "who created a key, for the business's own review",
    ),
    Entry(
        "integrations",
        ("settings", "secrets_json"),
        USER,
        "account",
        "until disconnected",
        DELETE,
        "the business's connected accounts (address, user name, OAuth tokens) used on its behalf",
    ),
    Entry(
        "account_deletions",
        ("user_id", "requested_at", "erase_after", "restored_at"),
        USER,
        "account",
        "until the account is erased, 30 days after the request unless restored",
        DELETE,
        "the 30-day soft delete of an account: login refused, then erasure; restorable through the emailed link",
    ),
    Entry(
        "account_consents",
        ("user_id", "granted", "notice_version", "method", "ip_hash", "created_at"),
        USER,
        "marketing_consent",
        "3 years from the last decision; the grants erased once withdrawn",
        DELETE,
        "show that the account holder agreed to marketing email, and when they withdrew (GDPR art. 7(1))",
    ),
    Entry(
        "data_requests",
        ("subject_id", "notes", "extension_reason", "received_at", "closed_at"),
        USER,
        "rights_request",
        "while open, then 3 years after it was closed",
        KEEP,
        "answer an account holder's request under GDPR art. 15-22 in time, and show that it was answered",
        rows="subject_type = user",
    ),
    Entry(
        "data_requests",
        ("subject_id", "notes", "extension_reason", "received_at", "closed_at"),
        CONTACT,
        "rights_request",
        "while open, then 3 years after it was closed",
        KEEP,
        "help the business answer its customer's request under GDPR art. 15-22 in time, and show that it was answered",
        rows="subject_type = contact",
    ),
    # ---- security and access logs ------------------------------------------------------------------
    Entry(
        "login_sessions",
        ("user_id", "created_at", "expires_at", "last_seen_at", "auth_at", "user_agent", "ip_prefix"),
        USER,
        "security_log",
        "until the session expires",
        DELETE,
        "keep a member logged in",
    ),
    Entry(
        "mfa_factors",
        ("user_id", "secret", "phone", "confirmed_at", "last_used_step", "last_used_at"),
        USER,
        "account",
        "while two-step verification is on; deleted when it is turned off or with the account",
        DELETE,
        "the second step of logging in (authenticator secret and phone encrypted at rest)",
    ),
    Entry(
        "mfa_recovery_codes",
        ("user_id", "code_hash", "used_at"),
        USER,
        "account",
        "until regenerated, two-step verification is turned off, or the account is deleted",
        DELETE,
        "log in when the second factor is lost (keyed hashes only)",
    ),
    Entry(
        "auth_challenges",
        ("user_id", "token_hash", "code_hash", "phone"),
        USER,
        "security_log",
        "until it expires (10 minutes for codes, the reset link's lifetime)",
        DELETE,
        "two-step log-ins in progress, SMS codes and password-reset links (hashes only)",
    ),
    Entry(
        "audit_events",
        ("actor_id", "ip_hash", "object_id", "detail"),
        USER,
        "security_log",
        "12 months (the oldest rows dropped, a checkpoint keeps the chain verifiable)",
        KEEP,
        "security and accountability: who did what, when (ids and keyed IP hashes only)",
    ),
    Entry(
        "registration_risks",
        (
            "user_id",
            "reasons",
            "ip_hash",
            "device_hash",
            "phone_hash",
            "phone_verified_at",
            "review_comment",
            "review_note",
            "reviewed_by",
        ),
        USER,
        "security_log",
        "12 months from the sign-up (kept while a phone verification or a review is pending); deleted with the account",
        DELETE,
        "assess the risk of a sign-up (reason codes, keyed hashes of IP, device and verified phone) and review it on "
        "request (GDPR art. 22)",
    ),
    # ---- billing (JasPing is controller) -------------------------------------------------------------
    Entry(
        "billing_accounts",
        ("stripe_customer_id",),
        USER,
        "account",
        "while the account is active; dropped when the organization is erased",
        DELETE,
        "the organization's subscription: its Stripe customer, plan, status and period",
    ),
    Entry(
        "invoices",
        ("customer_name", "customer_email", "stripe_customer_id"),
        USER,
        "billing",
        "10 years from issue, also after the account is erased (then without the link to the organization)",
        KEEP,
        "invoices and payment records (accounting and tax law); card numbers stay with Stripe",
    ),
    # ---- conversations (the business is controller) -------------------------------------------------
    Entry(
        "contacts",
        (
            "name",
            "email",
            "phone",
            "email_hash",
            "phone_hash",
            "locale",
            "sms_opted_out",
            "last_seen_at",
            "restricted_at",
            "objected_at",
        ),
        CONTACT,
        "conversation",
        "while a conversation, lead, appointment or consent record of theirs is kept; then "
        "12 months from last seen, or the organization's shorter period",
        DELETE,
        "recognise a returning customer and reach them on the channel they used",
    ),
    Entry(
        "conversations",
        ("contact_id", "session_token_hash", "flow", "language"),
        CONTACT,
        "conversation",
        CONVERSATION_PERIOD,
        DELETE,
        "answer the customer and let the business take over",
    ),
    Entry(
        "messages",
        ("contact_id", "text", "meta", "citations"),
        CONTACT,
        "conversation",
        "12 months from creation, or the organization's shorter period",
        DELETE,
        "answer the customer and let the business take over",
    ),
    Entry(
        "csat_ratings",
        ("contact_id", "rating", "comment"),
        CONTACT,
        "conversation",
        "with its conversation (deleted with it)",
        DELETE,
        "measure the customers' satisfaction after a conversation",
    ),
    Entry(
        "inbound_events",
        ("body", "provider_id"),
        CONTACT,
        "conversation",
        "30 days after it was handled (never beyond the conversation period)",
        DELETE,
        "receive a channel's webhook once, even when delivered many times",
    ),
    Entry(
        "deliveries",
        ("to", "body", "provider_id"),
        CONTACT,
        "conversation",
        "30 days once sent or given up (never beyond the conversation period)",
        DELETE,
        "send the agent's replies through WhatsApp or SMS, with retries",
    ),
    Entry(
        "emails",
        ("to", "body", "ref"),
        CONTACT,
        "conversation",
        "30 days after sending or giving up, and not before the appointment it is about has passed",
        DELETE,
        "send confirmations, reminders, codes and lead notices, with retries",
    ),
    # ---- files ------------------------------------------------------------------------------------
    Entry(
        "conversation_files",
        ("contact_id", "name", "stored_file", "size", "content_type"),
        CONTACT,
        "file",
        "12 months from upload, or the organization's shorter period; the stored file with the row",
        DELETE,
        "keep the files a customer sent for the business",
    ),
    Entry(
        "file_copies",
        ("remote_id",),
        CONTACT,
        "file",
        "with its file",
        DELETE,
        "where a file was copied (a Drive folder), so that erasure can reach the copy",
    ),
    # ---- leads and appointments ------------------------------------------------------------------------
    Entry(
        "leads",
        (
            "contact_id",
            "name",
            "email",
            "phone",
            "email_hash",
            "phone_hash",
            "custom",
            "consent",
            "consent_at",
            "consent_text",
        ),
        CONTACT,
        "lead",
        "12 months from creation or last update",
        DELETE,
        "the customer's request to be contacted by the business",
    ),
    Entry(
        "lead_syncs",
        ("lead_id",),
        CONTACT,
        "lead",
        "with its lead",
        DELETE,
        "which sinks (sheet, webhook) received a lead, so that erasure can reach the copies",
    ),
    Entry(
        "appointments",
        ("contact_id", "name", "phone", "email", "start", "end", "external_id"),
        CONTACT,
        "appointment",
        "12 months after the appointment",
        DELETE,
        "book, remind, move or cancel the customer's appointment",
    ),
    # ---- consent records --------------------------------------------------------------------------
    Entry(
        "consent_records",
        ("contact_id", "conversation_id", "granted", "channel", "language", "method", "ip_hash", "created_at"),
        CONTACT,
        "cookie_consent",
        "6 months from the record",
        DELETE,
        "show that the chat's privacy notice was accepted (GDPR art. 7(1))",
        rows="purpose = chat_privacy_notice",
    ),
    Entry(
        "consent_records",
        ("contact_id", "conversation_id", "granted", "channel", "language", "method", "ip_hash", "created_at"),
        CONTACT,
        "marketing_consent",
        "3 years from the last consent; the grants erased once withdrawn",
        DELETE,
        "show that the customer agreed to be contacted, or to receive marketing (GDPR art. 7(1))",
        rows="purpose in (contact_about_request, marketing)",
    ),
    Entry(
        "consent_records",
        ("user_id", "ip_hash", "created_at"),
        USER,
        "account",
        "while the account is active (deleted with it)",
        DELETE,
        "show that the person signing up was shown the platform's privacy notice",
        rows="purpose = account_privacy_notice",
    ),
    # ---- the platform's operators and its public pages ----------------------------------------------
    Entry(
        "platform_operators",
        ("user_id", "granted_at"),
        USER,
        "account",
        "while the person operates the platform (revoked with `jasping operator revoke`, or with the account)",
        DELETE,
        "who may keep the breach register and edit the public legal pages",
    ),
    Entry(
        "legal_pages",
        ("published_by",),
        USER,
        "account",
        "kept with the version (the account's id is cleared when the account is erased)",
        ANONYMISE,
        "who published each version of a public legal page",
    ),
)


def entries(*, subject: str | None = None, category: str | None = None) -> list[Entry]:
    """The entries of one subject and/or category."""
    return [
        e
        for e in DATA_MAP
        if (subject is None or e.subject == subject) and (category is None or e.category == category)
    ]


def tables(*, subject: str | None = None) -> list[str]:
    """The tables holding personal data (of one subject), in map order."""
    return list(dict.fromkeys(e.table for e in entries(subject=subject)))


def record() -> dict:
    """The record of processing activities (GDPR art. 30) derived from the map, with whether each column is
    encrypted at rest."""
    from jasping.crypto import EncryptedText
    from jasping.models import Base

    out = []
    for entry in DATA_MAP:
        table = Base.metadata.tables[entry.table]
        encrypted = [c for c in entry.columns if isinstance(table.c[c].type, EncryptedText)]
        out.append({**asdict(entry), "columns": list(entry.columns), "encrypted_columns": encrypted})
    return {
        "subjects": {
            USER: "people with an account (JasPing is controller)",
            CONTACT: "customers of a business who talk to its agents (the business is controller, JasPing processor)",
        },
        "categories": list(CATEGORIES),
        "erasure_strategies": list(ERASURES),
        "entries": out,
        "not_personal": [{"table": t, "reason": r} for t, r in NOT_PERSONAL_TABLES.items()],
    }
