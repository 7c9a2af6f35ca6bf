"""Rule-based intents and message language for the offline agent (English, French, Arabic, Moroccan Darija).

`detect_intent(text, language)` returns one of `INTENTS`. Action intents are tried first, in order
(`human`, `callback`, `booking`, `lead`: each a list of patterns over the normalised text, so a new flow is one
more entry in `_ACTIONS`); then a message made only of social words ("Bonjour !", "merci beaucoup", "bslama")
is a greeting, thanks or goodbye; anything else is a `question` ("Bonjour, quels sont vos horaires ?" too).
Normalisation: case folding, accents folded, Arabic letters unified, punctuation and emoji dropped, repeated
letters squeezed for the social words ("bonjouuur"), one typo tolerated in words of 5 letters or more.
"""

from __future__ import annotations

import re
from functools import lru_cache

from jasping.knowledge.analysis import STOP_WORDS, fold, normalize_arabic, tokenize
from jasping.knowledge.ingest.language import guess_language, ngram_language

__all__ = ["INTENTS", "detect_intent", "detect_message_language", "is_instruction_probe", "normalize"]

INTENTS = ("greeting", "thanks", "goodbye", "human", "callback", "lead", "booking", "question", "privacy")


def normalize(text: str) -> str:
    """Casefolded, accent-folded, Arabic-normalised words of `text` joined by single spaces (apostrophes split)."""
    words = []
    for token in tokenize(text or ""):
        words.extend(normalize_arabic(fold(token)).split("'"))
    return " ".join(w for w in words if w)


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{normalize_arabic(fold(p.casefold()))})" for p in patterns))


