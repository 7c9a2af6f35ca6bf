"""The agent's fixed phrases in English, French and Modern Standard Arabic, with an English fallback."""

from __future__ import annotations

import string

__all__ = ["LANGUAGES", "PHRASES", "phrase", "quick_replies"]

LANGUAGES = ("en", "fr", "ar")

PHRASES: dict[str, dict[str, str]] = {
    "greeting": {
        "en": "Hello! How can I help you today?",
        "fr": "Bonjour ! Comment puis-je vous aider ?",
        "ar": "مرحبًا بك! كيف يمكنني مساعدتك اليوم؟",
    },
    "greeting_named": {
        "en": "Hello, and welcome to {business}! How can I help you today?",
        "fr": "Bonjour et bienvenue chez {business} ! Comment puis-je vous aider ?",
        "ar": "مرحبًا بك في {business}! كيف يمكنني مساعدتك اليوم؟",
    },
    "thanks": {
        "en": "You're welcome! Is there anything else I can help you with?",
        "fr": "Avec plaisir ! Puis-je vous aider pour autre chose ?",
        "ar": "على الرحب والسعة! هل يمكنني مساعدتك في شيء آخر؟",
    },
    "goodbye": {
        "en": "Thank you for your message. Have a lovely day!",
        "fr": "Merci pour votre message. Excellente journée à vous !",
        "ar": "شكرًا لتواصلك معنا. نتمنى لك يومًا سعيدًا!",
    },
    "unknown": {
        "en": (
            "I'm not sure, and I couldn't find this in our information. "
            "I can put you in touch with a member of the team, or arrange for someone to call you back."
        ),
        "fr": (
            "Je ne suis pas sûr, et je n'ai pas trouvé cette information dans nos documents. "
            "Je peux vous mettre en relation avec un membre de l'équipe, ou vous faire rappeler."
        ),
        "ar": (
            "لست متأكدًا، ولم أجد هذه المعلومة في بياناتنا. "
            "يمكنني أن أصلك بأحد أعضاء الفريق، أو أن أطلب من أحدهم معاودة الاتصال بك."
        ),
    },
    "cant_share": {
        "en": (
            "Sorry, I can't share that. I'm here to answer questions about our services; "
            "I can also put you in touch with a member of the team."
        ),
        "fr": (
            "Désolé, je ne peux pas partager cela. Je suis là pour répondre à vos questions sur nos services ; "
            "je peux aussi vous mettre en relation avec un membre de l'équipe."
        ),
        "ar": (
            "عذرًا، لا يمكنني مشاركة ذلك. أنا هنا للإجابة عن أسئلتك حول خدماتنا، ويمكنني أيضًا أن أصلك بأحد أعضاء الفريق."
        ),
    },
    "file_received": {
        "en": "Thank you, I've received “{name}”. It's saved with our conversation, and the team will see it.",
        "fr": "Merci, j'ai bien reçu « {name} ». Il est enregistré avec notre conversation ; l'équipe le verra.",
        "ar": "شكرًا، لقد استلمت «{name}». تم حفظ الملف مع محادثتنا وسيطّلع عليه الفريق.",
    },
    "file_refused": {
        "en": "Sorry, I can't keep this kind of file. Please send a photo, a PDF, or a Word or Excel document.",
        "fr": "Désolé, je ne peux pas garder ce type de fichier. Envoyez une photo, un PDF, un document Word ou Excel.",
        "ar": "عذرًا، لا يمكنني حفظ هذا النوع من الملفات. أرسل صورة أو ملف PDF أو مستند Word أو Excel.",
    },
    "unsupported_message": {
        "en": "Sorry, I can't read this kind of message. Could you write your question to me as text?",
        "fr": "Désolé, je ne peux pas lire ce type de message. Pouvez-vous m'écrire votre question ?",
        "ar": "عذرًا، لا يمكنني قراءة هذا النوع من الرسائل. هل يمكنك كتابة سؤالك نصًا؟",
    },
    "shared_noted": {
        "en": "Thank you, I've noted it for the team.",
        "fr": "Merci, je l'ai transmis à l'équipe.",
        "ar": "شكرًا، لقد أحلته إلى الفريق.",
    },
    "handoff_open": {
        "en": "Of course. I've let the team know: a member of the team will reply here shortly.",
        "fr": "Bien sûr. J'ai prévenu l'équipe : un membre de l'équipe vous répondra ici très bientôt.",
        "ar": "بالتأكيد. لقد أبلغت الفريق، وسيرد عليك أحد أعضائه هنا قريبًا.",
    },
    "handoff_closed": {
        "en": (
            "Of course. Our team is away right now; they will reply here as soon as we reopen. "
            "If you prefer, leave your phone number and we'll call you back."
        ),
        "fr": (
            "Bien sûr. Notre équipe est absente pour le moment ; elle vous répondra ici dès la réouverture. "
            "Si vous préférez, laissez votre numéro et nous vous rappellerons."
        ),
        "ar": (
            "بالتأكيد. فريقنا غير متاح حاليًا، وسيرد عليك هنا فور عودتنا. "
            "وإن كنت تفضل، اترك رقم هاتفك وسنعاود الاتصال بك."
        ),
    },
    "handoff_closed_until": {
        "en": (
            "Of course. Our team is away right now; they will reply here when we reopen, {when}. "
            "If you prefer, leave your phone number and we'll call you back."
        ),
        "fr": (
            "Bien sûr. Notre équipe est absente pour le moment ; elle vous répondra ici dès la réouverture, {when}. "
            "Si vous préférez, laissez votre numéro et nous vous rappellerons."
        ),
        "ar": (
            "بالتأكيد. فريقنا غير متاح حاليًا، وسيرد عليك هنا فور عودتنا يوم {when}. "
            "وإن كنت تفضل، اترك رقم هاتفك وسنعاود الاتصال بك."
        ),
    },
    "handoff_unknown": {
        "en": "Of course. I've passed your request to the team; someone will reply to you here.",
        "fr": "Bien sûr. J'ai transmis votre demande à l'équipe ; quelqu'un vous répondra ici.",
        "ar": "بالتأكيد. لقد أحلت طلبك إلى الفريق، وسيرد عليك أحدهم هنا.",
    },
    "callback_ask": {
        "en": "Happy to arrange a call back. What phone number can we reach you on?",
        "fr": "Avec plaisir, nous allons vous rappeler. À quel numéro pouvons-nous vous joindre ?",
        "ar": "يسعدنا معاودة الاتصال بك. ما رقم الهاتف الذي يمكننا التواصل معك عليه؟",
    },
    "callback_offer": {
        "en": "Would you like us to call you back?",
        "fr": "Souhaitez-vous que nous vous rappelions ?",
        "ar": "هل تود أن نعاود الاتصال بك؟",
    },
    "lead_start": {
        "en": "I can take your details so the team contacts you. May I have your name?",
        "fr": "Je peux prendre vos coordonnées pour que l'équipe vous contacte. Quel est votre nom ?",
        "ar": "يمكنني تسجيل بياناتك ليتواصل معك الفريق. ما اسمك من فضلك؟",
    },
    "booking_start": {
        "en": "I can help you with an appointment. Which day would suit you?",
        "fr": "Je peux vous aider pour un rendez-vous. Quel jour vous conviendrait ?",
        "ar": "يمكنني مساعدتك في حجز موعد. ما اليوم الذي يناسبك؟",
    },
    "according": {
        "en": "According to our information:",
        "fr": "D'après nos informations :",
        "ar": "حسب معلوماتنا:",
    },
    "yes": {"en": "Yes.", "fr": "Oui.", "ar": "نعم."},
    "no": {"en": "No.", "fr": "Non.", "ar": "لا."},
    # a passage in another language than the customer's: the fact first, then the passage in its own words
    "quote_from": {
        "en": "From “{title}” ({language}):",
        "fr": "Extrait de « {title} » ({language}) :",
        "ar": "من «{title}» ({language}):",
    },
    "language_en": {"en": "in English", "fr": "en anglais", "ar": "بالإنجليزية"},
    "language_fr": {"en": "in French", "fr": "en français", "ar": "بالفرنسية"},
    "language_ar": {"en": "in Arabic", "fr": "en arabe", "ar": "بالعربية"},
    "language_other": {"en": "in its own language", "fr": "dans sa langue", "ar": "بلغته الأصلية"},
    "fact_price": {"en": "Price: {fact}.", "fr": "Prix : {fact}.", "ar": "السعر: {fact}."},
    "fact_duration": {"en": "Duration: {fact}.", "fr": "Durée : {fact}.", "ar": "المدة: {fact}."},
    "fact_time": {"en": "Time: {fact}.", "fr": "Horaire : {fact}.", "ar": "الوقت: {fact}."},
    "fact_contact": {"en": "Contact: {fact}.", "fr": "Contact : {fact}.", "ar": "للتواصل: {fact}."},
    "sources": {"en": "Sources:", "fr": "Sources :", "ar": "المصادر:"},
    "qr_human": {"en": "Talk to a person", "fr": "Parler à une personne", "ar": "التحدث مع موظف"},
    "qr_callback": {"en": "Call me back", "fr": "Rappelez-moi", "ar": "اتصلوا بي"},
    "qr_booking": {"en": "Book an appointment", "fr": "Prendre rendez-vous", "ar": "حجز موعد"},
    "qr_lead": {"en": "Leave my details", "fr": "Laisser mes coordonnées", "ar": "ترك بياناتي"},
    "qr_question": {"en": "Ask a question", "fr": "Poser une question", "ar": "طرح سؤال"},
    # ---- phone calls (Twilio voice): spoken, so short sentences and no lists or links ----
    "voice_hello": {
        "en": "Hello, and thank you for calling {business}.",
        "fr": "Bonjour, et merci d'avoir appelé {business}.",
        "ar": "مرحبًا، وشكرًا لاتصالك بـ{business}.",
    },
    "voice_hello_plain": {
        "en": "Hello, and thank you for calling.",
        "fr": "Bonjour, et merci de votre appel.",
        "ar": "مرحبًا، وشكرًا لاتصالك.",
    },
    "voice_recorded": {
        "en": "This call may be recorded.",
        "fr": "Cet appel peut être enregistré.",
        "ar": "قد يتم تسجيل هذه المكالمة.",
    },
    "voice_open": {
        "en": "I can answer your questions, book an appointment, or put you through to the team.",
        "fr": "Je peux répondre à vos questions, prendre un rendez-vous ou vous passer l'équipe.",
        "ar": "يمكنني الإجابة عن أسئلتك، أو حجز موعد، أو تحويلك إلى الفريق.",
    },
    "voice_help": {
        "en": "I can answer your questions, book an appointment or arrange a call back.",
        "fr": "Je peux répondre à vos questions, prendre un rendez-vous ou organiser un rappel.",
        "ar": "يمكنني الإجابة عن أسئلتك، أو حجز موعد، أو ترتيب معاودة الاتصال بك.",
    },
    "voice_language_key": {
        "en": "For English, press {digit}.",
        "fr": "Pour le français, appuyez sur {digit}.",
        "ar": "للعربية، اضغط على {digit}.",
    },
    "voice_closed": {
        "en": (
            "Our team is away right now, but I can answer your questions, book an appointment or arrange a call back."
        ),
        "fr": (
            "Notre équipe est absente pour le moment, mais je peux répondre à vos questions, prendre un rendez-vous "
            "ou organiser un rappel."
        ),
        "ar": "فريقنا غير متاح حاليًا، لكن يمكنني الإجابة عن أسئلتك، أو حجز موعد، أو ترتيب معاودة الاتصال بك.",
    },
    "voice_closed_until": {
        "en": (
            "Our team is away right now and back {when}, but I can answer your questions, book an appointment "
            "or arrange a call back."
        ),
        "fr": (
            "Notre équipe est absente pour le moment, elle revient {when}, mais je peux répondre à vos questions, "
            "prendre un rendez-vous ou organiser un rappel."
        ),
        "ar": (
            "فريقنا غير متاح حاليًا وسيعود يوم {when}، لكن يمكنني الإجابة عن أسئلتك، أو حجز موعد، "
            "أو ترتيب معاودة الاتصال بك."
        ),
    },
    "voice_ask": {
        "en": "How can I help you?",
        "fr": "Comment puis-je vous aider ?",
        "ar": "كيف يمكنني مساعدتك؟",
    },
    "voice_silence": {
        "en": "Sorry, I didn't hear you.",
        "fr": "Pardon, je ne vous ai pas entendu.",
        "ar": "عذرًا، لم أسمعك.",
    },
    "voice_goodbye": {
        "en": "Thank you for calling. Goodbye!",
        "fr": "Merci de votre appel. Au revoir !",
        "ar": "شكرًا لاتصالك. مع السلامة!",
    },
    "voice_transferring": {
        "en": "Please hold on, I'm putting you through to a member of the team.",
        "fr": "Ne quittez pas, je vous passe un membre de l'équipe.",
        "ar": "يرجى الانتظار، سأحولك إلى أحد أعضاء الفريق.",
    },
    "voice_no_answer": {
        "en": (
            "I'm sorry, nobody could answer. I've noted your number, {phone}, "
            "and the team will call you back as soon as possible. Goodbye!"
        ),
        "fr": (
            "Je suis désolé, personne n'a pu répondre. J'ai noté votre numéro, {phone}, "
            "et l'équipe vous rappellera dès que possible. Au revoir !"
        ),
        "ar": "عذرًا، لم يتمكن أحد من الرد. لقد سجلت رقمك، {phone}، وسيعاود الفريق الاتصال بك في أقرب وقت. مع السلامة!",
    },
    "voice_no_answer_anonymous": {
        "en": (
            'I\'m sorry, nobody could answer. If you would like a call back, say "call me back" '
            "and give me your number."
        ),
        "fr": (
            "Je suis désolé, personne n'a pu répondre. Si vous souhaitez être rappelé, dites « rappelez-moi » "
            "et donnez-moi votre numéro."
        ),
        "ar": "عذرًا، لم يتمكن أحد من الرد. إن كنت تريد أن نعاود الاتصال بك، قل «اتصلوا بي» وأعطني رقمك.",
    },
    "voice_callback_offer": {
        "en": (
            "Nobody from the team can take your call right now. "
            "Shall we call you back on the number you're calling from?"
        ),
        "fr": (
            "Personne de l'équipe ne peut vous répondre pour le moment. Voulez-vous qu'on vous rappelle à ce numéro ?"
        ),
        "ar": "لا يمكن لأحد من الفريق الرد على مكالمتك الآن. هل تريد أن نعاود الاتصال بك على الرقم الذي تتصل منه؟",
    },
    "voice_callback_offer_until": {
        "en": (
            "Nobody from the team can take your call right now; they're back {when}. "
            "Shall we call you back on the number you're calling from?"
        ),
        "fr": (
            "Personne de l'équipe ne peut vous répondre pour le moment ; l'équipe revient {when}. "
            "Voulez-vous qu'on vous rappelle à ce numéro ?"
        ),
        "ar": (
            "لا يمكن لأحد من الفريق الرد على مكالمتك الآن؛ سيعود الفريق يوم {when}. "
            "هل تريد أن نعاود الاتصال بك على الرقم الذي تتصل منه؟"
        ),
    },
    "voice_callback_anonymous": {
        "en": (
            "Nobody from the team can take your call right now. "
            'If you would like a call back, say "call me back" and give me your number.'
        ),
        "fr": (
            "Personne de l'équipe ne peut vous répondre pour le moment. "
            "Si vous souhaitez être rappelé, dites « rappelez-moi » et donnez-moi votre numéro."
        ),
        "ar": (
            "لا يمكن لأحد من الفريق الرد على مكالمتك الآن. إن كنت تريد أن نعاود الاتصال بك، قل «اتصلوا بي» وأعطني رقمك."
        ),
    },
    "voice_callback_noted": {
        "en": "Thank you. The team will call you back on {phone} as soon as possible. Goodbye!",
        "fr": "Merci. L'équipe vous rappellera au {phone} dès que possible. Au revoir !",
        "ar": "شكرًا لك. سيعاود الفريق الاتصال بك على {phone} في أقرب وقت. مع السلامة!",
    },
    "voice_callback_declined": {
        "en": "All right. How else can I help you?",
        "fr": "D'accord. Puis-je vous aider autrement ?",
        "ar": "حسنًا. كيف يمكنني مساعدتك بطريقة أخرى؟",
    },
    "voice_use_caller_number": {
        "en": "Shall we use the number you're calling from? Just say yes, or tell me another number.",
        "fr": (
            "Voulez-vous que l'on utilise le numéro depuis lequel vous appelez ? "
            "Dites oui, ou donnez-moi un autre numéro."
        ),
        "ar": "هل نستخدم الرقم الذي تتصل منه؟ قل نعم، أو أعطني رقمًا آخر.",
    },
    "voice_or_caller_number": {
        "en": 'You can also say "this number" to use the number you\'re calling from.',
        "fr": "Vous pouvez aussi dire « ce numéro » pour utiliser le numéro depuis lequel vous appelez.",
        "ar": "يمكنك أيضًا أن تقول «هذا الرقم» لاستخدام الرقم الذي تتصل منه.",
    },
    "voice_booking_phone": {
        "en": "We have your number as {phone}.",
        "fr": "Nous avons votre numéro : {phone}.",
        "ar": "رقمك لدينا هو {phone}.",
    },
    "voice_options": {
        "en": "You can say: {options}.",
        "fr": "Vous pouvez dire : {options}.",
        "ar": "يمكنك أن تقول: {options}.",
    },
    "voice_or": {"en": "or", "fr": "ou", "ar": "أو"},
    "voice_plus": {"en": "plus", "fr": "plus", "ar": "زائد"},
    "voice_anything_else": {
        "en": "Is there anything else I can help you with?",
        "fr": "Puis-je vous aider pour autre chose ?",
        "ar": "هل يمكنني مساعدتك في شيء آخر؟",
    },
    "voice_error": {
        "en": "Sorry, I ran into a problem. Could you say that again?",
        "fr": "Pardon, j'ai rencontré un problème. Pouvez-vous répéter ?",
        "ar": "عذرًا، واجهت مشكلة. هل يمكنك الإعادة؟",
    },
}


class _Keep(dict):
    """Leaves unknown placeholders as they are instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _base(lang: str | None) -> str:
    return (lang or "en").lower().replace("_", "-").split("-")[0]


def phrase(key: str, lang: str | None, **fmt: object) -> str:
    """The phrase `key` in `lang` (English when that language is missing), formatted with `fmt`."""
    variants = PHRASES[key]
    text = variants.get(_base(lang)) or variants["en"]
    if not fmt:
        return text
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return text.format_map(_Keep({k: v for k, v in fmt.items() if k in names}))


def quick_replies(keys: list[str], lang: str | None) -> list[str]:
    """Quick-reply labels for `keys` ("human", "callback", "booking", "lead", "question") in `lang`."""
    return [phrase(f"qr_{key}", lang) for key in keys]
