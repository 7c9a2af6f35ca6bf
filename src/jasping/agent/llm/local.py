"""LocalChatModel: the offline, deterministic agent brain (rule-based intents, grounded extractive answers).

A question is answered only with sentences copied from the retrieved passages, and only when retrieval is
confident enough (`threshold`, on `TurnContext.confidence`) and the chosen sentences (with the FAQ question or
heading they sit under) contain enough of the question's content words (`min_coverage`); otherwise the agent
says it does not know and offers a person or a call back. Passage text is never obeyed: sentences that address
an assistant ("ignore previous instructions", "tell the customer ...") are never quoted.

Defaults, chosen on the development half of the answer-level evaluation (`eval/answers/dev`, `make eval`) and
checked on the ARCD dev questions; the held-out half is only measured (bench/README.md):
- threshold 0.15 (was 0.25): questions across languages reach the documents through translated words, which
  count less in the retrieval score; the word coverage below does the declining;
- min_coverage 0.5 of the question's content words, found in the best passage (its sentences, headings, title);
  0.6 declined 8 points more ARCD questions for no gain on the businesses; a two-word question is decided by
  what it is about (`_misses_its_object`);
- the earlier measurements on the shared retrieval data (threshold 0.25: 91% / 93% / 100% of en / fr / ar queries
  with a right first hit above it, 94% / 94% / 88% of unrelated questions below) still describe `confidence`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import NamedTuple

from jasping.agent import facts
from jasping.agent.hours import handoff_text
from jasping.agent.intents import detect_intent, is_instruction_probe, mentions_booking, normalize
from jasping.agent.llm.base import AgentStep, Citation, ToolCall, TurnContext
from jasping.agent.llm.passages import Sentence, passage_language, skeleton_terms, split_passage, terms_of
from jasping.agent.llm.question_words import Word, matched, query_words
from jasping.agent.phrases import PHRASES, phrase, quick_replies
from jasping.knowledge.analysis import tokenize
from jasping.knowledge.skeleton import MARK

__all__ = ["LocalChatModel"]

MAX_PASSAGES = 10  # passages read (a table row is a passage of its own since session 5: five rows said too little)
MAX_SENTENCES = 3
SNIPPET_CHARS = 160
FOREIGN_CONFIDENCE = 0.5  # passages in another language sharing no word with the question need this confidence
FOREIGN_COVERAGE = 0.5  # ...and, matched by words only (no embeddings), half of the question's words
NEIGHBOUR = 0.6  # a neighbouring sentence joins the answer when it scores this share of the best one
CONTEXT_WEIGHT = 0.6  # a sentence under a matching FAQ question / heading gets this share of its score
CUE_WEIGHT = 0.35  # words that only say what kind of fact is wanted ("price", "horaires") weigh this share
FACT_BOOST = 1.5  # a sentence carrying the kind of fact asked for (an amount for "how much?") scores this much more
TYPED_COVERAGE = 0.45  # ...but a typed question answered by a line with that kind of fact needs less
TYPED_CONFIDENT, TYPED_CONFIDENT_COVERAGE = 0.25, 0.3  # ...and less again when retrieval is confident and the best
# line itself has it ("combien de temps pour l'embrayage sur une petite voiture ?": "Kit embrayage (citadine): 5 h")
NEXT_SENTENCE = 2  # a question not about a typed fact: the sentence after the best one joins it (the fact follows)
FACT_MISSING = 0.6  # ...and one without it, this much less
RANK_DECAY = 0.85  # a sentence of the passage ranked n-th by retrieval weighs RANK_DECAY ** n
CANDIDATE_SHARE = 0.3  # passages read: the best ones scoring at least this share of the first
COMPLEMENT_SHARE = 0.2  # a second part's answer scores at least this share of the best sentence (before the fact kind)
FOREIGN_DISCOUNT = 0.7  # a sentence in another language than the customer's: answer in theirs when both exist
SPECIAL_PERIOD = 0.8  # a sentence about a special period (Ramadan, August) when the question names none
_CONJUNCTIONS = frozenset("and also et aussi ainsi plus و".split())  # a question in two parts
_QUESTION_MARK = re.compile(r"[?؟](?=\s|$)")  # ...or two questions in one message


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


class LocalChatModel:
    """Offline, deterministic chat model: rule-based intents and grounded extractive answers."""

    name = "local"

    def __init__(
        self, threshold: float = 0.15, min_coverage: float = 0.5, confident: float = 0.4, max_chars: int = 450
    ) -> None:
        self.threshold = threshold  # below this retrieval confidence: "I don't know"
        self.min_coverage = min_coverage  # share of the question's content words the answer must contain
        self.confident = confident  # below this confidence an answer also offers "Talk to a person"
        self.max_chars = max_chars

    def respond(self, context: TurnContext) -> AgentStep:
        """One turn: a social reply, a tool call for the turn loop, a grounded answer, or an honest "I don't know"."""
        lang = context.language
        if is_instruction_probe(context.user_text):
            return self._unknown(lang, "cant_share")
        intent = detect_intent(context.user_text, lang)
        if intent in ("greeting", "thanks", "goodbye"):
            key = "greeting_named" if intent == "greeting" and context.business_name else intent
            text = phrase(key, lang, business=context.business_name)
            replies = quick_replies(["booking", "human"], lang) if intent == "greeting" else []
            return AgentStep(text, quick_replies=replies, intent=intent, language=lang)
        if intent == "human":
            call = ToolCall("handoff_to_human", {"reason": "customer_request"})
            replies = quick_replies(["callback"], lang)
            text = handoff_text(context)
            return AgentStep(text, quick_replies=replies, tool_calls=[call], intent="human", language=lang)
        if intent in ("callback", "lead", "booking"):
            key, tool, hint = {
                "callback": ("callback_ask", "request_callback", "phone"),
                "lead": ("lead_start", "capture_lead", "name"),
                "booking": ("booking_start", "find_slots", "date"),
            }[intent]
            return AgentStep(
                phrase(key, lang), input_hint=hint, tool_calls=[ToolCall(tool, {})], intent=intent, language=lang
            )
        answer = self._answer(context)
        if answer is None:
            return self._unknown(lang, "unknown")
        if mentions_booking(context.user_text):  # "How do I book?": the answer, and the way to do it
            answer.quick_replies = [*answer.quick_replies, *quick_replies(["booking"], lang)]
        return answer

    def stream(self, context: TurnContext) -> Iterator[str | AgentStep]:
        """The reply's text in pieces of a few words (joined, they are the text), then the final AgentStep."""
        step = self.respond(context)
        words = re.findall(r"\s*\S+\s*", step.text)
        for i in range(0, len(words), 4):
            yield "".join(words[i : i + 4])
        yield step

    def _unknown(self, lang: str, key: str) -> AgentStep:
        replies = quick_replies(["human"] if key == "cant_share" else ["human", "callback"], lang)
        return AgentStep(phrase(key, lang), quick_replies=replies, intent="unknown", language=lang)

    def _answer(self, context: TurnContext) -> AgentStep | None:
        """A grounded extractive answer, or None when the passages do not answer well enough."""
        if not context.passages or context.confidence < self.threshold:
            return None
        ranked = sorted(context.passages, key=lambda p: (-p.score, p.ref))
        top = ranked[0].score
        candidates = [p for p in ranked[:MAX_PASSAGES] if p.score >= top * CANDIDATE_SHARE or p is ranked[0]]
        langs = [passage_language(p) for p in candidates]
        sentences: list[Sentence] = []
        for rank, (p, lang) in enumerate(zip(candidates, langs, strict=True)):
            sentences.extend(split_passage(p, rank, lang))
        leak = normalize(context.instructions)
        sentences = [s for s in sentences if len(s.text) < 30 or s.normalized not in leak]
        if not sentences:
            return None
        ask = _ask(context.user_text)
        customer = context.language.lower().split("-")[0]
        passage_langs = {lang for lang in langs if lang}
        query = query_words(context.user_text, context.language, passage_langs)
        if not query and ask.kind in facts.KIND_WORDS:  # "Vous êtes où ?": the kind is all it says
            query = query_words(facts.KIND_WORDS[ask.kind], context.language, passage_langs)
        by_lang = {lg: [w.stems_for(lg) for w in query] for lg in set(langs)}
        cross_script = any(t[:1] == MARK for w in query for t in w.stems)  # "الكورونة" may meet "couronne"
        for s in sentences:  # which question words each sentence has: itself, or in its question / heading
            s.own = matched(by_lang[s.lang], s.terms | skeleton_terms(s.text) if cross_script else s.terms)
            s.matched = s.own | matched(by_lang[s.lang], s.context)
        weights = self._weights(len(query), sentences)
        weights = [weight * CUE_WEIGHT if w.cue else weight for weight, w in zip(weights, query, strict=True)]
        special = not facts.special_period(context.user_text)  # "hours on Saturday?" is not about Ramadan
        for s in sentences:
            own, ctx = s.own, s.matched - s.own
            s.score = sum(weights[i] for i in own) + CONTEXT_WEIGHT * sum(weights[i] for i in ctx)
            s.score *= RANK_DECAY**s.rank
            if langs[s.rank] and langs[s.rank] != customer:
                s.score *= FOREIGN_DISCOUNT
            if special and facts.special_period(s.text):
                s.score *= SPECIAL_PERIOD
            s.plain = s.score  # before the kind of fact counts
            if ask.fact and facts.has_fact(ask.fact, s.text):
                s.score *= FACT_BOOST
            elif ask.fact and not ask.yes_no:  # "how much?" is not answered by a sentence without an amount
                s.score *= FACT_MISSING
        best = max(sentences, key=lambda s: (s.score, -s.rank, -s.index))
        foreign = bool(langs[best.rank]) and langs[best.rank] != customer
        if best.score <= 0:  # no shared word: only a confident cross-language match by meaning may answer
            if not foreign or not context.semantic or context.confidence < FOREIGN_CONFIDENCE:
                return None
            best = next(s for s in sentences if s.rank == 0)
        chosen = self._expand(best, sentences, follow=0 if ask.fact else NEXT_SENTENCE)
        # the question's words the best passage answers: its sentences (the chosen ones among them) and its title
        title = terms_of(best.passage.title or "", best.lang)
        covered = matched(by_lang[best.lang], title).union(*(s.matched for s in sentences if s.passage is best.passage))
        asked = {i for i, w in enumerate(query) if w.asked}
        coverage = len(covered & asked) / max(1, len(asked))  # the share of the question's content words answered
        needed = self.min_coverage if len(asked) != 2 else 0.5  # two words: what it is about decides (below)
        if ask.fact and not ask.yes_no and facts.has_fact(ask.fact, " ".join(s.text for s in chosen)):
            needed = min(needed, TYPED_COVERAGE)  # "how much…?" answered by a line with an amount
            if context.confidence >= TYPED_CONFIDENT and facts.has_fact(ask.fact, best.text):
                needed = min(needed, TYPED_CONFIDENT_COVERAGE)  # a confident passage, the best line has the fact
        if coverage < needed and not (foreign and (best.score <= 0 or coverage >= needed / 2)):
            return None
        absent = asked - set().union(*(s.matched for s in sentences))  # words no candidate passage has
        if len(asked) == 2 and not context.semantic and self._misses_its_object(sorted(asked), covered, absent, query):
            return None
        if foreign and not context.semantic and coverage < FOREIGN_COVERAGE:
            return None
        chosen = self._complement(context.user_text, best, chosen, len(query), sentences, customer)
        chosen = self._with_fact(ask, best, chosen, sentences)
        if ask.kind == "list":
            chosen = self._with_items(best, chosen, sentences)
        return self._step(context, ask, best, chosen, foreign, by_lang[best.lang])

    @staticmethod
    def _misses_its_object(asked: list[int], covered: set[int], absent: set[int], query: list[Word]) -> bool:
        """For a question of two words, whether the answer misses what it is about: the last word ("Do you treat
        cats?"), or a first word that no candidate passage has and that is neither the verb nor a word that only says
        what kind of fact is wanted ("a student discount?", but not "pay a deposit?")."""
        first, last = asked
        if last not in covered:
            return True
        return first not in covered and first in absent and not query[first].verb and not query[first].cue

    def _with_items(self, best: Sentence, chosen: list[Sentence], sentences: list[Sentence]) -> list[Sentence]:
        """For "which…?", the other items of the passage that match as well as the best one (rows, list lines)."""
        size = sum(len(s.text) + 1 for s in chosen)
        out = list(chosen)
        for s in sentences:
            if s.passage is best.passage and s not in out and s.plain >= 0.9 * best.plain > 0:
                if size + len(s.text) + 1 > self.max_chars:
                    break
                out.append(s)
                size += len(s.text) + 1
        return sorted(out, key=lambda s: (s.rank != best.rank, s.rank, s.index))

    def _with_fact(self, ask: _Ask, best: Sentence, chosen: list[Sentence], sentences: list) -> list[Sentence]:
        """When the chosen sentences lack the kind of fact asked for and the line after the best one has it (a
        price on the line below its service), that line too."""
        if not ask.fact or any(facts.has_fact(ask.fact, s.text) for s in chosen):
            return chosen
        after = [s for s in sentences if s.passage is best.passage and best.index < s.index <= best.index + 2]
        follower = next((s for s in after if facts.has_fact(ask.fact, s.text)), None)
        if (
            follower is None
            or follower in chosen
            or sum(len(s.text) + 1 for s in chosen) + len(follower.text) > (self.max_chars)
        ):
            return chosen
        return sorted([*chosen, follower], key=lambda s: (s.rank != best.rank, s.rank, s.index))

    def _complement(
        self,
        question: str,
        best: Sentence,
        chosen: list[Sentence],
        words: int,
        sentences: list,
        customer: str,
    ) -> list[Sentence]:
        """For a question in two parts ("your hours and your address?"), a sentence answering the second part (in
        the customer's language when a passage in it answers it too)."""
        if words < 2 or not (_CONJUNCTIONS & set(tokenize(question)) or len(_QUESTION_MARK.findall(question)) > 1):
            return chosen
        base = chosen
        if len(chosen) >= MAX_SENTENCES:  # make room: drop the last sentence that is not the best one
            drop = next(s for s in reversed(chosen) if s is not best)
            base = [s for s in chosen if s is not drop]
        covered = set().union(*(s.matched for s in base))
        size = sum(len(s.text) + 1 for s in base)
        key, pick = (0, False, 0.0), None
        for s in sentences:
            if s in base or s.plain < COMPLEMENT_SHARE * best.plain or size + len(s.text) > self.max_chars:
                continue
            gain = len(s.matched - covered)
            if gain and (gain, s.lang == customer, s.score) > key:
                key, pick = (gain, s.lang == customer, s.score), s
        if pick is None:
            return chosen
        return sorted([*base, pick], key=lambda s: (s.rank != best.rank, s.rank, s.index))

    @staticmethod
    def _weights(words: int, sentences: list[Sentence]) -> list[float]:
        """IDF of each question word over the candidate sentences (rare words pick the sentence)."""
        n = len(sentences)
        weights = []
        for i in range(words):
            df = max(1, sum(1 for s in sentences if i in s.matched))
            weights.append(math.log(1 + (n - df + 0.5) / (df + 0.5)))
        return weights

    def _expand(self, best: Sentence, sentences: list[Sentence], follow: int = 0) -> list[Sentence]:
        """The best sentence and its useful neighbours in the same block (and the lines a colon announces), in
        passage order, within the limits."""
        block = [s for s in sentences if s.passage is best.passage and (s.block == best.block or s.index > best.index)]
        if not best.text.endswith(":"):
            block = [s for s in block if s.block == best.block]
        pos = block.index(best)
        before, after = block[:pos][::-1], block[pos + 1 :]
        chosen, size = [best], len(best.text)
        # a FAQ answer is read from its start ("Yes. We accept ..."); prose only goes on after the best sentence
        for side in (before, after) if best.answer else (after,):
            for s in side:
                follows_colon = side is after and chosen[-1].text.endswith(":")
                wanted = best.answer or s.score >= NEIGHBOUR * best.score or follows_colon
                wanted = wanted or (side is after and len(chosen) < follow)
                most = MAX_SENTENCES + (3 if best.text.endswith(":") else 0)  # the items a colon announces
                if not wanted or len(chosen) >= most or size + 1 + len(s.text) > self.max_chars:
                    break
                chosen.append(s)
                size += 1 + len(s.text)
        return sorted(chosen, key=lambda s: s.index)

    def _step(
        self, context: TurnContext, ask: _Ask, best: Sentence, chosen: list[Sentence], foreign: bool, words: list
    ) -> AgentStep:
        """The reply: the fact first (yes or no; for a table row, the cell asked for first), then the passage's
        words; a passage in another language is quoted in its own words, after a lead-in in the customer's."""
        lang = context.language
        body = " ".join(_fact_first(s.text, ask) for s in chosen)
        lead = ""
        if ask.yes_no:
            said = chosen[0] if best.answer and chosen[0].passage is best.passage else best  # a FAQ answer's start
            lead = phrase("yes" if facts.polarity(said.text, _focus(said, words)) else "no", lang) + " "
            if not foreign and _starts_with_answer(body, lead):
                lead = ""
        if foreign:
            spans = set(facts.fact_spans(ask.fact, body)) if ask.fact else set()
            if (
                len(spans) == 1 and f"fact_{ask.fact}" in PHRASES and not ask.yes_no
            ):  # one fact: no choosing among several
                lead += phrase(f"fact_{ask.fact}", lang, fact=spans.pop()) + " "
            language = phrase(f"language_{passage_language(best.passage) or 'other'}", lang)
            lead += phrase("quote_from", lang, title=best.passage.title or "", language=language) + " "
            body = _shorten(body, self.max_chars - len(lead) - 4)  # the quote is cut inside its marks
            if (lang == "ar") != (passage_language(best.passage) == "ar"):
                body = f"\u2068{body}\u2069"  # isolated: a right-to-left reply shows a left-to-right quote whole
            body = f"«{body}»" if lang == "fr" else f"“{body}”"
        text = lead + _shorten(body, self.max_chars - len(lead))
        citations = []
        for p in dict.fromkeys(s.passage for s in chosen):
            used = " ".join(s.text for s in chosen if s.passage is p)
            citations.append(Citation(p.title, p.url, _shorten(used, SNIPPET_CHARS), p.source_id, p.page))
        replies = quick_replies(["human"], lang) if context.confidence < self.confident else []
        return AgentStep(
            text, citations=citations, quick_replies=replies, intent="answer", language=lang, grounded=True
        )


