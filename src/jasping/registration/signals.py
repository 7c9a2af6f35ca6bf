"""The signals of a sign-up, each a pure function of what the request showed (plus the velocity counters): the email
domain (disposable, free mail, no mail server), sign-ups per IP and per device, automation hints and a locale or time
zone that does not fit the person's country. Each signal gives reason codes with weights; `service.assess` adds them.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
from dataclasses import dataclass, field
from typing import Protocol

import phonenumbers

from jasping import clock, signing
from jasping.config import get_settings
from jasping.crypto import PLATFORM, get_keyring
from jasping.security import ratelimit

log = logging.getLogger(__name__)

# Reason code -> weight. A level is medium from 30 and high from 60 (service.LEVEL_AT).
WEIGHTS = {
    "disposable_email_domain": 70,
    "no_mail_server": 40,
    "free_email_domain": 10,
    "many_signups_from_ip": 35,
    "many_signups_from_device": 35,
    "honeypot_filled": 40,
    "form_filled_too_fast": 20,
    "form_token_invalid": 20,
    "form_token_missing": 10,
    "user_agent_missing": 20,
    "user_agent_automated": 15,
    "timezone_country_mismatch": 15,
    "language_country_mismatch": 10,
}

# Free-mail providers: a person's own address rather than a company's (weak on its own).
FREE_MAIL = frozenset(
    """gmail.com googlemail.com yahoo.com yahoo.fr yahoo.co.uk ymail.com hotmail.com hotmail.fr hotmail.co.uk
    outlook.com outlook.fr live.com live.fr msn.com aol.com icloud.com me.com mac.com proton.me protonmail.com
    pm.me gmx.com gmx.de gmx.fr gmx.net web.de mail.com yandex.com yandex.ru mail.ru zoho.com tutanota.com
    orange.fr wanadoo.fr free.fr laposte.net sfr.fr neuf.fr bbox.fr menara.ma qq.com 163.com naver.com""".split()
)
AUTOMATED_AGENTS = (
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "httpx",
    "aiohttp",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww-perl",
    "scrapy",
    "headlesschrome",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
)
FORM_PURPOSE = "register form"
DEVICE_COOKIE = "jasping_device"  # a random id the sign-up page gives the browser


@dataclass
class Signup:
    """What a sign-up request showed. `form_checked`: it came from the dashboard's form (its signed render time and
    honeypot field are expected)."""

    email: str
    ip: str | None = None
    user_agent: str | None = None
    device_id: str | None = None
    accept_language: str | None = None
    timezone: str | None = None
    country: str | None = None
    phone: str | None = None
    form_checked: bool = False
    form_token: str | None = None
    honeypot: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].strip().lower()

    @property
    def device_hash(self) -> str | None:
        """A keyed hash of the user agent and the client's device id (None without a device id)."""
        if not self.device_id:
            return None
        raw = f"{(self.user_agent or '')[:300]}|{self.device_id[:200]}"
        return get_keyring().mac(PLATFORM, raw, purpose="device fingerprint")


# ---- the email domain -------------------------------------------------------------------------------------------
@functools.cache
def _disposable() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def is_disposable(domain: str) -> bool:
    """The domain, or a domain it is under, is on the disposable-email-domains list (offline)."""
    parts = domain.lower().split(".")
    return any(".".join(parts[i:]) in _disposable() for i in range(len(parts) - 1))


class MxChecker(Protocol):
    """Whether a domain can receive mail: True, False, or None when it cannot be told (offline, a timeout)."""

    def has_mail_server(self, domain: str) -> bool | None: ...


class NoMxCheck:
    """The default (`JASPING_REGISTRATION_MX_CHECK=off`): nothing is looked up, nothing is concluded."""

    def has_mail_server(self, domain: str) -> bool | None:
        return None


class DnsMxCheck:
    """`JASPING_REGISTRATION_MX_CHECK=dns`: an MX record, or else an address record, through dnspython (2 s)."""

    def has_mail_server(self, domain: str) -> bool | None:
        try:
            import dns.exception
            import dns.resolver
        except ImportError:
            log.warning("JASPING_REGISTRATION_MX_CHECK=dns needs dnspython; the check is skipped")
            return None
        resolver = dns.resolver.Resolver()
        resolver.lifetime = 2.0
        for kind in ("MX", "A", "AAAA"):
            try:
                if resolver.resolve(domain, kind):
                    return True
            except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
                return False
            except dns.resolver.NoAnswer:
                continue
            except dns.exception.DNSException:
                return None
        return False


