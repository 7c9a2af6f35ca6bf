"""How a phone call sounds: speech-recognition locales, the voice for each language, and chat text made fit to
be read aloud (phone numbers in groups, no links or Markdown, options as "a, b, or c")."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from jasping.agent.flows import contact_fields as cf
from jasping.agent.intents import normalize
from jasping.agent.phrases import PHRASES, phrase
from jasping.agents.models import Agent
from jasping.channels.connections import e164
from jasping.channels.models import ChannelConnection
from jasping.tenancy.models import Organization

MAX_SAY = 3000  # characters of one <Say>

GATHER_LOCALES = {
    "en": "en-US",
    "fr": "fr-FR",
    "ar": "ar-MA",
    "es": "es-ES",
    "de": "de-DE",
    "it": "it-IT",
    "pt": "pt-PT",
    "nl": "nl-NL",
}
_REGIONAL = {  # (language, the business's country) -> a closer locale Twilio recognises
    ("en", "GB"): "en-GB",
    ("en", "IE"): "en-IE",
    ("en", "AU"): "en-AU",
    ("en", "CA"): "en-CA",
    ("en", "IN"): "en-IN",
    ("fr", "CA"): "fr-CA",
    ("fr", "BE"): "fr-BE",
    ("fr", "CH"): "fr-CH",
    ("es", "MX"): "es-MX",
    ("es", "US"): "es-US",
    ("pt", "BR"): "pt-BR",
    **{("ar", c): f"ar-{c}" for c in ("DZ", "TN", "EG", "SA", "AE", "JO", "LB", "KW", "QA", "BH", "OM", "IQ", "PS")},
}
ARABIC_VOICE = "Google.ar-XA-Standard-A"  # Twilio's basic voices do not speak Arabic
# The language of common Amazon Polly voices (a configured voice speaks only its own language).
_POLLY = {
    **dict.fromkeys(("Lea", "Celine", "Mathieu", "Remi"), "fr-FR"),
    **dict.fromkeys(("Chantal", "Gabrielle", "Liam"), "fr-CA"),
    **dict.fromkeys(
        ("Joanna", "Matthew", "Ivy", "Justin", "Kendra", "Kimberly", "Salli", "Joey", "Kevin", "Ruth", "Stephen"),
        "en-US",
    ),
    **dict.fromkeys(("Amy", "Emma", "Brian", "Arthur"), "en-GB"),
    "Zeina": "arb",
    **dict.fromkeys(("Hala", "Zayd"), "ar-AE"),
    **dict.fromkeys(("Conchita", "Lucia", "Enrique", "Sergio"), "es-ES"),
    **dict.fromkeys(("Marlene", "Vicki", "Hans", "Daniel"), "de-DE"),
    **dict.fromkeys(("Carla", "Bianca", "Giorgio", "Adriano"), "it-IT"),
}
# "Use this number": the caller's own number for a phone the dialogue asks (normalised words).
_THIS_NUMBER_WORDS = (
    "this number|this one|same number|the same number|the number i m calling from|the number i am calling from|"
    "my number|this phone|ce numero|ce numero la|ce numero ci|le meme numero|meme numero|le numero d appel|"
    "mon numero|celui ci|celui la|le numero avec lequel j appelle|had nemra|had raqm|nafs nemra|had numero|"
    "هذا الرقم|نفس الرقم|رقمي|هاد الرقم|هاد النمرة"
)
THIS_NUMBER = frozenset(normalize(p) for p in _THIS_NUMBER_WORDS.split("|"))
ORDINAL_DIGITS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth"}


def base_language(lang: str | None) -> str:
    return cf.base_language(lang)


# ---- what Twilio hears and says ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A connected number's voice settings and what the call's words depend on."""

    voice: str | None = None  # "Polly.Lea", "Google.fr-FR-Standard-A", "woman"…; Twilio's default otherwise
    handoff_number: str | None = None  # E.164: where a person answers
    record_calls: bool = False
    main_language: str = "en"  # the agent's first language
    languages: tuple[str, ...] = ("en",)  # the agent's languages, first = main
    region: str | None = None  # the business's country ("MA"): local numbers are read without the country code

    @classmethod
    def of(cls, connection: ChannelConnection, agent: Agent | None, org: Organization | None) -> Line:
        settings = connection.settings or {}
        languages = list(agent.languages or ["en"]) if agent else ["en"]
        return cls(
            voice=settings.get("voice") or None,
            handoff_number=settings.get("handoff_number") or None,
            record_calls=bool(settings.get("record_calls")),
            main_language=base_language(languages[0]),
            languages=tuple(dict.fromkeys(base_language(lang) for lang in languages)),
            region=(org.country or None) if org else None,
        )


