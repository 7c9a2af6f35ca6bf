"""English words of the states the contacts, leads and appointments pages show (translated in the templates)."""

from __future__ import annotations

LABELS = {
    "status:new": "New",
    "status:contacted": "Contacted",
    "status:closed": "Done",
    "lead:lead": "Lead",
    "lead:callback": "Callback request",
    "sync:queued": "Queued",
    "sync:sending": "Sending",
    "sync:sent": "Sent",
    "sync:failed": "Failed, will retry",
    "sync:dead": "Failed",
    "appointment:booked": "Booked",
    "appointment:cancelled": "Cancelled appointment",
    "appointment:no_show": "No-show",
    "calendar:pending": "calendar: pending",
    "calendar:synced": "calendar: up to date",
    "calendar:failed": "calendar: failed",
}


def label(key: str) -> str:
    return LABELS.get(key, key.split(":", 1)[-1])
