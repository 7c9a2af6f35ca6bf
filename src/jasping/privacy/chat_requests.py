"""Data requests a contact makes in the conversation ("delete my data", "supprimez mes données", "احذفوا بياناتي",
"what do you have on me?"), on any channel: the web chat, WhatsApp, SMS.

The agent recognises the request (`agent.intents`, intent `privacy`), then checks that the person controls the email
or phone on record with a one-time code: to the contact's own email (mail outbox) or phone (the platform's SMS
sender); a visitor the conversation does not identify is asked for the email or phone they gave, and the code goes to
it only when a contact of the business has it (the answer is the same either way, so nobody learns who is a customer).
The right code opens a tracked request (`privacy.requests`: due in 30 days, reminders) for the business to answer;
a wrong one is refused, three wrong codes end the attempt, a code lasts 15 minutes, at most 3 codes an hour per
conversation. The dialogue's state is the conversation's `flow` (a keyed hash of the code, never the code).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agent.intents import detect_intent, normalize
from jasping.agent.llm.base import AgentStep
from jasping.conversations.models import Contact, Conversation
from jasping.crypto import get_keyring
from jasping.db import after_commit
from jasping.errors import Invalid
from jasping.privacy import contacts, requests
from jasping.security import audit
from jasping.security.audit import Actor

log = logging.getLogger(__name__)

KIND = "privacy_request"
CODE_LIFETIME = timedelta(minutes=15)
MAX_ATTEMPTS = 3
CODES_PER_HOUR = 3
SENT_ACTION = "privacy.chat_code_sent"
CHANNELS = {"web": "widget", "whatsapp": "whatsapp"}  # the request tracker's channel; others are "other"

_ERASURE = re.compile(
    normalize(
        "delete erase remove wipe forget forgotten erasure supprim effac oubli retir detrui احذف حذف امسح مسح ازال"
    )
    .replace(" ", "|")
    .join(("(", ")"))
)
_CANCEL = re.compile(r"^(cancel|stop|no|non|annuler|annule|laisse tomber|الغاء|لا)$")

WHAT = {
    "erasure": {"en": "erase your data", "fr": "effacer vos données", "ar": "حذف بياناتك"},
    "access": {"en": "receive a copy of your data", "fr": "recevoir une copie de vos données", "ar": "نسخة من بياناتك"},
}
SAY = {
    "sent": {
        "en": "To protect your data, we first check that it is you: we sent a 6-digit code to {target}. "
        "Type it here to confirm your request to {what}.",
        "fr": "Pour protéger vos données, nous vérifions d'abord que c'est bien vous : nous avons envoyé un code à "
        "6 chiffres à {target}. Tapez-le ici pour confirmer votre demande pour {what}.",
        "ar": "لحماية بياناتك نتحقق أولًا من هويتك: أرسلنا رمزًا من 6 أرقام إلى {target}. اكتبه هنا لتأكيد طلب {what}.",
    },
    "identify": {
        "en": "To protect your data, we first check that it is you. What email address or phone number did you give "
        "us?",
        "fr": "Pour protéger vos données, nous vérifions d'abord que c'est bien vous. Quelle adresse e-mail ou quel "
        "numéro de téléphone nous avez-vous donné ?",
        "ar": "لحماية بياناتك نتحقق أولًا من هويتك. ما هو البريد الإلكتروني أو رقم الهاتف الذي أعطيتنا إياه؟",
    },
    "sent_if_known": {
        "en": "If we hold data under {target}, we have just sent a 6-digit code to it. Type it here to confirm your "
        "request to {what}.",
        "fr": "Si nous détenons des données sous {target}, nous venons d'y envoyer un code à 6 chiffres. Tapez-le ici "
        "pour confirmer votre demande pour {what}.",
        "ar": "إذا كانت لدينا بيانات مرتبطة بـ {target} فقد أرسلنا إليه رمزًا من 6 أرقام. اكتبه هنا لتأكيد طلب {what}.",
    },
    "email_instead": {
        "en": "We cannot send codes by SMS here. What email address did you give us?",
        "fr": "Nous ne pouvons pas envoyer de code par SMS ici. Quelle adresse e-mail nous avez-vous donnée ?",
        "ar": "لا يمكننا إرسال رمز عبر الرسائل القصيرة هنا. ما هو بريدك الإلكتروني الذي أعطيتنا إياه؟",
    },
    "wrong": {
        "en": "This code is not right. {left} tries left.",
        "fr": "Ce code n'est pas le bon. Encore {left} essai(s).",
        "ar": "هذا الرمز غير صحيح. تبقى {left} محاولات.",
    },
    "locked": {
        "en": "Too many wrong codes: your request was not registered. You can ask again later.",
        "fr": "Trop de codes erronés : votre demande n'a pas été enregistrée. Vous pourrez la refaire plus tard.",
        "ar": "رموز خاطئة كثيرة: لم يُسجَّل طلبك. يمكنك الطلب مرة أخرى لاحقًا.",
    },
    "expired": {
        "en": "This code has expired. Ask again and we will send a new one.",
        "fr": "Ce code a expiré. Refaites votre demande et nous vous en enverrons un nouveau.",
        "ar": "انتهت صلاحية هذا الرمز. اطلب من جديد وسنرسل لك رمزًا جديدًا.",
    },
    "too_many": {
        "en": "We have sent too many codes in this conversation. Please try again in an hour.",
        "fr": "Nous avons envoyé trop de codes dans cette conversation. Réessayez dans une heure.",
        "ar": "أرسلنا رموزًا كثيرة في هذه المحادثة. يرجى المحاولة بعد ساعة.",
    },
    "cancelled": {
        "en": "Your request was not registered. Ask again whenever you like.",
        "fr": "Votre demande n'a pas été enregistrée. Vous pouvez la refaire quand vous voulez.",
        "ar": "لم يُسجَّل طلبك. يمكنك الطلب مرة أخرى متى شئت.",
    },
    "opened": {
        "en": "Thank you, it is you. Your request to {what} is registered (reference {ref}); the business will "
        "answer by {due} at the latest.",
        "fr": "Merci, c'est bien vous. Votre demande pour {what} est enregistrée (référence {ref}) ; l'entreprise "
        "y répondra au plus tard le {due}.",
        "ar": "شكرًا، تم التحقق. سُجِّل طلبك لـ {what} (المرجع {ref})، وسيرد عليك النشاط التجاري في موعد أقصاه {due}.",
    },
}


def _say(key: str, lang: str, **values: object) -> str:
    texts = SAY[key]
    return texts.get(lang, texts["en"]).format(**values)


def _reply(key: str, lang: str, hint: str = "text", **values: object) -> AgentStep:
    return AgentStep(text=_say(key, lang, **values), intent="privacy_request", language=lang, input_hint=hint, model="")


def wanted(conversation: Conversation, text: str, language: str | None) -> bool:
    """Whether this message belongs to a privacy request: one in progress, or a new one."""
    flow = conversation.flow or {}
    return flow.get("kind") == KIND or detect_intent(text, language) == "privacy"


def step(session: Session, *, conversation: Conversation, text: str, lang: str, region: str | None) -> AgentStep | None:
    """The reply to a privacy request's turn; None when the message is about something else (the dialogue ends)."""
    lang = lang if lang in ("en", "fr", "ar") else "en"
    flow = conversation.flow if (conversation.flow or {}).get("kind") == KIND else None
    if detect_intent(text, lang) == "privacy":  # a new request, or the same asked again: a new code
        return _start(session, conversation, "erasure" if _ERASURE.search(normalize(text)) else "access", lang)
    if flow is None:
        return None
    if _CANCEL.match(normalize(text)):
        conversation.flow = None
        return _reply("cancelled", lang)
    if flow["step"] == "identify":
        return _identify(session, conversation, flow, text, lang, region)
    return _check_code(session, conversation, flow, text, lang)