def language_menu(line: Line) -> tuple[str, ...]:
    """The languages a caller can choose with a key at the greeting (those the phone phrases speak), or ()."""
    menu = tuple(lang for lang in line.languages if lang in PHRASES["voice_language_key"])
    return menu if len(menu) > 1 else ()


def gather_locale(lang: str | None, region: str | None = None) -> str:
    """The speech-recognition locale for a language: "fr" -> "fr-FR", "ar" -> "ar-MA" (the business's country
    first when Twilio has it: "fr" in Canada -> "fr-CA")."""
    base = base_language(lang)
    return _REGIONAL.get((base, (region or "").upper())) or GATHER_LOCALES.get(base) or "en-US"


def _voice_language(voice: str) -> str | None:
    """The locale a configured voice speaks, when it is known ("Google.fr-FR-Wavenet-A", "Polly.Lea-Neural")."""
    if m := re.match(r"(?i)google\.([a-z]{2,3}-[A-Z]{2})-", voice):
        return m.group(1)
    if m := re.match(r"(?i)polly\.([A-Za-z]+)", voice):
        return _POLLY.get(m.group(1).capitalize())
    return None


def say_voice(lang: str | None, line: Line) -> tuple[str | None, str]:
    """(voice, language) for <Say>: the configured voice when it speaks this language (a voice whose language is
    not known is taken to speak the agent's first language), else Twilio's default voice for the language."""
    base, locale = base_language(lang), gather_locale(lang, line.region)
    if line.voice:
        spoken = _voice_language(line.voice)
        if spoken is not None and base_language(spoken.replace("arb", "ar")) == base:
            return line.voice, spoken
        if spoken is None and base == line.main_language and not (base == "ar" and line.voice in ("man", "woman")):
            return line.voice, locale
    if base == "ar":
        return ARABIC_VOICE, "ar-XA"
    return None, locale


# ---- speakable text ------------------------------------------------------------------------------------------

_PHONE_IN_TEXT = re.compile(r"\+\d[\d \u00a0\-.()]{6,}\d")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_CITATION = re.compile(r"\[\d+\]")


def _group_words(group: str) -> str:
    """A group of digits as it is read: pairs as numbers ("12"), anything else digit by digit ("0 6", "4 1 5")."""
    if len(group) == 2 and not group.startswith("0"):
        return group
    return " ".join(group)


def speak_number(number: str, lang: str | None, region: str | None = None) -> str:
    """A phone number read back in groups: "+212612345678" -> "0 6, 12, 34, 56, 78" in Morocco, "plus 2 1 2, 6, 12,
    34, 56, 78" elsewhere; "+14158675309" -> "4 1 5, 8 6 7, 5 3 0 9" in the United States."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    home = region and phonenumbers.region_code_for_number(parsed) == region.upper()
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    groups = re.findall(r"\+?\d+", phonenumbers.format_number(parsed, fmt))
    words = []
    if groups and groups[0].startswith("+"):
        words.append(f"{phrase('voice_plus', lang)} {' '.join(groups.pop(0)[1:])}")
    words += [_group_words(g) for g in groups]
    return ", ".join(words)


def speakable(text: str, lang: str | None, region: str | None = None) -> str:
    """Chat text made fit to be read aloud: phone numbers in groups, no links, no Markdown, one line."""
    text = (text or "").replace("\u2066", "").replace("\u2069", "")
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _CITATION.sub("", text)

    def number(match: re.Match) -> str:
        raw = match.group(0)
        return speak_number(raw, lang, region) if e164(raw) else raw

    text = _PHONE_IN_TEXT.sub(number, text)
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|#+|\d+[.)])\s+", "", line).replace("**", "").replace("__", "").strip()
        if line:
            lines.append(line if line[-1] in ".!?:;,؟" else f"{line}.")
    return re.sub(r"\s+", " ", " ".join(lines)).strip()[:MAX_SAY]


def join_sentences(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?؟])\s+", text.strip(), maxsplit=1)[0] if text.strip() else ""


def spoken_options(options: list[str], lang: str) -> str:
    """ "a, b, or c" in the caller's language."""
    options = [o.strip() for o in options if o.strip()]
    if len(options) < 2:
        return "".join(options)
    return f"{', '.join(options[:-1])}, {phrase('voice_or', lang)} {options[-1]}"


def is_yes_no(options: list[str], lang: str) -> bool:
    return (
        len(options) == 2 and cf.parse_yes_no(options[0], lang) is True and cf.parse_yes_no(options[1], lang) is False
    )
