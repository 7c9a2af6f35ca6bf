"""Contact details in a customer's free text (English, French, Arabic): email, phone (E.164), name, yes / no.

All functions are pure and deterministic. Names: after "my name is", "je m'appelle", "c'est", "اسمي"… or, when
the name was just asked, a bare answer of 1–4 words; emails, phone numbers, questions, greetings and yes / no are
never names; Latin names are title-cased ("jean-pierre o'neil" → "Jean-Pierre O'Neil"), Arabic kept as written.
Word lists are matched on `intents.normalize` output (case and accents folded, Arabic letters unified,
apostrophes split: "c'est ça" → "c est ca", "أيه" → "ايه").
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from jasping.agent.intents import detect_intent, normalize
from jasping.knowledge.analysis import STOP_WORDS, fold

__all__ = ["CANCEL", "FIELD_WORDS", "SKIP", "base_language", "has_phrase", "looks_like_email", "looks_like_phone"]
__all__ += ["parse_email", "parse_name", "parse_phone", "parse_yes_no", "reads_as_question", "speak_phone"]
__all__ += ["strip_contacts"]

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "＠": "@"})
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+")
_SEP = r"(?:\s+(?:dot|point)\s+|\.)"
_SPOKEN_EMAIL = re.compile(  # voice: "jean point dupont arobase gmail point com"
    rf"\b([A-Za-z0-9_+-]+(?:{_SEP}[A-Za-z0-9_+-]+)*)\s+(?:at|arobase|arrobase)\s+([A-Za-z0-9-]+(?:{_SEP}[A-Za-z0-9-]+)+)",
    re.IGNORECASE,
)
_INTERNATIONAL = re.compile(r"(?<![\d+])00(?=\s*[1-9])")
_DIGIT_RUN = re.compile(r"\+?\d[\d\s.\-/()]{5,}\d")


def _clean(text: str | None) -> str:
    return (text or "").translate(_APOSTROPHES).translate(_DIGITS)


def base_language(lang: str | None) -> str:
    """The base language code: "fr" for "fr-MA", "FR" or "fr_FR"; "en" when unknown."""
    return (lang or "en").lower().replace("_", "-").split("-")[0]


def has_phrase(text: str, phrases: frozenset[str] | set[str], *, within: int | None = None) -> int | None:
    """Word index where one of the (normalised) `phrases` starts in `text`, optionally within the first words."""
    words = normalize(text).split()
    limit = len(words) if within is None else min(within, len(words))
    for i in range(limit):
        for p in phrases:
            parts = p.split()
            if words[i : i + len(parts)] == parts:
                return i
    return None


def _phrases(spec: str) -> frozenset[str]:
    return frozenset(p.strip() for p in spec.replace("\n", " ").split("|") if p.strip())


# Dialogue words: cancelling the flow, skipping a detail, naming a detail to correct.
CANCEL = _phrases(
    """laissez tomber|laisse tomber|laisser tomber|annuler|annule|annulez|stop|cancel|never mind|nevermind|forget it|
    forget about it|oubliez|oublie ca|oubliez ca|pas la peine|plus besoin|changed my mind|change d avis|الغاء|الغ|توقف|
    انس الامر|لا داعي|لا يهم|بلاش|ma bghitch|mabghitch"""
)
SKIP = _phrases(
    """skip|passer|passe|suivant|next|je ne sais pas|je sais pas|i don t know|don t know|dunno|no idea|aucune idee|
    pas d idee|n ai pas|don t have|do not have|no email|pas d email|pas de mail|pas de telephone|no phone|لا اعرف|
    لا ادري|تخطي|تخط|ليس لدي|ما عنديش|ma 3ndich|ma3ndich"""
)
FIELD_WORDS = {
    "name": _phrases("name|nom|prenom|الاسم|اسم|اسمي|smiya"),
    "email": _phrases("email|e mail|mail|courriel|adresse mail|بريد|البريد|الايميل|ايميل|imail"),
    "phone": _phrases("phone|telephone|tel|numero|number|mobile|portable|gsm|هاتف|الهاتف|رقم|الرقم|nemra"),
}

# ---- email ------------------------------------------------------------------------------------------------


def _valid_email(candidate: str) -> str | None:
    candidate = candidate.strip(".-'_%+")
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def parse_email(text: str | None) -> str | None:
    """The first valid email address in `text`, normalised and lower-cased, or None."""
    text = re.sub(r"\s*@\s*", "@", _clean(text))
    for candidate in _EMAIL.findall(text):
        if email := _valid_email(candidate):
            return email
    for local, domain in _SPOKEN_EMAIL.findall(text):
        dotted = [re.sub(_SEP, ".", part, flags=re.IGNORECASE) for part in (local, domain)]
        if email := _valid_email("@".join(dotted)):
            return email
    return None


def looks_like_email(text: str | None) -> bool:
    """True when `text` seems to attempt an email address (an @ or a spoken "arobase"), valid or not."""
    text = _clean(text)
    if "@" in text or _SPOKEN_EMAIL.search(text):
        return True
    return bool(re.search(r"\b(arobase|arrobase|gmail|hotmail|yahoo|outlook)\b", text, re.IGNORECASE))


# ---- phone ------------------------------------------------------------------------------------------------


def _region(region: str | None) -> str | None:
    return region.strip().upper() if region and region.strip() else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_phone(text: str | None, region: str | None = None) -> str | None:
    """The first valid phone number in `text` as E.164, local numbers read in `region` (e.g. "MA", "FR")."""
    text, region = _clean(text), _region(region)
    for candidate in dict.fromkeys((text, _INTERNATIONAL.sub("+", text))):
        for match in phonenumbers.PhoneNumberMatcher(candidate, region):
            if phonenumbers.is_valid_number(match.number):
                return _e164(match.number)
    for run in _DIGIT_RUN.findall(_INTERNATIONAL.sub("+", text)):  # digits spelled out one by one, odd separators
        try:
            number = phonenumbers.parse(re.sub(r"[^\d+]", "", run), region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return _e164(number)
    return None


def looks_like_phone(text: str | None) -> bool:
    """True when `text` holds six digits or more: an attempt at a phone number, valid or not."""
    return sum(c.isdigit() for c in _clean(text)) >= 6


def speak_phone(e164: str, lang: str | None = None) -> str:
    """A phone number grouped for reading back ("+212 6 61 23 45 67"); isolated left-to-right inside Arabic."""
    try:
        number = phonenumbers.parse(e164, None)
        spoken = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL).replace("-", " ")
    except phonenumbers.NumberParseException:
        spoken = e164
    return f"\u2066{spoken}\u2069" if (lang or "").lower().startswith("ar") else spoken


def strip_contacts(text: str | None, region: str | None = None) -> str:
    """`text` without its email addresses and phone numbers (what is left may hold a name)."""
    text = re.sub(r"\s*@\s*", "@", _clean(text))
    text = _EMAIL.sub(" ", text)
    text = _SPOKEN_EMAIL.sub(" ", text)
    for match in list(phonenumbers.PhoneNumberMatcher(text, _region(region)))[::-1]:
        text = text[: match.start] + " " + text[match.end :]
    return re.sub(r"\+?\d[\d\s.\-/()]{5,}\d", " ", text)


# ---- yes / no ---------------------------------------------------------------------------------------------

_YES = _phrases(
    """oui|ouais|ouai|ouaip|wi|yes|yep|yeah|yup|yea|ok|okay|oki|d accord|daccord|dac|exact|exactement|c est ca|
    c est bien ca|c est bon|c est correct|cest ca|tout a fait|parfait|correct|correcte|right|that s right|
    that is right|sure|absolutely|of course|bien sur|affirmatif|volontiers|avec plaisir|certainement|evidemment|
    certainly|go ahead|allez y|نعم|ايه|ايوه|اجل|صحيح|طبعا|موافق|بالتاكيد|واخا|صح|wakha|waxa|iyeh|iyah|eyeh"""
)
_NO = _phrases(
    """non|no|nope|nah|pas du tout|pas vraiment|not really|incorrect|wrong|faux|fausse|pas correct|pas ca|pas bon|
    pas juste|not right|not correct|je ne veux pas|je veux pas|je prefere pas|je prefere que non|don t want|
    do not want|rather not|prefer not|no thanks|non merci|لا|كلا|ليس|غير صحيح|خطا|لا اريد|لا ارغب|machi|mashi"""
)
_NEGATORS = frozenset("pas not isn don doesn wasn aren ne n ليس غير مش ما machi mashi".split())


def parse_yes_no(text: str | None, lang: str | None = None) -> bool | None:
    """True for yes, False for no (or a correction like "non, c'est 0661…"), None when the message says neither."""
    raw = text or ""
    if "👍" in raw or "👌" in raw:
        return True
    if "👎" in raw:
        return False
    words = normalize(raw).split()
    no = _NO | {"la"} if (lang or "").startswith("ar") or words == ["la"] else _NO  # Darija "la" = no
    yes_at, no_at = has_phrase(raw, _YES, within=4), has_phrase(raw, no, within=4)
    if yes_at is not None and any(w in _NEGATORS for w in words[max(0, yes_at - 2) : yes_at]):
        no_at = yes_at if no_at is None else min(no_at, yes_at)  # "pas correct", "isn't right"
        yes_at = None
    if no_at is None:
        return None if yes_at is None else True
    return yes_at is not None and yes_at < no_at


# ---- questions --------------------------------------------------------------------------------------------

_ASKING = frozenset(
    """what how when where why who which whose can could do does did is are will would should
    quel quelle quels quelles comment combien quand pourquoi ou qui quoi est peut peux pouvez pourriez avez
    etes faut هل ما ماذا كم كيف متي اين لماذا شنو اشنو واش علاش فين كيفاش شحال
    wach wash chno achno ch7al chhal fin kifach 3lach""".split()
)
_WH = frozenset(
    """what how when where why which combien pourquoi comment quand quoi quel quelle quels quelles
    كم كيف لماذا ماذا متي اين هل شحال علاش كيفاش واش فين wach ch7al chhal 3lach kifach""".split()
)


def reads_as_question(text: str | None, lang: str | None = None) -> bool:
    """True when `text` asks something (a question mark or an interrogative first word) or asks for a person."""
    raw = text or ""
    intent = detect_intent(raw, lang)
    if intent == "human":
        return True
    words = normalize(raw).split()
    if intent != "question" or not words:
        return False
    return "?" in raw or "؟" in raw or words[0] in _ASKING or any(w in _WH for w in words[:4])


# ---- name -------------------------------------------------------------------------------------------------

_STRONG = (
    r"my name is|my name's|my names|name is|i am called|i'm called|the name's|name\s*:|je m'appelle|j'm'appelle|"
    r"jm'appelle|je m appelle|(?:mon |le )?nom est|(?:mon |le )?nom,? c'est|mon pr[ée]nom est|mon pr[ée]nom,? c'est|"
    r"nom\s*:|"
    r"pr[ée]nom\s*:|moi,? c'est|اسمي|إسمي|أسمي|smiti|ismi"
)
_WEAK = r"i'm|i am|im|this is|it's|it is|je suis|c'est|أنا|انا|معك|معاك"
_TRIGGER = re.compile(rf"(?<![^\W\d_])(?:(?P<strong>{_STRONG})|(?P<weak>{_WEAK}))(?![^\W\d_])\s*", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_POLITE_TAIL = re.compile(r"[\s,.!]*\b(merci( beaucoup)?|thanks?( you)?|svp|stp|please|شكرا)[\s.!]*$", re.IGNORECASE)
_NOT_NAMES = _ASKING | frozenset(
    """hello hi hey yes no ok okay sure thanks thank please sorry idk dunno know nothing none nobody anonymous
    later skip stop cancel never mind interested looking calling writing wondering trying asking here there fine good
    great ready busy new client customer patient student back tomorrow today just glad happy available not right
    wrong correct done me myself phone email mail number name
    bonjour bonsoir salut merci oui non ouais daccord accord quoi rien personne anonyme tard passer annuler laissez
    interesse interessee interesses desole desolee presse pressee occupe occupee cliente patiente nouveau nouvelle
    disponible pret prete ici bien bon sais veux voudrais besoin demain etudiant etudiante content contente ravi ravie
    sur sure certain certaine exact parfait juste ca tout pour urgent possible numero telephone nom prenom adresse
    courriel correcte vraiment tres deja encore note gentil cher gratuit ferme ouvert
    نعم شكرا مرحبا السلام اريد ابغي بغيت عميل زبون مهتم ممكن رقمي بريدي هاتفي واريد واود وابغي ايه واخا صحيح ورقمي
    وبريدي وهاتفي ورقم
    wakha wach chno safi bghit""".split()
)
_PARTICLES = frozenset("de du des la le van von der den da di del della y".split())
_BOUND = frozenset(normalize(w).replace(" ", "") for lg in ("en", "fr", "ar") for w in STOP_WORDS[lg]) - {
    "علي",  # "on", and the name Ali
    "هنا",  # "here", and the name Hana
}
_LATIN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]")


def _key(word: str) -> str:
    return normalize(word).replace(" ", "")


def _title(words: list[str]) -> str:
    out = []
    for i, word in enumerate(words):
        if not _LATIN.search(word) or not (word.islower() or word.isupper()):
            out.append(word)  # Arabic script, or a capitalisation the customer chose ("McDonald", "El")
        elif i and word.lower() in _PARTICLES:
            out.append(word.lower())
        else:
            out.append(re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), word.lower()))
    return " ".join(out)


def _after_trigger(rest: str, *, weak: bool, asked: bool) -> str | None:
    words: list[str] = []
    while len(words) < 4 and (m := _WORD.match(rest)):
        key = _key(m.group(0))
        if key in _BOUND or key in _NOT_NAMES:
            break
        words.append(m.group(0))
        rest = rest[m.end() :]
        if not re.match(r"[ \t]+(?=[^\W\d_])", rest):
            break
        rest = rest.lstrip(" \t")
    if not words:
        return None
    # "je suis intéressé", "c'est noté", "I'm calling": after a weak trigger, a lower-case word is a name only
    # when the agent has just asked for one
    if weak and words[0].islower() and (not asked or fold(words[0]).endswith("ing")):
        return None
    return _title(words)


def _bare(text: str, lang: str | None) -> str | None:
    text = _POLITE_TAIL.sub("", text.strip()).strip().strip(".!,;:~-…").strip()
    if not text or "?" in text or "؟" in text or "@" in text or sum(c.isdigit() for c in text) >= 3:
        return None
    if detect_intent(text, lang) != "question" or parse_yes_no(text, lang) is not None:
        return None
    words = text.split()
    if not 1 <= len(words) <= 4 or not all(_WORD.fullmatch(w) for w in words) or len(max(words, key=len)) < 2:
        return None
    keys = [_key(w) for w in words]
    if keys[0] in _BOUND or any(k in _NOT_NAMES for k in keys):
        return None
    if any(k in _BOUND and k not in _PARTICLES for k in keys[1:]) or keys[-1] in _PARTICLES:
        return None
    return _title(words)


def parse_name(text: str | None, lang: str | None = None, *, asked: bool = False) -> str | None:
    """A name from "je m'appelle Fatima Zahra", "my name is John", "اسمي محمد" (a bare answer too when `asked`)."""
    text = _clean(text)
    if not text.strip():
        return None
    for m in _TRIGGER.finditer(text):
        name = _after_trigger(text[m.end() :], weak=bool(m.group("weak")), asked=asked)
        if name:
            return name
        if m.group("strong"):
            return None  # "my name is" followed by no usable name: do not guess from elsewhere
    return _bare(text, lang) if asked else None