def _start(session: Session, conversation: Conversation, right: str, lang: str) -> AgentStep:
    contact = session.get(Contact, conversation.contact_id)
    if contact is not None and contact.email:
        return _send(session, conversation, right, contact, "email", lang, known=True)
    if contact is not None and contact.phone and sms_available():
        return _send(session, conversation, right, contact, "sms", lang, known=True)
    conversation.flow = {"kind": KIND, "step": "identify", "right": right}
    return _reply("identify", lang, hint="email")


def _identify(
    session: Session, conversation: Conversation, flow: dict, text: str, lang: str, region: str | None
) -> AgentStep | None:
    from jasping.agent.flows import extract_details

    found = extract_details(text, lang=lang, region=region)
    email, phone = found.get("email"), found.get("phone")
    if not email and not phone:
        conversation.flow = None  # something else: the agent answers it
        return None
    if not email and not sms_available():
        return _reply("email_instead", lang, hint="email")
    try:
        matches = contacts.find(session, org_id=conversation.org_id, email=email, phone=None if email else phone)
    except Invalid:
        matches = []
    via = "email" if email else "sms"
    target = next((c for c in matches if (c.email if email else c.phone)), None)
    shown = email or phone
    if target is None:  # nobody has it: the same answer, and no code that could ever be right
        if _too_many(session, conversation):
            conversation.flow = None
            return _reply("too_many", lang)
        _note_sent(session, conversation, flow["right"], via)
        conversation.flow = {**_code_flow(flow["right"], None, via), "code_mac": ""}
        return _reply("sent_if_known", lang, target=shown, what=WHAT[flow["right"]][lang])
    return _send(session, conversation, flow["right"], target, via, lang, known=False, shown=shown)


def _code_flow(right: str, target_id: str | None, via: str) -> dict:
    expires = (clock.now() + CODE_LIFETIME).isoformat()
    return {"kind": KIND, "step": "code", "right": right, "target": target_id, "via": via, "expires_at": expires}


def _mac(org_id: str, conversation_id: str, code: str) -> str:
    return get_keyring().mac(org_id, f"{conversation_id}:{code}", purpose="privacy chat code")


