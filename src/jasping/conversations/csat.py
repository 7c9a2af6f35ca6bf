"""Customer satisfaction (CSAT): one question after a conversation is closed, "how satisfied are you?", 1 to 5.

On the website the widget asks it once the conversation is closed (the visitor clicks a rating); on WhatsApp the
closing message asks the customer to reply 1–5, and their next message within `REPLY_WINDOW` that is only a rating
(a digit, a keycap emoji like 4️⃣, or stars) is recorded and not passed to the agent. One rating per conversation:
a second one is refused (409 `already_rated`), so the figure the analytics read is the customer's first answer.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jasping import clock
from jasping.conversations import service
from jasping.conversations.inbox_models import CsatRating
from jasping.conversations.models import Conversation
from jasping.db import new_id
from jasping.errors import Conflict, Invalid

RATE_WINDOW = timedelta(days=7)  # the widget offers the question for a week after the closing
REPLY_WINDOW = timedelta(hours=24)  # a WhatsApp reply within a day of the question is read as the rating
ASKED_ON = ("whatsapp",)  # channels whose closing message asks for a rating (the widget asks by itself)
MAX_COMMENT = 1000
QUESTION = {
    "en": "This conversation is closed. How satisfied are you with our help? Reply with a number from 1 (not at all) "
    "to 5 (very satisfied).",
    "fr": "Cette conversation est terminée. Êtes-vous satisfait de notre aide ? Répondez par un chiffre de 1 (pas du "
    "tout) à 5 (très satisfait).",
    "ar": "تم إغلاق هذه المحادثة. ما مدى رضاك عن مساعدتنا؟ أجب برقم من 1 (غير راضٍ إطلاقًا) إلى 5 (راضٍ جدًا).",
}
THANKS = {"en": "Thank you for your rating!", "fr": "Merci pour votre note !", "ar": "شكرًا على تقييمك!"}
_DIGITS = str.maketrans("١٢٣٤٥۱۲۳۴۵１２３４５", "123451234512345")  # Arabic-Indic, Persian and full-width digits
_ALONE = re.compile(r"\s*([1-5])\s*(?:/\s*5)?\s*[.!]?\s*")
_STARS = re.compile(r"\s*([⭐★]\ufe0f?){1,5}\s*")


def parse(text: str | None) -> int | None:
    """The rating a message is, if it is only that: "4", "4/5", "4️⃣", "٤", "⭐⭐⭐⭐"; else None."""
    text = (text or "").replace("\u20e3", "").replace("\ufe0f", "").translate(_DIGITS)
    alone = _ALONE.fullmatch(text)
    if alone:
        return int(alone.group(1))
    if _STARS.fullmatch(text):
        return sum(text.count(s) for s in "⭐★")
    return None


def of(session: Session, conversation_id: str) -> CsatRating | None:
    return session.execute(select(CsatRating).where(CsatRating.conversation_id == conversation_id)).scalar()


def closed_at(conversation: Conversation) -> datetime | None:
    if conversation.status != "closed":
        return None
    return conversation.changed_at or conversation.last_message_at


def state(session: Session, conversation: Conversation) -> str:
    """`open` (not closed yet), `asked` (closed: the question is offered), `rated`, or `expired`."""
    if of(session, conversation.id) is not None:
        return "rated"
    closed = closed_at(conversation)
    if closed is None:
        return "open"
    return "asked" if clock.now() - closed <= RATE_WINDOW else "expired"


def rate(
    session: Session, conversation: Conversation, *, rating: int, comment: str | None = None, channel: str | None = None
) -> CsatRating:
    """Record the customer's rating of a closed conversation (409 when open, already rated or too late)."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise Invalid("the rating must be a whole number from 1 to 5", code="invalid_rating")
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    current = state(session, conversation)
    if current == "rated":
        raise Conflict("this conversation was already rated", code="already_rated")
    if current == "open":
        raise Conflict("the conversation is not closed yet", code="conversation_open")
    if current == "expired":
        raise Conflict("the rating period of this conversation is over", code="rating_closed")
    row = CsatRating(
        id=new_id("csat"),
        org_id=conversation.org_id,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        agent_id=conversation.agent_id,
        assignee_id=conversation.assignee_id,
        channel=channel or conversation.channel,
        rating=rating,
        comment=comment,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # two ratings at the same moment: the first one stands
        raise Conflict("this conversation was already rated", code="already_rated") from None
    conversation.changed_at = clock.now()  # the inbox pages showing it learn of the rating (live feed)
    session.flush()
    return row


def ask_on_close(session: Session, conversation: Conversation, deliver) -> None:  # noqa: ANN001
    """On a channel that asks by message, send the question and remember when (in the conversation's `flow`)."""
    if conversation.channel not in ASKED_ON:
        return
    lang = conversation.language if conversation.language in QUESTION else "en"
    message = service.add_message(
        session, conversation, role="assistant", text=QUESTION[lang], meta={"kind": "csat_question", "language": lang}
    )
    conversation.flow = {"csat_asked_at": clock.now().isoformat()}
    deliver(session, conversation, message)


def _awaiting(session: Session, agent_id: str, contact_id: str, channel: str) -> Conversation | None:
    """The contact's latest closed conversation on this channel whose question awaits an answer."""
    latest = session.execute(
        select(Conversation)
        .where(
            Conversation.agent_id == agent_id,
            Conversation.contact_id == contact_id,
            Conversation.channel == channel,
        )
        .order_by(Conversation.last_message_at.desc())
        .limit(1)
    ).scalar()
    if latest is None or latest.status != "closed" or not (latest.flow or {}).get("csat_asked_at"):
        return None
    try:
        asked = clock.as_utc(datetime.fromisoformat(latest.flow["csat_asked_at"]))
    except (TypeError, ValueError):
        return None
    if clock.now() - asked > REPLY_WINDOW or of(session, latest.id) is not None:
        return None
    return latest


def take_reply(session: Session, *, agent_id: str, contact_id: str, channel: str, text: str, deliver) -> bool:  # noqa: ANN001
    """A customer's message that answers the closing question: stored as the rating (with the customer's words
    kept in the closed conversation) and thanked; True when it was one, so the agent does not see it."""
    rating = parse(text)
    if rating is None:
        return False
    conversation = _awaiting(session, agent_id, contact_id, channel)
    if conversation is None:
        return False
    rate(session, conversation, rating=rating, channel=channel)
    service.add_message(session, conversation, role="user", text=text.strip()[:100], meta={"kind": "csat_answer"})
    lang = conversation.language if conversation.language in THANKS else "en"
    thanks = service.add_message(
        session, conversation, role="assistant", text=THANKS[lang], meta={"kind": "csat_thanks", "language": lang}
    )
    conversation.flow = None
    deliver(session, conversation, thanks)
    return True
