"""The booking dialogue's words: phrases in English, French and Arabic, and the expressions it recognises."""

from __future__ import annotations

from jasping.agent.flows import contact_fields as cf
from jasping.agent.intents import normalize

OFFER = 4


def _phrases(spec: str) -> frozenset[str]:
    return frozenset(normalize(p) for p in spec.replace("\n", " ").split("|") if p.strip())


_HINTS = {"service": "choice", "when": "date", "pick": "choice", "name": "name", "phone": "phone"}
_PARTS = {"morning": (0, 12), "afternoon": (12, 18), "evening": (18, 24)}
_ASAP = _phrases(
    """asap|as soon as possible|earliest|first available|soonest|anytime|any time|des que possible|au plus tot|
    le plus tot|le plus vite|premier creneau|premiere dispo|n importe quand|quand vous voulez|في اقرب وقت|اقرب موعد|
    اي وقت|دابا|daba"""
)
_OTHER = _phrases(
    "other|others|another|later|more|autre|autres|plus tard|d autres|aucun|none|غير|اخر|اخري|وقت اخر|مواعيد اخري"
)
_ORDINALS = [
    _phrases("first|premier|premiere|الاول|الاولي|1er"),
    _phrases("second|deuxieme|second|seconde|الثاني|الثانيه|2e|2eme"),
    _phrases("third|troisieme|الثالث|الثالثه|3e|3eme"),
    _phrases("fourth|quatrieme|الرابع|الرابعه|4e|4eme|last|dernier|derniere|الاخير"),
]

