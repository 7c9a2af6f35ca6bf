"""What the data map declares NOT personal, with the reason: whole tables, and columns of mapped tables whose name
looks personal but whose content is not. `tests/test_data_map.py` fails on a table or a personal-looking column that is
neither here nor in `data_map.DATA_MAP`."""

from __future__ import annotations

NOT_PERSONAL_TABLES: dict[str, str] = {
    "agents": "the business's agent settings (name, instructions, greeting)",
    "kb_sources": "the business's own knowledge (documents, pages, Q&A) given to its agent",
    "kb_documents": "parsed pages of the business's knowledge",
    "kb_chunks": "passages of the business's knowledge",
    "channel_connections": "the business's WhatsApp or Twilio number and provider secrets",
    "data_keys": "wrapped encryption keys",
    "audit_checkpoints": "a sequence number and a hash where the audit chain restarts",
    "org_security_policies": "an organization's security rules (whether its members must use two-step verification)",
    "job_runs": "when each periodic job ran, with counts",
    "usage_counters": "how many customer messages an organization received each month, and when it was warned",
    "stripe_events": "ids, types and times of the Stripe events received and what they did (no payload)",
    "breaches": "the breach register: what happened, categories of data and approximate counts, never the records",
    "breach_organizations": "which businesses a breach affected, how many of their contacts, and the notice sent to "
    "the business",
    "contact_erasures": "the record of an erasure: counts per table and the random id of a contact that no longer "
    "exists (kept as proof of the erasure, GDPR art. 5(2))",
    "analytics_days": "counts of conversations and handoffs a day, agent and channel (the analytics roll-up)",
    "analytics_reply_times": "counts of the agent's replies a day, agent, channel and reply time in milliseconds",
    "analytics_rollups": "an organization's time zone and when its analytics roll-up was last brought up to date",
    "canned_replies": "the business's saved replies for its team (title, text, language)",
    "erasure_tasks": "copies to delete elsewhere after an erasure: a storage reference, a sheet range, a Drive id or "
    "a calendar event's address, never the data",
}

# Columns of mapped tables whose name looks personal but whose content is not, with the reason.
NOT_PERSONAL_COLUMNS: dict[tuple[str, str], str] = {
    ("organizations", "name"): "the business's name",
    ("api_keys", "name"): "a label the business gives a key",
    ("api_keys", "secret_hash"): "a hash of a machine credential",
    ("conversations", "assignee_id"): "the id of the team member the conversation is assigned to (no contact data)",
    ("integrations", "name"): "a label of the connected service",
    ("appointments", "service_name"): "the business's service booked",
    ("consent_records", "wording"): "the notice's text, the same for everyone",
    ("legal_pages", "body"): "the text of a public page, the same for everyone",
    ("audit_events", "actor_type"): "user, api_key, system or visitor",
    ("login_sessions", "token_hash"): "a hash of a random cookie token",
    ("login_sessions", "csrf_token"): "a random anti-forgery token",
    ("channel_connections", "secrets_json"): "the business's provider credentials",
}
