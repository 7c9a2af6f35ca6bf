"""The words of a customer's question as the offline model weighs them: content words (not question or politeness
words), the stems that meet a passage in each language (own stems and synonyms, or translations), whether a word
only names the kind of fact wanted, is in the sentence that asks, or is the verb."""

from __future__ import annotations

import re
from dataclasses import dataclass

from jasping.agent import facts
from jasping.agent.llm.passages import fuzzy
from jasping.knowledge.analysis import fold, token_forms, tokenize
from jasping.knowledge.dictionary import translated_stems
from jasping.knowledge.lexicon import concept_spans, words_of
from jasping.knowledge.skeleton import skeleton

__all__ = ["Stems", "Word", "matched", "query_words"]

# Question and politeness words: not what a question is about, so they neither weigh nor need covering.
_ASKING = frozenset(
    """how much many can could would may might please tell know want like need get find give hi hello hey thanks
    comment combien quel quelle quels quelles peut peux puis pouvez pourriez faut faire fait savoir voudrais veux
    aimerais bonjour bonsoir salut merci svp stp plait dire hola salam كم كيف هل ماذا اريد ممكن مرحبا شكرا
    kind sort thing things stuff something anything use using offer offers provide genre truc trucs chose choses
    quelque proposez offrez utilisez policy policies info information informations details détails politique faite
    aussi exactement exactly just juste really vraiment quoi
    ديال ديالكم ديالي ديالك شي واش كاين كاينة غادي باش بغيت عطيوني عطيني بالضبط واخا دابا هاد هادي هادا عافاك من فضلك
    لو سمحت
    سلام السلام عليكم صباح مساء الخير الله يخليك شنو اشنو أشنو آش اش شكون علاش كيفاش كيفاه وقتاش امتى إمتى فوقاش
    هو هي هوما هوا هيا حنا احنا نتوما نتا نتي انا أنا عندكم عندي عندو عندها عندنا فيكم ليكم لينا ليا
    راه را راني راكم خاص خاصني خاصك خاصو خصني خصك بغيت بغينا كنبغي نبغي بغا بغات نقدر تقدر يقدر نقدرو تقدرو
    ندير تدير يدير كندير كتدير كيدير نديرو تديرو كتديرو كيديرو نعرف نسول الواحد شحال بزاف مزيان ولا أولا""".split()
)


@dataclass(frozen=True)
class Word:
    """A content word of the question: its stems (and translations), whether it only says what kind of fact is
    wanted ("price", "horaires": a cue), and whether it is in the sentence that asks (not in context given
    before it: "I have a Clio 4. How much is an oil change?")."""

    stems: frozenset[str]  # under every analyser (rarity among the candidates)
    cue: bool
    asked: bool
    by_language: dict[str, frozenset[str]]  # what meets a passage of each language
    own: frozenset[str] = frozenset()  # the word's own stems: they may also meet a near spelling (not translations)
    verb: bool = False  # next to a subject pronoun ("do you treat", "soignez-vous"): the action, not the thing

    def stems_for(self, lang: str | None) -> Stems:
        return self.by_language.get(lang or "", self.stems), self.own


_PRONOUNS = frozenset("you u we i vous nous je tu on".split())
Stems = tuple[frozenset[str], frozenset[str]]  # a word's stems that meet a passage, and those that may meet fuzzily

_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")


def _asked_tokens(text: str) -> set[str] | None:
    """The tokens of the sentences that ask (end with a question mark), when the message also has others."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    asking = [s for s in sentences if s.rstrip().endswith(("?", "؟"))]
    if len(sentences) < 2 or not asking or len(asking) == len(sentences):
        return None
    return {token for s in asking for token in tokenize(s)}


def query_words(text: str, lang: str, passage_langs: set[str]) -> list[Word]:
    """The question's content words, each with its stems per passage language: in the customer's language its
    own stems and the lexicon's synonyms; in another, that language's stems of the word (names, cognates) and
    the lexicon's translations, phrase by phrase. A short word is not run through another language's stemmer
    ("cars" would become "car", the stem of the French "carie")."""
    tokens = tokenize(text)
    asked = _asked_tokens(text)
    lexicon: dict[tuple[int, str], set[str]] = {}
    spans = concept_spans(tokens, lang)
    for lg in passage_langs | {lang}:
        for start, end, concept in spans:
            stems = {stem for word in words_of(concept, lg) for stem, _ in token_forms(word, lg)}
            for i in range(start, end):
                lexicon.setdefault((i, lg), set()).update(stems)
    words, seen = [], set()
    for i, token in enumerate(tokens):
        if token in seen or not token_forms(token, lang) or fold(token) in _ASKING:
            continue  # a repeated word, or a stop word in the customer's language
        seen.add(token)
        by_language = {}
        for lg in passage_langs | {lang}:
            stems = {s for s, _ in token_forms(token, lg) if lg == lang or len(token) > 4 or s == fold(token)}
            if lg != lang:
                stems |= translated_stems(token, lang, lg)
                if _arabic_script(token) != (lg == "ar"):  # "الكورونة" meets "couronne", "Zerktouni" "زرقطوني"
                    stems |= skeleton(token)
            by_language[lg] = frozenset(stems | lexicon.get((i, lg), set()))
        union = frozenset().union(*by_language.values())
        own = frozenset(s for lg in {lang, *passage_langs} for s, _ in token_forms(token, lg) if len(token) > 4)
        if union:
            cue, is_asked = fold(token) in facts.CUES, asked is None or token in asked
            verb = (i and tokens[i - 1] in _PRONOUNS) or (i + 1 < len(tokens) and tokens[i + 1] in _PRONOUNS)
            words.append(Word(union, cue, is_asked, by_language, own, bool(verb)))
    return words


def _arabic_script(token: str) -> bool:
    return "\u0600" <= token[:1] <= "\u06ff"


def matched(words: list[Stems], terms: frozenset[str]) -> set[int]:
    """The question words found in `terms`: exactly, or (its own stems, not translations) by a near spelling."""
    return {i for i, (stems, own) in enumerate(words) if stems & terms or any(fuzzy(t, terms) for t in own)}