class _Ask(NamedTuple):
    """What the question asks for: its kind, the kind of fact that answers it, and whether it wants a yes or no."""

    kind: str
    fact: str | None
    yes_no: bool


def _ask(question: str) -> _Ask:
    kind = facts.question_kind(question)
    return _Ask(kind, facts.fact_kind(kind), facts.is_yes_no(question))


def _fact_first(text: str, ask: _Ask) -> str:
    """A table row ("Service: X; Durée: 30 min; Prix: 450 DH") with the cell asked for right after the row's name."""
    cells = facts.table_cells(text) if ask.fact else None
    if not cells:
        return text
    wanted = [c for c in cells[1:] if facts.has_fact(ask.fact, c[1])]
    if not wanted:
        return text
    order = [cells[0], *wanted, *(c for c in cells[1:] if c not in wanted)]
    return "; ".join(f"{name}: {value}" if name else value for name, value in order)


def _focus(said: Sentence, words: list) -> str | None:
    """The clause of a "yes, but…" sentence that has the most of the question's words, when one has more."""
    parts = facts.clauses(said.text)
    if len(parts) < 2:
        return None
    counts = [len(matched(words, terms_of(part, said.lang))) for part in parts]
    most = max(counts)
    return parts[counts.index(most)] if counts.count(most) == 1 else None


def _starts_with_answer(body: str, lead: str) -> bool:
    first = tokenize(body[:20])[:1]
    return bool(first) and first[0] in {t for t in tokenize(lead)} | {"yes", "no", "oui", "non", "نعم", "لا"}