def _too_many(session: Session, conversation: Conversation) -> bool:
    since = clock.now() - timedelta(hours=1)
    sent = session.execute(
        select(func.count()).where(
            audit.AuditEvent.action == SENT_ACTION,
            audit.AuditEvent.object_id == conversation.id,
            audit.AuditEvent.at >= since,
        )
    ).scalar_one()
    return sent >= CODES_PER_HOUR


def _note_sent(session: Session, conversation: Conversation, right: str, via: str) -> None:
    audit.record(
        session,
        actor=Actor("visitor", conversation.id),
        action=SENT_ACTION,
        org_id=conversation.org_id,
        object_type="conversation",
        object_id=conversation.id,
        detail={"right": right, "via": via},
    )


def _send(
    session: Session,
    conversation: Conversation,
    right: str,
    target: Contact,
    via: str,
    lang: str,
    *,
    known: bool,
    shown: str | None = None,
) -> AgentStep:
    if _too_many(session, conversation):
        conversation.flow = None
        return _reply("too_many", lang)
    code = f"{secrets.randbelow(10**6):06d}"
    if via == "email":
        from jasping.integrations.mail import queue_code

        queue_code(session, org_id=conversation.org_id, to=target.email, code=code, language=lang)
    else:
        phone, text = target.phone, f"{_say_code(lang)} {code}"
        after_commit(session, lambda: _text(phone, text))
    _note_sent(session, conversation, right, via)
    conversation.flow = {
        **_code_flow(right, target.id, via),
        "code_mac": _mac(conversation.org_id, conversation.id, code),
    }
    if known:
        return _reply(
            "sent", lang, target=_masked(target.email if via == "email" else target.phone), what=WHAT[right][lang]
        )
    return _reply("sent_if_known", lang, target=shown, what=WHAT[right][lang])


def _check_code(session: Session, conversation: Conversation, flow: dict, text: str, lang: str) -> AgentStep | None:
    code = re.sub(r"[\s.-]", "", text.strip())
    if not re.fullmatch(r"\d{6}", code):
        conversation.flow = None  # not a code: the dialogue ends and the agent answers the message
        return None
    if clock.now() > clock.parse_instant(flow["expires_at"]):
        conversation.flow = None
        return _reply("expired", lang)
    right_code = flow.get("code_mac") and hmac.compare_digest(
        flow["code_mac"], _mac(conversation.org_id, conversation.id, code)
    )
    if not right_code:
        attempts = flow.get("attempts", 0) + 1
        if attempts >= MAX_ATTEMPTS:
            conversation.flow = None
            audit.record(
                session,
                actor=Actor("visitor", conversation.id),
                action="privacy.chat_code_refused",
                org_id=conversation.org_id,
                object_type="conversation",
                object_id=conversation.id,
                detail={"right": flow["right"], "attempts": attempts},
            )
            return _reply("locked", lang)
        conversation.flow = {**flow, "attempts": attempts}
        return _reply("wrong", lang, left=MAX_ATTEMPTS - attempts)
    conversation.flow = None
    request = requests.open_request(
        session,
        subject_type=requests.CONTACT,
        subject_id=flow["target"],
        right=flow["right"],
        org_id=conversation.org_id,
        channel=CHANNELS.get(conversation.channel, "other"),
        notes=f"Asked in the {conversation.channel} conversation {conversation.id}; identity proven with a code sent "
        f"to the {'email' if flow['via'] == 'email' else 'phone'} on record.",
        actor=Actor("visitor", conversation.id),
    )
    due = request.due_at.date().isoformat()
    return _reply("opened", lang, what=WHAT[flow["right"]][lang], ref=request.id, due=due)


def _masked(value: str | None) -> str:
    """`n***@example.org`, `+2126******78`: enough for the person to recognise it, not to learn it."""
    if not value:
        return ""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return value[:5] + "*" * max(0, len(value) - 7) + value[-2:]


# ---- the SMS sender: the platform's number (JASPING_SMS_*), as for two-step verification codes ------------------
def _say_code(lang: str) -> str:
    return {"fr": "Votre code de vérification :", "ar": "رمز التحقق الخاص بك:"}.get(lang, "Your verification code:")


def sms_available() -> bool:
    from jasping.config import get_settings

    s = get_settings()
    return bool(s.sms_twilio_account_sid and s.sms_twilio_auth_token and s.sms_from)


def _text(to: str, text: str) -> None:
    """Send the code after the turn's transaction commits; a failure is logged (the person can ask again)."""
    from types import SimpleNamespace

    from jasping.channels.base import Outgoing
    from jasping.channels.twilio_sms import TwilioSmsAdapter
    from jasping.config import get_settings

    s = get_settings()
    number = SimpleNamespace(
        address=s.sms_from, secrets={"account_sid": s.sms_twilio_account_sid, "auth_token": s.sms_twilio_auth_token}
    )
    try:
        TwilioSmsAdapter().send(number, to, Outgoing(text=text))
    except Exception:  # noqa: BLE001 - a code that did not go out is asked for again
        log.warning("privacy request: the SMS code could not be sent")
