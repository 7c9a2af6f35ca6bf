"""Signed, expiring links a customer uses to cancel or move their appointment, without an account.

A token is `<appointment id>.<organization id>.<expiry (Unix seconds)>.<signature>`; the signature is an
HMAC-SHA256 of the rest under a key derived (HKDF) from the master key, so a changed character, another
appointment's id or a later expiry fails. Links made before a master-key rotation still verify with the old keys.
A link expires when its appointment starts; a moved appointment gets a new link (its old one says it was moved).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from jasping import clock, signing
from jasping.config import get_settings
from jasping.scheduling.models import Appointment

PATH = "/appointments/manage"
_TOKEN = re.compile(r"^(apt_[0-9a-f]{1,40})\.([A-Za-z0-9_]{1,40})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")


class LinkInvalid(Exception):
    """The link was changed, cut, or never made here."""


class LinkExpired(Exception):
    """The link was genuine but its time is over."""


@dataclass(frozen=True)
class Link:
    appointment_id: str
    org_id: str
    expires: datetime


PURPOSE = "appointment links"  # the HKDF info is "jasping appointment links", as before: old links still verify


def token_for(appointment: Appointment) -> str:
    expires = int(appointment.start.timestamp())
    body = f"{appointment.id}.{appointment.org_id}.{expires}"
    return signing.sign(PURPOSE, body)


def manage_url(appointment: Appointment) -> str:
    """The customer's link to this appointment's page (cancel, move), valid until it starts."""
    return f"{get_settings().base_url.rstrip('/')}{PATH}/{token_for(appointment)}"


def verify(token: str) -> Link:
    """The appointment a token names; LinkInvalid when it was tampered with, LinkExpired when its time is over."""
    match = _TOKEN.match(token or "")
    if not match:
        raise LinkInvalid("this link is incomplete or was changed")
    appointment_id, org_id, expires, signature = match.groups()
    body = f"{appointment_id}.{org_id}.{expires}"
    if not signing.verify(PURPOSE, body, signature):
        raise LinkInvalid("this link is incomplete or was changed")
    when = datetime.fromtimestamp(int(expires), UTC)
    if clock.now() >= when:
        raise LinkExpired("this link has expired: the appointment has already started")
    return Link(appointment_id, org_id, when)