_PERSON = (
    r"(a |an |the |some |your |one of your )?(real |actual |live )?(human|person|people|someone|somebody|agent|"
    r"operator|representative|rep|staff|team|member of staff|manager|receptionist|secretary|dentist|doctor)"
)
# fmt: off
_ACTIONS: list[tuple[str, re.Pattern[str]]] = [
    ("privacy", _compile([  # a data request about oneself: erasure or access (privacy.chat_requests)
        r"\b(delete|erase|remove|wipe)\b( \w+){0,3} (my|our) (personal )?(data|information|info|details)\b",
        r"\bright to (be forgotten|erasure)\b", r"\bforget (about )?me\b",
        r"\bwhat (personal )?(data|information|info) do you (have|hold|keep|store)( on| about)? me\b",
        r"\bwhat do you (have|hold|know|keep|store) (on|about) me\b",
        r"\b(copy|export) of (all )?my (personal )?(data|information)\b", r"\bsubject access request\b",
        r"\b(supprim|effac|detrui)\w*( \w+){0,3} (mes|nos) (donnees|informations|infos|coordonnees)\b",
        r"\bdroit (a l|a) (oubli|effacement)\b", r"\boubliez moi\b",
        r"\b(quelles|quels) (donnees|informations)( \w+){0,4} (sur moi|me concernant)\b",
        r"\b(qu avez vous|que savez vous|que detenez vous) (sur|de) moi\b",
        r"\b(acces|copie) (a |de )?(toutes )?mes donnees\b",
        r"\b(send|give) me (a copy of )?(all )?my (personal )?data\b",
        r"(احذف|حذف|امسح|مسح|ازاله)[^ ]*( [^ ]+){0,2} (بياناتي|معلوماتي)", r"نسخه من (بياناتي|معلوماتي)",
        r"(ماذا|ما هي|اي) (ال)?(بيانات|معلومات) (لديكم|عندكم)",
    ])),
    ("human", _compile([
        rf"\b(talk|speak|chat|connect|transfer|put) (me )?(to|with|through to) {_PERSON}\b",
        r"\b(real|live|actual) (human|person|agent)\b", r"\bhuman( agent| being)?\b", r"\b(operator|representative)\b",
        r"\b(parler|discuter|echanger|relation|joindre|passer)\b( \w+){0,3} (quelqu un|humain|(une|un|la|le) "
        r"(vraie |vrai )?(personne|conseiller|conseillere|agent|operateur|operatrice|secretaire|secretariat|standard|"
        r"responsable|docteur|dentiste|medecin|equipe))\b",
        r"\b(agent|conseiller|interlocuteur) humain\b", r"\bun humain\b", r"\b(vraie personne|personne reelle)\b",
        r"\bconseill(er|ere)\b",
        r"موظف", r"شخص حقيقي", r"انسان", r"بشري",
        r"(التحدث|اتحدث|التكلم|اتكلم|تكلم|تحدث|نهضر|نتكلم|نهدر) (مع|الى) (شخص|احد|موظف|مسؤول|انسان)",
        r"\b(nhder|nhdar|nahdar|nhdr|ntkalem|ntkallem) (m3a|mea|maa) (chi|shi|wahed|wa7ed|bnadem|insan|chi hed)\b",
    ])),
    ("callback", _compile([
        r"\b(call|phone|ring) (me|us)( back)?\b", r"\bcall ?back\b", r"\bgive me a (call|ring)\b",
        r"\b(rappel(ez|le|er) moi|appel(ez|le) moi)\b(?! (vos|votre|le|la|les|l|ce|cet|cette|comment|quand|ou|quel|"
        r"quelle|quels|quelles|combien|si|pourquoi|ton|ta|tes)\b)",
        r"\bme (faire )?rappeler\b", r"\bm appeler\b", r"\betre rappele", r"\bdemande de rappel\b",
        r"(اتصلوا|اتصل|تتصلوا|تتصل|عاودوا|عاود) (بي|الاتصال)", r"معاوده الاتصال", r"عيطو", r"عيط ليا",
        r"\b(3ayto|3ayet|3ytoli|3eyto|3aytou)\b",
    ])),
    ("booking", _compile([
        r"\b(book|booking|rebook|reschedule)\b",
        r"\b(make|schedule|set up|arrange|get|take|cancel|change|move|modify|want|like|request) (an |my |a |the )?"
        r"(new )?(appointment|appt|consultation|slot|reservation)\b",
        r"\breserv(er|ez|ation)\b",
        r"\b(prendre|avoir|fixer|obtenir|caler|annuler|decaler|deplacer|reporter|modifier|changer|voudrais|"
        r"veux|souhaite|souhaiterais|aimerais|demander) (un |mon |le |votre |d un |une )?(nouveau |autre )?"
        r"(rendez vous|rdv|rendezvous|consultation|creneau)\b",
        r"^(i|j ai) (really |vraiment )?(need|besoin d) (an |a |un |une )?(appointment|rendez vous|rdv)\b",
        r"\brdv\b", r"حجز|احجز|نحجز|الحجز",
        r"(الغاء|الغي|تاجيل|اجل|تغيير|اخذ|اريد|بغيت|ابغي|اود|اخد) (ال)?موعد",
        r"\b(bghit|bghina|nakhod|nakhd|ndir|ndiro|n7jez|nhjez|hjez) (chi |wahed |wa7ed )?"
        r"(rdv|rendez vous|maw3id|maw3ed)\b",
    ])),
    ("lead", _compile([
        r"\b(contact|email|text|reach) (me|us)\b", r"\bget (back )?in touch with me\b",
        r"\b(someone|you) (to )?get (back )?in touch\b",
        r"\b(leave|give|send|share) (you )?(my|our) (details|number|phone|contact|email|info|information|name)\b",
        r"\b(quote|quotation)\b", r"\b(a|free|get|request|need|want) (an )?estimate\b",
        r"\b(un|de|des|du|votre|vos) devis\b", r"\bdevis (pour|gratuit|personnalise|svp)\b",
        r"\b(re)?contact(ez|er) (moi|nous)\b", r"\bme (re)?contacter\b", r"\bmes coordonnees\b",
        r"\b(laisser|donner|envoyer|transmettre) (mes|nos|mon) (coordonnees|numero|telephone|email|mail|contact|nom)\b",
        r"(تواصلوا|تواصل|اتصلوا) معي", r"عرض سعر", r"(بياناتي|معلوماتي)", r"(اترك|اعطي|ارسل) رقمي",
    ])),
]
# fmt: on

