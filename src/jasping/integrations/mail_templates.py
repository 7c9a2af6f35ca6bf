"""Email templates: `<kind>.<lang>.txt` and `<kind>.<lang>.html` in `templates/` (Jinja2; HTML autoescaped,
Arabic laid out right-to-left) and the subject lines below, in English, French and Arabic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

LANGUAGES = ("en", "fr", "ar")
RTL = {"ar"}

# Subject lines per kind and language; `{…}` fields are filled from the template's context.
SUBJECTS: dict[str, dict[str, str]] = {
    "confirmation": {
        "en": "Appointment confirmed: {when} — {business}",
        "fr": "Rendez-vous confirmé : {when} — {business}",
        "ar": "تم تأكيد موعدك: {when} — {business}",
    },
    "moved": {
        "en": "Appointment moved to {when} — {business}",
        "fr": "Rendez-vous déplacé au {when} — {business}",
        "ar": "تم تغيير موعدك إلى {when} — {business}",
    },
    "cancellation": {
        "en": "Appointment cancelled: {when} — {business}",
        "fr": "Rendez-vous annulé : {when} — {business}",
        "ar": "تم إلغاء موعدك: {when} — {business}",
    },
    "reminder": {
        "en": "Reminder: {service}, {when} — {business}",
        "fr": "Rappel : {service}, {when} — {business}",
        "ar": "تذكير: {service}، {when} — {business}",
    },
    "lead_notice": {
        "en": "New lead from {agent}: {who}",
        "fr": "Nouveau contact via {agent} : {who}",
        "ar": "عميل محتمل جديد عبر {agent}: {who}",
    },
    "account_restore": {
        "en": "Your JasPing account will be erased on {until}",
        "fr": "Votre compte JasPing sera effacé le {until}",
    },
    "request_reminder": {
        "en": "Data request due {deadline}: {right}",
        "fr": "Demande de données à traiter avant le {deadline} : {right}",
    },
    "code": {
        "en": "Your {business} verification code",
        "fr": "Votre code de vérification {business}",
        "ar": "رمز التحقق الخاص بك من {business}",
    },
}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"], disabled_extensions=["txt"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    lang: str


def language(code: str | None) -> str:
    """`fr-FR`, `FR` → `fr`; anything without templates → `en`."""
    base = (code or "en").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else "en"


def one_line(value: object, limit: int = 200) -> str:
    """A value safe in a header: whitespace (line breaks too) collapsed, cut to `limit` characters."""
    return re.sub(r"\s+", " ", str(value)).strip()[:limit]


def render(kind: str, lang: str, context: dict, *, subject_key: str | None = None) -> Rendered:
    """The subject, text and HTML of `kind` in `lang` (falling back to English)."""
    if kind not in SUBJECTS:
        raise ValueError(f"no email template {kind!r}")
    lang = language(lang)
    fields = {k: one_line(v) for k, v in context.items() if isinstance(v, str | int)}
    subject = one_line(SUBJECTS[subject_key or kind][lang].format_map(_Blank(fields)), 250)
    values = {
        **context,
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "align": "right" if lang in RTL else "left",
        "subject": subject,
    }
    text = _env.get_template(f"{kind}.{lang}.txt").render(values)
    html = _env.get_template(f"{kind}.{lang}.html").render(values)
    return Rendered(subject, re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", html, lang)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""