# key: (English, French, Arabic)
# fmt: off
BOOKING_PHRASES: dict[str, tuple[str, str, str]] = {
    "ask_service": ("Happy to book that for you! Which service would you like?",
                    "Avec plaisir ! Quelle prestation souhaitez-vous ?", "بكل سرور! ما الخدمة التي تريدها؟"),
    "ask_when": ("What day and time would suit you?", "Quel jour et quelle heure vous conviendraient ?",
                 "ما اليوم والوقت المناسبان لك؟"),
    "which_day": ("Which day, and is that morning or afternoon?", "Quel jour, et plutôt le matin ou l'après-midi ?",
                  "أي يوم، وهل تقصد صباحًا أم مساءً؟"),
    "not_understood": ("Sorry, I didn't catch the day.", "Pardon, je n'ai pas compris le jour.",
                       "عذرًا، لم أفهم اليوم."),
    "past": ("That time has already passed.", "Ce moment est déjà passé.", "هذا الوقت قد مضى."),
    "closed_day": ("We're closed that day.", "Nous sommes fermés ce jour-là.", "نحن مغلقون في ذلك اليوم."),
    "closed_time": ("We're not open at that time.", "Nous ne sommes pas ouverts à cette heure-là.",
                    "لسنا مفتوحين في ذلك الوقت."),
    "taken": ("That time is already taken.", "Ce créneau est déjà pris.", "هذا الموعد محجوز مسبقًا."),
    "too_soon": ("That time is too soon to book.", "Ce créneau est trop proche pour être réservé.",
                 "هذا الموعد قريب جدًا ولا يمكن حجزه."),
    "full_day": ("That day is fully booked.", "Cette journée est complète.", "هذا اليوم محجوز بالكامل."),
    "too_far": ("I can only book up to {days} days ahead.", "Je ne peux réserver qu'à {days} jours maximum.",
                "يمكنني الحجز حتى {days} يومًا مقدمًا فقط."),
    "race": ("I'm sorry, that time has just been taken.", "Désolé, ce créneau vient d'être pris.",
             "عذرًا، هذا الموعد حُجز للتو."),
    "offer": ("Here are the nearest free times — which suits you?",
              "Voici les créneaux libres les plus proches — lequel vous convient ?",
              "هذه أقرب المواعيد المتاحة، أيها يناسبك؟"),
    "pick_one": ("Which of these times suits you?", "Lequel de ces créneaux vous convient ?",
                 "أي من هذه المواعيد يناسبك؟"),
    "no_slots": ("I'm sorry, there is no free time in the coming weeks. The team will be glad to help you here.",
                 "Désolé, il n'y a plus de créneau libre ces prochaines semaines. L'équipe pourra vous aider ici.",
                 "عذرًا، لا توجد مواعيد متاحة في الأسابيع القادمة. سيسعد الفريق بمساعدتك هنا."),
    "ask_name": ("May I have your name for the booking?", "À quel nom dois-je réserver ?", "باسم من أحجز الموعد؟"),
    "ask_phone": ("What phone number can we reach you on?", "À quel numéro pouvons-nous vous joindre ?",
                  "ما رقم الهاتف الذي يمكننا التواصل معك عليه؟"),
    "bad_name": ("Sorry, I didn't catch your name — could you type just your name?",
                 "Pardon, je n'ai pas saisi votre nom — pouvez-vous l'écrire simplement ?",
                 "عذرًا، لم أفهم اسمك. هل يمكنك كتابته فقط؟"),
    "bad_phone": ("That phone number doesn't look right — could you check it?",
                  "Ce numéro ne semble pas correct — pouvez-vous le vérifier ?",
                  "يبدو أن رقم الهاتف غير صحيح. هل يمكنك التحقق منه؟"),
    "confirm": ("{service}, {slot}, for {name} — shall I book it?",
                "{service}, {slot}, au nom de {name} — je réserve ?",
                "{service}، {slot}، باسم {name}. هل أؤكد الحجز؟"),
    "confirm_move": ("Move your appointment to {slot}?", "Je déplace votre rendez-vous au {slot} ?",
                     "هل أنقل موعدك إلى {slot}؟"),
    "yes_or_no": ("Could you answer yes or no?", "Pouvez-vous répondre par oui ou par non ?",
                  "هل يمكنك الإجابة بنعم أو لا؟"),
    "other_time": ("No problem — when would suit you better?", "Pas de souci — quel autre moment vous arrangerait ?",
                   "لا بأس، ما الوقت الأنسب لك؟"),
    "booked": ("Done: your {service} is booked for {slot}. See you soon!",
               "C'est réservé : {service} le {slot}. À bientôt !", "تم الحجز: {service} يوم {slot}. إلى اللقاء!"),
    "moved": ("Done: your appointment is moved to {slot}.", "C'est fait : votre rendez-vous est déplacé au {slot}.",
              "تم: نُقل موعدك إلى {slot}."),
    "abandoned": ("No problem, I won't book anything. Can I help with anything else?",
                  "Pas de souci, je ne réserve rien. Puis-je vous aider pour autre chose ?",
                  "لا بأس، لن أحجز شيئًا. هل يمكنني مساعدتك في شيء آخر؟"),
    "no_appointments": ("I can't find any upcoming appointment for you.",
                        "Je ne trouve aucun rendez-vous à venir à votre nom.", "لا أجد أي موعد قادم باسمك."),
    "choose_appointment": ("Which appointment is it about?", "De quel rendez-vous s'agit-il ?",
                           "أي موعد تقصد؟"),
    "confirm_cancel": ("Cancel your {service} on {slot}?", "J'annule votre rendez-vous {service} du {slot} ?",
                       "هل ألغي موعد {service} يوم {slot}؟"),
    "cancelled_appointment": ("Your appointment is cancelled.", "Votre rendez-vous est annulé.", "تم إلغاء موعدك."),
    "kept": ("All right, I'm keeping your appointment.", "D'accord, je garde votre rendez-vous.",
             "حسنًا، سأبقي على موعدك."),
    "resume": ("Back to your booking:", "Pour reprendre votre réservation :", "لنعد إلى حجزك:"),
    "qr_asap": ("As soon as possible", "Dès que possible", "في أقرب وقت"),
    "qr_tomorrow_am": ("Tomorrow morning", "Demain matin", "غدًا صباحًا"),
    "qr_tomorrow_pm": ("Tomorrow afternoon", "Demain après-midi", "غدًا بعد الظهر"),
    "qr_other": ("Other times", "Autres créneaux", "مواعيد أخرى"),
    "qr_yes": ("Yes", "Oui", "نعم"),
    "qr_no": ("No", "Non", "لا"),
}
# fmt: on


def _p(key: str, lang: str, **fmt: object) -> str:
    en, fr, ar = BOOKING_PHRASES[key]
    text = {"fr": fr, "ar": ar}.get(cf.base_language(lang), en)
    return text.format(**fmt) if fmt else text
