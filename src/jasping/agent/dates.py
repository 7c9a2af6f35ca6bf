"""When a customer wants an appointment, from free text (English, French, Arabic), and slots read back to them.

`parse_when(text, lang=…, tz=…, now=…)` reads a day ("demain", "mardi prochain", "le 12 décembre", "12/12",
"غدا", "الثلاثاء القادم"), a time ("10h30", "3pm", "à midi", "الساعة الثالثة والنصف") and a part of the day
("lundi matin", "ce soir") with its own rules, then falls back to dateparser (future preferred) only for relative
phrases it does not know ("dans 3 jours", "in two weeks"). A lone word like "Je" is never a date. Hours 1–7 without
am/pm or a part of the day are read as afternoon; without a day they are flagged `ambiguous`, as is a bare number
and a week or a month without a day ("next week", "la semaine prochaine à 10h": which day is not said).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

import dateparser

__all__ = ["When", "format_slot", "parse_when"]

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي", "ـ": None})

WEEKDAYS = {  # normalised name -> weekday (0 = Monday)
    **{w: i for i, w in enumerate("lundi mardi mercredi jeudi vendredi samedi dimanche".split())},
    **{w: i for i, w in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())},
    **{w: i for i, w in enumerate("الاثنين الثلاثاء الاربعاء الخميس الجمعه السبت الاحد".split())},
    **{w: i for i, w in enumerate("اثنين ثلاثاء اربعاء خميس جمعه سبت احد".split())},
    "الاتنين": 0,
    "التلات": 1,
    "لاربعاء": 2,
    # Darija in Latin script (as typed on phones: 3 = ع, 7 = ح); never the bare "had" ("this")
    **{w: 0 for w in ("tnin", "letnin", "ltnin", "lithnin", "litnin", "l tnin", "el tnin")},
    **{w: 1 for w in ("tlat", "tlata", "ttlat", "ltlat", "l tlat", "talat")},
    **{w: 2 for w in ("larb3a", "larba", "larbi3a", "arb3a", "l arb3a", "larbaa")},
    **{w: 3 for w in ("lkhmis", "khmis", "l khmis", "lakhmis")},
    **{w: 4 for w in ("jem3a", "jm3a", "ljem3a", "ljm3a", "jom3a", "jouma3a", "ljam3a", "l jem3a")},
    **{w: 5 for w in ("sebt", "ssebt", "sabt", "essebt", "s sebt")},
    **{w: 6 for w in ("l7ed", "lhed", "l had", "el had", "l7ad", "7ed")},
}
MONTHS = {
    **{
        m: i
        for i, m in enumerate(
            "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre".split(), 1
        )
    },
    **{
        m: i
        for i, m in enumerate(
            "january february march april may june july august september october november december".split(), 1
        )
    },
    "jan": 1,
    "feb": 2,
    "fev": 2,
    "apr": 4,
    "avr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    **{
        m: i
        for i, m in enumerate("يناير فبراير مارس ابريل مايو يونيو يوليو اغسطس سبتمبر اكتوبر نوفمبر ديسمبر".split(), 1)
    },
    **{m: i for i, m in enumerate("يناير فبراير مارس ابريل ماي يونيو يوليوز غشت شتنبر اكتوبر نونبر دجنبر".split(), 1)},
}
_AR_NUMBERS = {  # "الساعة الثالثة": ordinal hour words, feminine, normalised (ة -> ه)
    "الواحده": 1,
    "الثانيه": 2,
    "الثالثه": 3,
    "الرابعه": 4,
    "الخامسه": 5,
    "السادسه": 6,
    "السابعه": 7,
    "الثامنه": 8,
    "التاسعه": 9,
    "العاشره": 10,
    "الحاديه عشر": 11,
    "الحاديه عشره": 11,
    "الثانيه عشر": 12,
    "الثانيه عشره": 12,
    "واحده": 1,
    "ثلاثه": 3,
    "اربعه": 4,
    "خمسه": 5,
    "سته": 6,
    "سبعه": 7,
    "ثمانيه": 8,
    "تسعه": 9,
    "عشره": 10,
}
_NEXT = r"(?:prochain|prochaine|qui vient|next|coming|jay|jaya|ljay|الجاي|القادم|المقبل|الجاية|الجايه|القادمه|المقبله)"
_THIS = r"(?:ce|cette|this|had|هذا|هذه|هاد)"
_PARTS = [  # (pattern, part of day, means today)
    (r"\b(?:ce soir|tonight|this evening|cette nuit)\b|الليله|هذا المساء|هاد العشيه", "evening", True),
    (r"\b(?:ce matin|this morning)\b|هذا الصباح|هاد الصباح", "morning", True),
    (r"\b(?:cet apres midi|this afternoon)\b|هذا المساء", "afternoon", True),
    (r"\b(?:matin|matinee|morning|f?sba7|f?sbah|fsbe7)\b|صباحا|الصباح|صباح|فالصباح", "morning", False),
    (
        r"\b(?:apres midi|aprem|afternoon|(?:f ?)?l?3[ae]?chi?y?a|mn ba3d dohr)\b"
        r"|بعد الظهر|بعد الزوال|العصر|فالعشيه",
        "afternoon",
        False,
    ),
    (r"\b(?:soir|soiree|evening|night|f ?llil|fllil)\b|مساء|المساء|العشيه|ليلا", "evening", False),
]
_RELATIVE = [  # (pattern, days from today); longer phrases first
    (r"\b(?:apres demain|day after tomorrow|ba3d ghda|ba3d ghedda|b3d ghda)\b|بعد غدا|بعد غد|بعد غدوه", 2),
    (r"\b(?:avant hier|day before yesterday)\b|قبل امس|قبل البارح", -2),
    (r"\b(?:demain|tomorrow|tmrw|ghda|ghedda)\b|غدا|غدوه|غد", 1),
    (r"\b(?:aujourd hui|aujourdhui|today|lyoum|lyouma|lyom|ce jour)\b|اليوم|ليوم", 0),
    (r"\b(?:hier|yesterday|lbareh|lbare7|lbarh)\b|امس|البارح", -1),
]
_VAGUE = re.compile(  # a period, not a day: "next week" is not "in 7 days"
    r"\b(?:(?:la |cette )?semaine (?:prochaine|qui vient)|cette semaine|(?:le )?mois (?:prochain|qui vient)|"
    r"ce mois|next week|this week|next month|this month)\b|"
    r"(?:ال)?(?:اسبوع|شهر) (?:ال)?(?:قادم|جاي|مقبل)|(?:هذا|هاد) (?:ال)?(?:اسبوع|شهر)"
)
_FALLBACK_WORDS = re.compile(r"\b(?:jours?|days?|semaines?|weeks?|mois|months?)\b|ايام|يوم|اسبوع|اسابيع|شهر")


@dataclass(frozen=True)
class When:
    """What a message says about the moment wanted (each part optional) and whether it can be trusted."""

    date: date | None = None
    time: time | None = None
    part_of_day: str | None = None  # "morning" | "afternoon" | "evening"
    ambiguous: bool = False
    past: bool = False

    @property
    def empty(self) -> bool:
        """True when nothing about a day or a time was found."""
        return self.date is None and self.time is None and self.part_of_day is None


def _prepare(text: str) -> str:
    """Lower case, Western digits, Latin accents and Arabic diacritics dropped, Arabic letters unified."""
    text = unicodedata.normalize("NFD", (text or "").translate(_DIGITS).lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").translate(_ARABIC_LETTERS)
    text = re.sub(r"[’'`\-]", " ", text)
    text = re.sub(r"\b(?:m3a|m3e|mea)\b", "a", text)  # Darija "m3a 10" is "à 10", "at 10"
    text = re.sub(r"(?<![\w])(ب|ل|و|ف)(?=ال)", r"\1 ", text)  # "بالساعة", "وال..." split from the article
    return re.sub(r"\s+", " ", text).strip()


def _cut(text: str, m: re.Match) -> str:
    return text[: m.start()] + " ¦ " + text[m.end() :]


def _year_for(day: int, month: int, today: date) -> date | None:
    """The next (day, month) on or after today."""
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _explicit_date(text: str, today: date) -> tuple[date | None, str]:
    """(date, text without it) for "12 décembre", "December 12", "12/12", "le 12"."""
    month_names = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
    m = re.search(rf"(?<!\d)(\d{{1,2}})(?:er|st|nd|rd|th)?\s+(?:de\s+)?({month_names})(?!\w)(?:\s+(\d{{4}}))?", text)
    pairs = []
    if m:
        pairs.append((int(m.group(1)), MONTHS[m.group(2)], m.group(3), m))
    elif m := re.search(rf"(?<!\w)({month_names})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(\d{{4}}))?", text):
        pairs.append((int(m.group(2)), MONTHS[m.group(1)], m.group(3), m))
    elif m := re.search(r"(?<![\d:])(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?(?![\d:])", text):
        a, b = int(m.group(1)), int(m.group(2))
        day, month = (b, a) if b > 12 >= a else (a, b)  # day first, unless only month/day makes sense
        year = m.group(3) and (m.group(3) if len(m.group(3)) == 4 else f"20{m.group(3)}")
        pairs.append((day, month, year, m))
    elif m := re.search(r"\b(?:le|the|on the)\s+(\d{1,2})(?:er|st|nd|rd|th)?(?!\s*(?:h|:|\d|am|pm))\b", text):
        day = int(m.group(1))
        for offset in range(0, 3):
            month_start = date(today.year + (today.month + offset - 1) // 12, (today.month + offset - 1) % 12 + 1, 1)
            try:
                candidate = month_start.replace(day=day)
            except ValueError:
                continue
            if candidate >= today:
                return candidate, _cut(text, m)
        return None, text
    for day, month, year, match in pairs:
        try:
            found = date(int(year), month, day) if year else _year_for(day, month, today)
        except ValueError:
            found = None
        if found:
            return found, _cut(text, match)
    return None, text


def _weekday_date(text: str, today: date) -> tuple[date | None, str]:
    """The date for "mardi (prochain)", "next Tuesday", "الثلاثاء القادم": the next such day after today."""
    names = "|".join(sorted(map(re.escape, WEEKDAYS), key=len, reverse=True))
    m = re.search(rf"(?:(?:{_NEXT}|{_THIS})\s+)?(?:يوم\s+)?(?<!\w)({names})(?!\w)(?:\s+{_NEXT})?", text)
    if not m:
        return None, text
    ahead = (WEEKDAYS[m.group(1)] - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead), _cut(text, m)


def _relative_date(text: str, today: date) -> tuple[date | None, str]:
    for pattern, days in _RELATIVE:
        if m := re.search(pattern, text):
            return today + timedelta(days=days), _cut(text, m)
    return None, text


def _part_of_day(text: str) -> tuple[str | None, bool, str]:
    """(part of day, it means today, text without it)."""
    for pattern, part, today in _PARTS:
        if m := re.search(pattern, text):
            return part, today, _cut(text, m)
    return None, False, text


def _time(text: str) -> tuple[int | None, int, bool, bool, str]:
    """(hour, minute, the hour is explicit (24 h, am/pm, minutes given), a bare number, rest of the text)."""
    if m := re.search(r"\b(?:midi|noon|midday)\b|منتصف النهار|الزوال", text):
        return 12, 0, True, False, _cut(text, m)
    if m := re.search(r"\b(?:minuit|midnight)\b|منتصف الليل", text):
        return 0, 0, True, False, _cut(text, m)
    if m := re.search(r"(?<![\d/.])(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s*m\b\.?", text):
        hour = int(m.group(1)) % 12 + (12 if m.group(3) == "p" else 0)
        return hour, int(m.group(2) or 0), True, False, _cut(text, m)
    if m := re.search(r"(?<![\d/])(\d{1,2})\s*(?:h|heures?|hrs?)\s*(\d{2})?(?!\w)", text):
        return _checked(int(m.group(1)), int(m.group(2) or 0), bool(m.group(2)), _cut(text, m))
    if m := re.search(r"(?<![\d/])(\d{1,2}):(\d{2})(?!\d)", text):
        return _checked(int(m.group(1)), int(m.group(2)), True, _cut(text, m))
    words = "|".join(sorted(map(re.escape, _AR_NUMBERS), key=len, reverse=True))
    pattern = (
        rf"(?:(الساعه|ساعه)\s+)?(?<!\w)(\d{{1,2}}|{words})(?!\w)\s*(و\s*النصف|و\s*نصف|و\s*الربع|و\s*ربع|"
        r"الا\s*ربع|الا\s*الربع|و\s*(\d{1,2})\s*(?:دقيقه|دقائق|د)?)?"
    )
    for m in re.finditer(pattern, text):
        word = m.group(2)
        if not m.group(1) and (word.isdigit() or not word.startswith("ال")):
            continue  # "3" or "ثلاثه" alone is not an hour; "الساعه 3" and "الثالثه" are
        hour = int(word) if word.isdigit() else _AR_NUMBERS[word]
        tail = (m.group(3) or "").replace(" ", "")
        minute = {"والنصف": 30, "ونصف": 30, "والربع": 15, "وربع": 15}.get(tail, int(m.group(4) or 0))
        if tail.startswith("الا"):
            hour, minute = hour - 1, 45
        return _checked(hour, minute, bool(tail) and hour > 12, _cut(text, m))
    if m := re.search(r"\b(?:a|at|vers|around|about|for|pour|على|حوالي)\s+(\d{1,2})(?![\d/:.])", text):
        return _checked(int(m.group(1)), 0, False, _cut(text, m))
    if m := re.fullmatch(r"\s*(\d{1,2})\s*", text):
        hour, minute, explicit, _, rest = _checked(int(m.group(1)), 0, False, "")
        return hour, minute, explicit, hour is not None, rest
    return None, 0, False, False, text


def _checked(hour: int, minute: int, explicit: bool, rest: str) -> tuple[int | None, int, bool, bool, str]:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None, 0, False, False, rest
    return hour, minute, explicit or hour == 0 or hour >= 13, False, rest


def _fallback(original: str, text: str, local_now: datetime) -> date | None:
    """A date dateparser finds in relative phrases ("dans 3 jours", "next week"), never in a lone word."""
    if not _FALLBACK_WORDS.search(text):
        return None
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TIMEZONE": str(local_now.tzinfo),
    }
    try:
        found = dateparser.parse(original, languages=["fr", "en", "ar"], settings=settings)
    except (ValueError, OverflowError):
        return None
    return found.date() if found else None


def parse_when(text: str, *, lang: str, tz: tzinfo, now: datetime) -> When:
    """The day, time and part of day in a customer's message; empty `When()` when it names no moment."""
    local_now = now.astimezone(tz)
    today = local_now.date()
    rest = _prepare(text)
    day, rest = _explicit_date(rest, today)
    if day is None:
        day, rest = _relative_date(rest, today)
    if day is None:
        day, rest = _weekday_date(rest, today)
    part, part_today, rest = _part_of_day(rest)
    hour, minute, explicit, bare, rest = _time(rest)
    if hour is None and part and (m := re.search(r"(?<![\d/:.])(\d{1,2})(?![\d/:.])", rest)):
        hour, minute, explicit, _, rest = _checked(int(m.group(1)), 0, False, rest)  # "3 de l'après-midi"
    if day is None and part_today:
        day = today
    vague = day is None and _VAGUE.search(rest) is not None
    if day is None and hour is None and part is None and not vague:
        day = _fallback(text, rest, local_now)
    ambiguous = bare or vague
    if hour is not None and not explicit:
        if part in ("afternoon", "evening") and hour < 12:
            hour += 12
        elif part is None and 1 <= hour <= 7:
            hour += 12  # "à 3h", "الساعة 3": business hours, so the afternoon
            ambiguous = ambiguous or day is None
    at = time(hour, minute) if hour is not None else None
    past = False
    if day is not None:
        if at is not None:
            past = datetime.combine(day, at).replace(tzinfo=tz) < now
        else:
            past = day < today or (day == today and part == "morning" and local_now.hour >= 12)
    return When(date=day, time=at, part_of_day=part, ambiguous=ambiguous, past=past)


# ---- reading a slot back ----------------------------------------------------------------------------------

_DAY_NAMES = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche".split(),
    "ar": "الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت الأحد".split(),
}
_MONTH_NAMES = {
    "en": "January February March April May June July August September October November December".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "ar": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر".split(),
}


def format_slot(dt_utc: datetime, tz: tzinfo, lang: str) -> str:
    """A slot as a customer reads it: "mardi 1 décembre à 10h30", "Tuesday 1 December at 10:30", Arabic too."""
    local = dt_utc.astimezone(tz)
    base = (lang or "en").lower().replace("_", "-").split("-")[0]
    base = base if base in _DAY_NAMES else "en"
    day, month = _DAY_NAMES[base][local.weekday()], _MONTH_NAMES[base][local.month - 1]
    if base == "fr":
        hour = f"{local.hour}h{local.minute:02d}" if local.minute else f"{local.hour}h"
        return f"{day} {local.day} {month} à {hour}"
    if base == "ar":
        return f"{day} {local.day} {month} على الساعة {local.hour}:{local.minute:02d}"
    return f"{day} {local.day} {month} at {local.hour}:{local.minute:02d}"