_mx_checker: MxChecker | None = None


def set_mx_checker(checker: MxChecker | None) -> None:
    """Plug another MX check in (None: back to the setting's)."""
    global _mx_checker
    _mx_checker = checker


def mx_checker() -> MxChecker:
    if _mx_checker is not None:
        return _mx_checker
    return DnsMxCheck() if get_settings().registration_mx_check == "dns" else NoMxCheck()


def email_reasons(signup: Signup) -> list[str]:
    domain = signup.domain
    if is_disposable(domain):
        return ["disposable_email_domain"]
    reasons = ["free_email_domain"] if domain in FREE_MAIL else []
    if mx_checker().has_mail_server(domain) is False:
        reasons.insert(0, "no_mail_server")
    return reasons


# ---- velocity: sign-ups per IP (an hour) and per device (a day), counted in the rate-limit store ------------------
def velocity_reasons(signup: Signup) -> list[str]:
    s = get_settings()
    reasons = []
    if signup.ip:
        limit = ratelimit.Limit("signup-risk-ip", s.registration_risk_signups_per_ip, 3600)
        if ratelimit.hit(limit, signup.ip) > limit.count > 0:
            reasons.append("many_signups_from_ip")
    if signup.device_hash:
        limit = ratelimit.Limit("signup-risk-device", s.registration_risk_signups_per_device, 86400)
        if ratelimit.hit(limit, signup.device_hash) > limit.count > 0:
            reasons.append("many_signups_from_device")
    return reasons


# ---- automation hints -------------------------------------------------------------------------------------------
def form_token(now: float | None = None) -> str:
    """A signed render time for the dashboard's sign-up form."""
    return signing.sign(FORM_PURPOSE, str(int(now if now is not None else _now())))


def _now() -> float:
    return clock.now().timestamp()


def automation_reasons(signup: Signup) -> list[str]:
    reasons = []
    if signup.form_checked:
        if (signup.honeypot or "").strip():
            reasons.append("honeypot_filled")
        body, _, sig = (signup.form_token or "").partition(".")
        if not signup.form_token:
            reasons.append("form_token_missing")
        elif not (body.isdigit() and signing.verify(FORM_PURPOSE, body, sig)):
            reasons.append("form_token_invalid")
        elif _now() - int(body) < get_settings().registration_form_min_seconds:
            reasons.append("form_filled_too_fast")
    agent = (signup.user_agent or "").strip().lower()
    if not agent:
        reasons.append("user_agent_missing")
    elif any(marker in agent for marker in AUTOMATED_AGENTS):
        reasons.append("user_agent_automated")
    return reasons


# ---- locale and time zone against the person's country ----------------------------------------------------------
@functools.cache
def _zone_countries() -> dict[str, str]:
    """Time zone -> ISO country (the tzdata package's zone.tab: one country per zone)."""
    text = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            cols = line.split("\t")
            if len(cols) >= 3:
                out[cols[2]] = cols[0]
    return out


def _phone_country(phone: str | None) -> str | None:
    try:
        number = phonenumbers.parse((phone or "").strip(), None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(number)


def _language_region(accept_language: str | None) -> str | None:
    """The region of the first language range (`fr-MA,fr;q=0.9` -> MA), if it names one."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip()
    parts = first.replace("_", "-").split("-")
    return parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 and parts[1].isalpha() else None


def locale_reasons(signup: Signup) -> list[str]:
    declared = (signup.country or "").upper() or _phone_country(signup.phone)
    zone = _zone_countries().get((signup.timezone or "").strip())
    region = _language_region(signup.accept_language)
    reasons = []
    if zone and declared and zone != declared:
        reasons.append("timezone_country_mismatch")
    if region and (declared or zone) and region not in {declared, zone}:
        reasons.append("language_country_mismatch")
    return reasons


def all_reasons(signup: Signup) -> list[str]:
    """Every reason code the sign-up shows, strongest first."""
    found = email_reasons(signup) + velocity_reasons(signup) + automation_reasons(signup) + locale_reasons(signup)
    return sorted(dict.fromkeys(found), key=lambda code: -WEIGHTS[code])