_SOCIAL: dict[str, set[str]] = {
    "greeting": set(
        "hi helo hey hiya howdy morning afternoon evening bonjour bonsoir salut coucou bjr slt salam slm salamo "
        "salamu asalam asalamu asalamo alaykom alikoum alikum alaykum alaikum aleykoum alikom ahlan ahla marhaba "
        "marhba labas hola مرحبا اهلا سلام السلام لاباس صباح مساء".split()
    ),
    "thanks": set(
        "thanks thank thx tnx thanx ty merci mrc choukran chokran shukran shokran chukran chokrane choukrane "
        "شكرا appreciate ok okay oki parfait super great perfect top cool genial wakha حسنا ممتاز".split()
    ),
    "goodbye": set(
        "bye goodbye ciao bslama beslama bslema salama revoir bientot journee soiree care later day cya "
        "السلامه بسلامه وداعا".split()
    ),
}
_FILLER = set(
    "there all everyone team guys dear sir madam madame monsieur mr mrs ms doctor docteur dr le la les a au tout tous "
    "toutes monde equipe and et you very much so lot lots beaucoup bcp d accord daccord nice good have bonne bon bien "
    "again encore for pour your votre help aide the how see ya bzaf bezaf "
    "are comment allez vous ca va vas tu what up sup i j ai une question me m moi can could please svp stp s il "
    "plait my mon is it c est wa m3a mea avec 3lik 3likom bikhir bkhir hamdoullah hamdullah lhamdoullah "
    "alhamdulillah kolchi mzyan soon oh ah yes yeah oui no non de el al of to كيف حالك الحال جزيلا بزاف مع يا "
    "و انت عليكم الخير النور بك وعليكم".split()
)
_SOCIAL_EMOJI = {"greeting": "👋", "thanks": "🙏👍❤"}
_ORDER = ("goodbye", "thanks", "greeting")


