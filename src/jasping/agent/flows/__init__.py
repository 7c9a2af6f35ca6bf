"""Scripted dialogues the agent runs inside a conversation (lead capture), with their EN/FR/AR phrases.

- `jasping.agent.flows.contact_fields`: emails, phone numbers (E.164), names and yes / no in free text.
- `jasping.agent.flows.lead`: the lead-capture state machine (`start`, `advance`, `reprompt`), re-exported here.

The flows' phrases live here rather than in `jasping.agent.phrases`: `flow_phrase(key, lang, **fmt)`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jasping.agent.flows.lead import (
        MAX_ATTEMPTS,
        LeadFlow,
        LeadSettings,
        advance,
        extract_details,
        reprompt,
        start,
    )

__all__ = [
    "FLOW_PHRASES",
    "MAX_ATTEMPTS",
    "LeadFlow",
    "LeadSettings",
    "advance",
    "extract_details",
    "flow_phrase",
    "reprompt",
    "start",
]

# key: (English, French, Modern Standard Arabic)
# fmt: off
FLOW_PHRASES: dict[str, tuple[str, str, str]] = {
    "intro": ("I can take your details so the team gets back to you.",
              "Je peux noter vos coordonnées pour que l'équipe vous recontacte.",
              "يمكنني تسجيل بياناتك ليتواصل معك الفريق."),
    "thanks_name": ("Thank you, {name}!", "Merci, {name} !", "شكرًا، {name}!"),
    "thanks": ("Thank you!", "Merci !", "شكرًا لك!"),
    "ask_name": ("May I have your name?", "Quel est votre nom ?", "ما اسمك من فضلك؟"),
    "ask_email": ("What email address can the team reach you at?",
                  "À quelle adresse e-mail l'équipe peut-elle vous écrire ?",
                  "ما بريدك الإلكتروني الذي يمكن للفريق مراسلتك عليه؟"),
    "ask_email_or_phone": ("What's your email address? If you prefer, you can give me a phone number instead.",
                           "Quelle est votre adresse e-mail ? Si vous préférez, donnez-moi plutôt votre numéro.",
                           "ما بريدك الإلكتروني؟ وإن كنت تفضل، يمكنك إعطائي رقم هاتفك بدلًا منه."),
    "ask_phone": ("What phone number can the team reach you on?",
                  "À quel numéro de téléphone l'équipe peut-elle vous joindre ?",
                  "ما رقم الهاتف الذي يمكن للفريق التواصل معك عليه؟"),
    "ask_custom": ("Could you tell me your {label}?", "Pouvez-vous m'indiquer votre {label} ?",
                   "هل يمكنك إخباري بـ{label}؟"),
    "bad_name": ("Sorry, I didn't catch your name — could you type just your name?",
                 "Pardon, je n'ai pas bien saisi votre nom — pouvez-vous l'écrire simplement ?",
                 "عذرًا، لم أفهم اسمك جيدًا. هل يمكنك كتابته فقط؟"),
    "bad_email": ("That email address doesn't look right — could you check it?",
                  "Cette adresse e-mail ne semble pas correcte — pouvez-vous la vérifier ?",
                  "يبدو أن عنوان البريد الإلكتروني غير صحيح. هل يمكنك التحقق منه؟"),
    "no_email": ("I didn't see an email address — could you type it, like name@example.com?",
                 "Je ne vois pas d'adresse e-mail — pouvez-vous l'écrire, par exemple nom@exemple.com ?",
                 "لم أجد عنوان بريد إلكتروني. هل يمكنك كتابته، مثل name@example.com؟"),
    "bad_phone": ("That phone number doesn't look right — could you check it? Add the country code if it isn't local.",
                  "Ce numéro ne semble pas correct — pouvez-vous le vérifier ? Ajoutez l'indicatif s'il est étranger.",
                  "يبدو أن رقم الهاتف غير صحيح. هل يمكنك التحقق منه؟ أضف رمز الدولة إن لم يكن رقمًا محليًا."),
    "no_phone": ("I didn't see a phone number — could you type it in digits?",
                 "Je ne vois pas de numéro de téléphone — pouvez-vous l'écrire en chiffres ?",
                 "لم أجد رقم هاتف. هل يمكنك كتابته بالأرقام؟"),
    "bad_custom": ("Sorry, I didn't get that.", "Pardon, je n'ai pas compris.", "عذرًا، لم أفهم ذلك."),
    "skipped": ("No problem, let's skip that.", "Pas de souci, passons.", "لا بأس، لننتقل إلى ما بعده."),
    "phone_instead": ("No problem — a phone number will do.", "Pas de souci — un numéro de téléphone suffira.",
                      "لا بأس، يكفي رقم الهاتف."),
    "give_up": ("I'm sorry, I can't seem to take down your details. I'll ask a member of the team to help you here.",
                "Désolé, je n'arrive pas à noter vos coordonnées. Un membre de l'équipe va vous aider ici.",
                "عذرًا، لم أتمكن من تسجيل بياناتك. سأطلب من أحد أعضاء الفريق مساعدتك هنا."),
    "read_back": ("So that's {details} — is that right?", "Je récapitule : {details} — est-ce bien ça ?",
                  "للتأكيد: {details}. هل هذا صحيح؟"),
    "which": ("No problem — which detail should I correct?", "Pas de souci — quelle information dois-je corriger ?",
              "لا بأس، ما المعلومة التي تود تصحيحها؟"),
    "yes_or_no": ("Could you answer yes or no?", "Pouvez-vous répondre par oui ou par non ?",
                  "هل يمكنك الإجابة بنعم أو لا؟"),
    "consent": ("May we contact you about your request?", "Pouvons-nous vous contacter au sujet de votre demande ?",
                "هل توافق على أن نتواصل معك بخصوص طلبك؟"),
    "done": ("The team will get back to you very soon.", "L'équipe reviendra vers vous très bientôt.",
             "سيتواصل معك الفريق قريبًا جدًا."),
    "done_no_consent": ("Understood: we'll keep your details only to answer this request. Thank you!",
                        "C'est noté : vos coordonnées serviront uniquement à répondre à cette demande. Merci !",
                        "حسنًا، سنحتفظ ببياناتك فقط للرد على هذا الطلب. شكرًا لك!"),
    "cancelled": ("No problem, I won't take your details. Can I help you with anything else?",
                  "Pas de souci, je ne note rien. Puis-je vous aider pour autre chose ?",
                  "لا بأس، لن أسجل بياناتك. هل يمكنني مساعدتك في شيء آخر؟"),
    "resume": ("Back to your details:", "Pour reprendre vos coordonnées :", "لنعد إلى بياناتك:"),
    "sep": (", ", ", ", "، "),
    "qr_yes": ("Yes", "Oui", "نعم"),
    "qr_no": ("No", "Non", "لا"),
    "qr_phone_instead": ("I'd rather give my phone", "Je préfère donner mon numéro", "أفضّل إعطاء رقم هاتفي"),
    "qr_skip": ("Skip", "Passer", "تخطي"),
    "field_name": ("Name", "Nom", "الاسم"),
    "field_email": ("Email", "E-mail", "البريد الإلكتروني"),
    "field_phone": ("Phone", "Téléphone", "الهاتف"),
}

# fmt: on


def _base(lang: str | None) -> str:
    return (lang or "en").lower().replace("_", "-").split("-")[0]


def flow_phrase(key: str, lang: str | None, **fmt: object) -> str:
    """The flow phrase `key` in `lang` (English when the language is missing), formatted with `fmt`."""
    en, fr, ar = FLOW_PHRASES[key]
    text = {"fr": fr, "ar": ar}.get(_base(lang), en)
    return text.format(**fmt) if fmt else text


_LEAD_API = {"MAX_ATTEMPTS", "LeadFlow", "LeadSettings", "advance", "extract_details", "reprompt", "start"}


def __getattr__(name: str) -> Any:
    """The lead API, imported on first use (`jasping.agent.flows.lead` itself imports this module's phrases)."""
    if name in _LEAD_API:
        return getattr(import_module("jasping.agent.flows.lead"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
