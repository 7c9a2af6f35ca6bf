"""What a question asks for, and which words of a passage carry it (English, French, Arabic, Darija).

`question_kind(text)` names what the customer wants: a price, a duration, a time, a place, a contact, a number,
a way to do something, a list, or anything else; `is_yes_no(text)` says whether it is a yes/no question.
`has_fact(kind, text)` tells whether a sentence carries a fact of that kind (an amount with its currency, a
duration with its unit, a time of day, an address, a phone number or email), and `fact_spans` finds them.
`polarity(text)` reads whether a sentence says no. `CUES` are the words that only say what kind of fact is
wanted ("price", "horaires"): they weigh less than the question's focus ("oil change") when picking a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "CUES",
    "clauses",
    "fact_kind",
    "fact_spans",
    "has_fact",
    "is_yes_no",
    "polarity",
    "question_kind",
    "special_period",
    "table_cells",
]

_AR = r"\u0600-\u06ff"
_W = r"[^\W_]"  # a letter or digit, any script


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub("[\u064b-\u065f\u0670\u0640]", "", text).translate(str.maketrans("أإآ", "ااا"))


def _words(pattern: str) -> re.Pattern[str]:
    """Alternatives matched as whole words (in any script), on folded text."""
    return re.compile(rf"(?<!{_W})(?:{pattern})(?!{_W})")


# Kinds, tried in this order (the first that matches wins): "how long" before "how", "combien de temps" before
# "combien".
_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("duration", _words(
        r"how long|how many (?:minutes|hours|days|weeks|months)|combien de (?:temps|minutes|heures|jours|semaines"
        r"|mois)|duree|dure|durent|delai|delais|en combien|كم من الوقت|كم يستغرق|مدة|المدة|شحال ديال الوقت|شحال كتاخد"
        r"|ch7al dyal lw9t|ch7al kayakhed"
    )),
    ("price", _words(
        r"how much|price|prices|pricing|cost|costs|costing|fee|fees|rate|rates|tariff|charge|charges"
        r"|expensive|cheap|combien|prix|tarif|tarifs|cout|coute|coutent|frais|montant|cher|chere|bkm|بكم|كم سعر"
        r"|كم ثمن|سعر|السعر|ثمن|الثمن|تكلفة|التكلفة|رسوم|بشحال|شحال|bch7al|ch7al|bchhal|chhal"
    )),
    ("number", _words(r"how many|combien de|combien d'|كم عدد|شحال من")),
    ("time", _words(
        r"when|what time|which time|opening hours|opening times|hours|open|opens|opening|close|closes|closing|until"
        r"|quand|quelle heure|quelles heures|horaire|horaires|ouvert|ouverte|ouverts|ouvrez|ouvre|ouvrent|ferme"
        r"|fermez|fermes|fermeture|jusqu'a quelle|a partir de quelle|متى|وقتاش|فوقاش|امتى|ساعات|اوقات|مفتوح|مغلق"
        r"|تفتحون|تغلقون|كتحلو|كتسدو|imta|fo9ach|wa9tach|kat7lo|katsedo"
    )),
    ("contact", _words(  # "adresse mail" asks for an email, not a place
        r"adresse (?:e-?)?mail|adresse electronique|e-?mail address|mail address|numero de telephone|phone number"
        r"|عنوان البريد|البريد الالكتروني|البريد الإلكتروني"
    )),
    ("place", _words(
        r"where|address|located|location|directions|get to|get there|find you|adresse|situe|situee|situes"
        r"|se trouve|vous trouver|acces|acceder|venir|أين|اين|فين|عنوان|العنوان|موقع|الموقع|كاينين|fin kaynin"
    )),
    ("contact", _words(
        r"phone|telephone|phone number|call you|email|e-mail|mail|reach you|contact|telephoner|numero|joindre"
        r"|contacter|appeler|هاتف|الهاتف|رقم|ايميل|البريد|نتاصل|نعيط"
    )),
    ("howto", _words(
        r"how do|how can|how should|how to|how does|comment|كيف|كيفاش|كيفاه|kifach|kifash")),
    ("list", _words(
        r"which|what kind|what kinds|what type|what types|what sort|quels|quelles|lesquels|lesquelles|quel type"
        r"|quels types|quelle sorte|ما هي|ماهي|شنو هما|اشنو هما|اي|أي|شمن|achmen|chmen"
    )),
]  # fmt: skip

_YES_NO = re.compile(
    r"(?:^|[,;:] )(?:(?:hi|hello|hey|bonjour|salut|salam|سلام|السلام عليكم)[ ,!.]*)?"
    r"(?:(?:do|does|did|is|are|was|were|can|could|will|would|have|has|may|might|should|shall|am|must"
    r"|puis-je|peut-on|pouvez-vous|avez-vous|acceptez-vous|faut-il|y a-t-il|y-a-t-il|il y a|on peut|je peux"
    r"|c'est possible|hal|هل|واش|wach|wash|wesh)(?!\w)|est-ce que|est-ce qu'|est ce que|est ce qu'|esque|eske)"
)
_SUBJECT = re.compile(r"^(?:vous|tu|on|je|j'|il|elle|y a|ya|c'est|you|u|it|there|they)(?!\w)")
_INVERSION = re.compile(r"\w-(?:vous|je|il|elle|on|ils|elles|nous)\b")  # "acceptez-vous", "faut-il"
_WH = _words(
    r"how|what|which|where|when|who|why|whats|comment|quel|quelle|quels|quelles|quand|qui|pourquoi|combien|quoi"
    r"|كيف|ماذا|ما|متى|أين|اين|لماذا|من|كم|شنو|اشنو|فين|علاش|كيفاش|شكون|شحال|بشحال|وقتاش|imta|chno|achno|kifach"
)
_OR = _words(r"or|ou|او|أو|ولا|wla")
_OU = re.compile(r"(?<!\w)où(?!\w)")  # "où" (where); folded it would be "ou" (or)

CUES: frozenset[str] = frozenset(
    """how much many long price prices pricing cost costs fee fees rate rates tariff charge pay expensive cheap when
    time hours open opening close closing where address located location phone number email contact combien prix
    tarif tarifs cout coute frais montant payer cher temps duree dure quand heure heures horaire horaires ouvert
    ouvrez ferme fermeture adresse situe telephone numero mail joindre contacter
    سعر ثمن بشحال شحال متى فين أين""".split()
)  # folded, unstemmed

_CURRENCY = (
    r"€|eur|euros?|\$|usd|cad|\$ca|ca\$|mad|dh|dhs|dirhams?|درهم|دراهم|د\.م\.?|£|gbp|chf|fcfa|cfa|tnd|dzd|ريال|دولار"
    r"|يورو|اورو"
)
_NUMBER_WORDS = (
    r"(?:un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante|soixante"
    r"|one|two|three|four|five|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|sixty)"
)
_AMOUNT = r"\d{1,3}(?:[  \u202f.,]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SPANS: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        rf"(?:(?:{_CURRENCY})\s?(?:{_AMOUNT}))|(?:(?:{_AMOUNT})\s?(?:{_CURRENCY})(?![a-z]))"
        r"|(?<!\w)(?:free|free of charge|no charge|gratuit|gratuite|gratuits|gratuites|offert|offerte|sans frais"
        r"|مجاني|مجانا|مجانية|بالمجان|فابور)(?!\w)|(?<![\d.,])\d{1,3}(?:[.,]\d+)?\s?%",
        re.IGNORECASE,
    ),
    "duration": re.compile(
        rf"(?:\d+(?:[.,]\d+)?|{_NUMBER_WORDS})\s?(?:-|à|to|a|و|–)?\s?(?:\d+|{_NUMBER_WORDS})?\s?"
        r"(?:working |business |calendar |full |clear |ouvrés |ouvrables |francs )?"
        r"(?:min|mins|mn|minutes?|h|hr|hrs|hours?|heures?|jours?|days?"
        r"|semaines?|weeks?|mois|months?|ans?|années?|years?|nuits?|nights?|دقيقة|دقائق|دقايق|ساعة|ساعات|يوم|أيام|ايام"
        r"|أسبوع|أسابيع|شهر|أشهر|سنة|سنوات|ليلة|ليال)(?![\w:])"  # "17h30" is a time of day, not a duration...
        r"|(?<![\d:])[0-4]\s?h\s?[0-5]\d(?![\d:])"  # ...but "1h30" or "2 h 15" is one
        r"|(?<!\w)(?:(?:une |an? |half an? )?(?:demi-heure|demi-journée|demi-journee|half-hour|half-day|hour|heure)"
        r"|ساعتين|يومين|أسبوعين|اسبوعين|شهرين|نصف ساعة|ساعة ونصف|ربع ساعة)(?!\w)",
        re.IGNORECASE,
    ),
    "time": re.compile(
        r"(?<!\d)(?:[01]?\d|2[0-3])\s?(?:h|:|\.)\s?(?:[0-5]\d)?(?![\d%])"
        r"|(?<!\d)(?:1[0-2]|0?\d)(?:[:.][0-5]\d)?\s?(?:am|pm|a\.m\.|p\.m\.)(?!\w)"
        r"|(?<!\d)(?:1[0-2]|0?\d)(?:[:.][0-5]\d)?\s?(?:صباحا|صباحًا|صباحاً|مساء|مساءً|ظهرا|ليلا)(?!\w)"
        r"|(?<!\w)(?:midi|minuit|noon|midnight|24/7|24h/24|7j/7)(?!\w)",
        re.IGNORECASE,
    ),
    "place": re.compile(
        r"(?<!\w)(?:rue|avenue|av\.|bd|boulevard|street|st\.|road|rd\.?|lane|place|quai|allée|allee|chemin|route|impasse"
        r"|quartier|zone industrielle|résidence|residence|étage|etage|floor|building|immeuble|derb|شارع|زنقة|حي|درب"
        r"|الطابق|عمارة)(?!\w)|\b\d{5}\b",
        re.IGNORECASE,
    ),
    "contact": re.compile(
        r"\+?\d[\d  .\-()]{7,}\d|[\w.+-]+@[\w-]+\.[\w.]+|(?<!\w)(?:whatsapp|واتساب)(?!\w)", re.IGNORECASE
    ),
    "number": re.compile(r"\d"),
}
# What a question that names only its kind ("Vous êtes où ?") is about.
KIND_WORDS = {
    "place": "address adresse عنوان", "time": "opening hours horaires ouverture ساعات",
    "contact": "phone email téléphone", "price": "price prix سعر", "duration": "duration durée مدة",
}  # fmt: skip
_NEGATION = _words(
    r"not|no|never|cannot|can't|don't|doesn't|isn't|aren't|won't|wouldn't|unfortunately|non|pas|jamais|aucun"
    r"|aucune|ne|n'|interdit|interdits|interdite|impossible|forbidden|prohibited|لا|ليس|ليست|لسنا|لن|لم|ماشي"
    r"|ممنوع|ممنوعة|غير مسموح|مايمكنش"
)
_NEGATION_PREFIX = re.compile(r"(?<![\w])n'|(?<![\w])non-", re.IGNORECASE)
_YES = re.compile(r"^(?:yes|oui|yep|sure|of course|bien sur|absolument|نعم|ايه|واه)(?!\w)")
_NO = re.compile(r"^(?:no|non|nope|لا|ماشي)(?!\w)")
_BUT = re.compile(r"[,;]? (?:but|mais|however|cependant|toutefois|par contre|en revanche|لكن|ولكن|walakin) ")
_CELL = re.compile(r"\s*;\s+")


@lru_cache(maxsize=4096)
def question_kind(text: str) -> str:
    """ "price", "duration", "number", "time", "place", "contact", "howto", "list" or "other"."""
    folded = _fold(text)
    if _OU.search(text.casefold()) and not any(p.search(folded) for k, p in _KINDS[:4] if k != "number"):
        return "place"
    for kind, pattern in _KINDS:
        if pattern.search(folded):
            if kind == "list" and not re.search(r"[?؟]|^(?:which|quels|quelles|ما|شنو)", folded):
                continue
            return kind
    return "other"


@lru_cache(maxsize=4096)
def is_yes_no(text: str) -> bool:
    """Whether the question expects a yes or a no: "Do you…", "Est-ce que…", "Acceptez-vous…", "هل…", "واش…", or
    a statement asked with a question mark and no question word ("Vous donnez des cours en ligne ?")."""
    folded = _fold(text).strip(" ¿¡\"'«")
    sentences = [s.strip() for s in re.split(r"(?<=[.!?؟])\s+", folded) if s.strip()]
    asking = [s for s in sentences if s.endswith(("?", "؟"))] or sentences[-1:]
    if len(asking) > 1 and _WH.match(asking[0]) and question_kind(asking[0]) in _SPANS:
        return False  # "How much is it? Is there a deposit?": the fact comes first
    for sentence in asking:  # "I have a Clio. Do you…?": the sentence that asks
        if _YES_NO.search(sentence):
            return not _WH.match(sentence)
        if _INVERSION.search(sentence) and not _WH.search(sentence):
            return True
        if (
            sentence.endswith(("?", "؟"))
            and not _WH.search(sentence)
            and not _OR.search(sentence)  # "vidange ou révision ?" asks to choose
            and (question_kind(sentence) == "other" or _SUBJECT.match(sentence))
        ):
            return True  # intonation: a statement with a question mark
    return False


def fact_kind(kind: str) -> str | None:
    """The kind of span that answers a question of `kind` (None for how-to, list and other questions)."""
    return kind if kind in _SPANS else None


def fact_spans(kind: str, text: str) -> list[str]:
    """The spans of `text` that carry a fact of `kind` ("450 DH", "30 min", "9h30", "12 rue …")."""
    pattern = _SPANS.get(kind)
    return [m.group().strip() for m in pattern.finditer(text)] if pattern else []


def has_fact(kind: str | None, text: str) -> bool:
    pattern = _SPANS.get(kind or "")
    return bool(pattern and pattern.search(text))


def clauses(text: str) -> list[str]:
    """The clauses of a sentence that a "but" separates ("We repair carbon bikes, but not a cracked frame")."""
    return [c for c in _BUT.split(re.sub(r"\([^)]*\)", "", text)) if c.strip()] or [text]


_SPECIAL = _words(
    r"ramadan|ramadhan|رمضان|christmas|noel|xmas|easter|paques|eid|aid|عيد|holiday|holidays|vacances|conges"
    r"|summer|en ete|cet ete|l'ete|winter|hiver|july|juillet|august|aout|غشت|اغسطس|exceptionally"
    r"|exceptionnellement|seasonal|saison|public holidays|jours feries|feries|العطل"
)


def special_period(text: str) -> bool:
    """Whether a sentence speaks of a special period (Ramadan, holidays, summer, August): the usual hours, prices
    or rules answer a question that names none."""
    return bool(_SPECIAL.search(_fold(text)))


def polarity(text: str, focus: str | None = None) -> bool:
    """False when the sentence says no ("not", "pas", "aucun", "لا", "interdit"), else True. An answer that starts
    with yes or no says so; otherwise its clause about the question (`focus`, one of `clauses(text)`) counts, or
    its main clause ("We don't repair in-house, but we work with…" says yes; "10 % off (not combinable…)" says
    yes)."""
    folded = _fold(text).strip()
    if _YES.match(folded):
        return True
    if _NO.match(folded):
        return False
    main = _BUT.split(re.sub(r"\([^)]*\)", "", folded))
    if focus is not None and len(main) > 1:
        main = [_fold(focus)]
    elif len(main) > 1:
        return True  # "not X, but Y": the answer offers something
    return not (_NEGATION.search(main[0]) or _NEGATION_PREFIX.search(main[0]))


def table_cells(line: str) -> list[tuple[str, str]] | None:
    """A table row rendered "Header: value; Header: value" as (header, value) pairs; None for other lines."""
    parts = _CELL.split(line.strip())
    if len(parts) < 2:
        return None
    cells = []
    for part in parts:
        name, sep, value = part.partition(": ")
        cells.append((name.strip(), value.strip()) if sep and len(name) <= 40 else ("", part.strip()))
    return cells if sum(1 for name, _ in cells if name) >= 2 else None