def _squeeze(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


_SQUEEZED = {_squeeze(w): kind for kind in _ORDER[::-1] for w in _SOCIAL[kind]}
_FILLER_SQUEEZED = {_squeeze(w) for w in _FILLER}


def _within_one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _neighbours() -> dict[str, list[str]]:
    """Each social word of 5 letters or more under itself and each of its one-letter deletions: two words within one
    edit (substitution, adjacent swap, insertion) share one of these keys, so a typo is checked against a handful
    of candidates instead of every social word."""
    index: dict[str, list[str]] = {}
    for known in _SQUEEZED:
        if len(known) >= 5:
            for key in _deletions(known):
                index.setdefault(key, []).append(known)
    return index


_NEIGHBOURS = _neighbours()


@lru_cache(maxsize=8192)
def _social_kind(word: str) -> str | None:
    squeezed = _squeeze(word)
    if squeezed in _SQUEEZED:
        return _SQUEEZED[squeezed]
    if len(squeezed) < 5 or squeezed in _FILLER_SQUEEZED:
        return None
    candidates = {known for key in _deletions(squeezed) for known in _NEIGHBOURS.get(key, ())}
    kinds = {_SQUEEZED[known] for known in candidates if _within_one_edit(squeezed, known)}
    return kinds.pop() if len(kinds) == 1 else None


def _social_intent(text: str, words: list[str]) -> str | None:
    kinds: set[str] = {kind for kind, marks in _SOCIAL_EMOJI.items() if any(m in text for m in marks)}
    if re.search(r"\bsee (you|ya)\b", normalize(text)):
        kinds.add("goodbye")
    unknown = 0
    for word in words:
        kind = _social_kind(word)
        if kind:
            kinds.add(kind)
        elif _squeeze(word) not in _FILLER_SQUEEZED:
            unknown += 1
    if not kinds or unknown > 1 or (unknown and ("?" in text or "؟" in text or len(words) > 4)):
        return None
    return next(kind for kind in _ORDER if kind in kinds)


_APPOINTMENT = re.compile(r"\b(appointment|appt|rendez vous|rdv|موعد|maw3id)\b")
_BOOKING_WORDS = re.compile(
    r"\b(book|booking|appointment|appt|reserve|reservation|rendez vous|rdv|reserver|موعد|حجز|maw3id)\b"
)


def mentions_booking(text: str) -> bool:
    """Whether a message speaks of booking ("How do I book?"), whatever its intent."""
    return bool(_BOOKING_WORDS.search(normalize(text)))


_HOW_TO = re.compile(
    r"^(?:\S+ ){0,3}?(how (?:do|can|should|does|to)|comment (?:je|on|faire|puis|peut|dois|ca|ça|se)|كيف|كيفاش|kifach)\b"
)


_CONDITION = re.compile(r"^(?:\S+ ){0,3}?(if|si|s il|اذا|إذا|ila|ila kan)\b")


def _asks_about_condition(text: str, norm: str) -> bool:
    """ "If I book 16 weeks, do I get a discount?": a question about what booking brings, not a request to book."""
    return bool(_CONDITION.search(norm)) and text.rstrip().endswith(("?", "؟"))


def detect_intent(text: str, language: str | None = None) -> str:
    """One of INTENTS for a customer message (the language is a hint; the rules cover en, fr, ar and Darija)."""
    norm = normalize(text)
    for intent, pattern in _ACTIONS:
        if pattern.search(norm):
            if intent in ("booking", "lead") and (_HOW_TO.search(norm) or _asks_about_condition(text, norm)):
                return "question"  # "How do I book?" asks how it works: the documents say, with a booking button
            return intent
    words = norm.split()
    if len(words) <= 4 and _APPOINTMENT.search(norm):
        return "booking"
    return _social_intent(text or "", words) or "question"


# fmt: off
_PROBES = _compile([
    r"\b(ignore|disregard|forget|override|bypass)\b( \w+){0,5} (instructions|rules|prompt|prompts|guidelines)\b",
    r"\b(system|initial|hidden|original|developer) (prompt|instructions|message)\b",
    r"\b(your|tes|vos|ton|votre) (system |systeme )?prompt\b", r"\byour (instructions|configuration|guidelines)$",
    r"\b(other|previous) (customers|clients|users|people|patients|visitors)\b( \w+){0,4} (ask|asked|say|said|wrote|"
    r"write|message|messages|conversation|conversations|chat|chats|data|names|numbers|emails|questions)\b",
    r"\b(other|previous) (conversations|chats)\b",
    r"\b(you are now (a|an|my|dan)|pretend (to be|you are)|jailbreak|developer mode)\b",
    r"\b(ignore|ignorez|ignorer|oublie|oubliez|oublier)\b( \w+){0,5} (instructions|consignes|regles|prompt)\b",
    r"\btes (instructions|consignes|regles)\b", r"\bvos (instructions|consignes)$", r"\bprompt (systeme|system)\b",
    r"\b(autres|precedents) (clients|patients|utilisateurs|visiteurs)\b( \w+){0,4} (demande|dit|ecrit|messages|"
    r"conversations|questions|noms|numeros|donnees)\b",
    r"\bautres conversations\b", r"\b(fais|faites) semblant\b", r"\btu es maintenant\b",
    r"(تجاهل|انس|اهمل)( \S+){0,4} (التعليمات|تعليمات|الاوامر)", r"تعليماتك",
    r"(العملاء|الزبائن|المستخدمين|المرضي) (الاخرين|الاخرون)",
])
_PASSAGE_INJECTION = _compile([
    r"\b(tell|say to|inform) the (user|customer|client|visitor)\b", r"\bnew instructions\b",
    r"\bnouvelles (instructions|consignes)\b", r"\b(dis|dites) (au|a l) (client|patient|utilisateur)\b",
    r"\b(assistant|ai|ia|chatbot|bot|model|modele) (must|should|doit)\b", r"\b(as an ai|language model)\b",
])
# fmt: on


def is_instruction_probe(text: str, *, passage: bool = False, normalized: str | None = None) -> bool:
    """True for attempts to read or override the agent's instructions or other conversations (prompt injection);
    `normalized` is the text as `normalize` gives it, when the caller has it already."""
    norm = normalize(text) if normalized is None else normalized
    return bool(_PROBES.search(norm) or (passage and _PASSAGE_INJECTION.search(norm)))


_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_CUES = {
    "en": set(STOP_WORDS["en"] - STOP_WORDS["fr"])
    | set("hello hi hey thanks thank please price prices cost hours open opening much many".split()),
    "fr": set(STOP_WORDS["fr"] - STOP_WORDS["en"])
    | set("bonjour bonsoir salut merci svp stp combien horaires ouvert prix oui non quand comment est".split()),
    "ar": set(
        "salam slm labas choukran chokran shukran bslama beslama wach wash bghit kifach chhal wakha mzyan bzaf khoya "
        "inchallah hamdoullah safi daba ghda 3afak afak chno achno kayn kayna m3a dyal dial mashi 3lik".split()
    ),
}
_FR_LETTERS = set("éèêàçùûôîïœë")
LANGDETECT_MIN_LETTERS = 25
LANGDETECT_MIN_PROB = 0.85
# The n-gram scorer settles English or French alone when it leads by this much (nats per n-gram) and the function
# words agree by 2 or more: on 2,697 Latin-script messages of the shared data, the evaluation questions and the
# tests, langdetect's answer was the same for every one of the 88 % so settled (build_language_table.py).
NGRAM_MIN_LEAD = 0.06
NGRAM_MIN_CUE_MARGIN = 2


def _base(lang: str | None) -> str:
    return (lang or "").lower().replace("_", "-").split("-")[0]


def _cue_language(text: str) -> tuple[str | None, int]:
    words = [part for token in tokenize(text) for part in token.split("'") if part]
    hits = {lang: sum(fold(w) in cues or w in cues for w in words) for lang, cues in _CUES.items()}
    hits["fr"] += sum(1 for c in text.casefold() if c in _FR_LETTERS)
    ranked = sorted(hits.items(), key=lambda item: (-item[1], item[0]))
    (best, top), (_, second) = ranked[0], ranked[1]
    return (best, top - second) if top > second else (None, 0)


def _guess(text: str) -> str | None:
    letters = [c for c in text if c.isalpha()]
    if letters and sum(1 for c in letters if _ARABIC.match(c)) * 2 >= len(letters):
        return "ar"
    cue, margin = _cue_language(text)
    if len(letters) >= LANGDETECT_MIN_LETTERS and not (cue == "ar" and margin >= 2):
        if cue in ("en", "fr") and margin >= NGRAM_MIN_CUE_MARGIN:
            code, lead, _ = ngram_language(text)
            if code == cue and lead >= NGRAM_MIN_LEAD:
                return code  # clear: langdetect (~2-5 ms) would say the same
        code, prob = guess_language(text)
        if code and prob >= LANGDETECT_MIN_PROB and (code in ("en", "fr", "ar") or margin < 2):
            return code
    return cue


def detect_message_language(text: str, agent_languages: list[str], previous: str | None = None) -> str:
    """The language to answer `text` in: Arabic script, function words with character n-grams, langdetect when those
    are not clear, `previous`, the agent's first language."""
    spoken = [_base(lang) for lang in agent_languages if lang]
    default = spoken[0] if spoken else (_base(previous) or "en")
    previous = _base(previous) or None
    guess = _guess(text or "")
    if guess is None:
        return previous if previous and (not spoken or previous in spoken) else default
    if not spoken or guess in spoken:
        return guess
    if guess == "ar" and not _ARABIC.search(text):  # Darija in Latin letters: French is the usual second language
        for lang in (previous, "fr"):
            if lang in spoken:
                return lang
    return default
