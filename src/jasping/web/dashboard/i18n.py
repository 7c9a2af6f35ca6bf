"""Dashboard strings in English (the keys) and French (`locale_fr.FR`): the translator and the language choice."""

from __future__ import annotations

from collections.abc import Callable

from jasping.web.dashboard.locale_fr import FR

LANGUAGES = ("en", "fr")


def translator(lang: str) -> Callable[[str], str]:
    table = FR if lang == "fr" else {}

    def gettext(text: str) -> str:
        return table.get(text, text)

    return gettext


def pick_language(cookie: str | None, user_locale: str | None, accept: str | None) -> str:
    """The dashboard language: explicit choice, then the account's, then the browser's."""
    for candidate in (cookie, user_locale):
        if candidate in LANGUAGES:
            return candidate
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return "en"
