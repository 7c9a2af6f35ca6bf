"""A small bilingual lexicon of customer-service words (English, French, Arabic and Darija) for questions asked in
another language than the documents: "How much is an oil change?" over a French price list ("vidange", "prix").

It is general vocabulary (money, time, place, contact, booking, payment, policies, common goods and services), not
any business's words; a word with several senses lists them all. `translations(tokens, lang)` gives the words of
the other languages for a question's tokens: retrieval adds them to the query for the documents' other languages,
and the local model counts them as the question's words. Phrases ("how much", "oil change") match before words.
"""

from __future__ import annotations

from functools import lru_cache

from .analysis import token_forms, tokenize

__all__ = ["translations"]

# One concept a line (an indented line goes on with the one above): English | French | Arabic (MSA, then Darija in
# Arabic script and a few Latin-script Darija words); synonyms separated by commas.
_CONCEPTS = """
price, prices, cost, costs, fee, fees, rate, rates, charge, how much, pricing, tariff | prix, tarif, tarifs, coût,
    coûte, combien, frais, montant | سعر, أسعار, ثمن, تكلفة, كلفة, رسوم, بشحال, شحال, بكم, bch7al, ch7al, bchhal,
    chhal
cheap, cheaper, discount, discounts, reduced, reduction, promo, promotion, off | réduction, remise, promo, promotion,
    rabais | تخفيض, خصم, تخفيضات, عرض
free, free of charge | gratuit, gratuite, gratuits, offert, offerte | مجاني, مجانا, مجانية, فابور
deposit, down payment | acompte, caution, arrhes, dépôt | عربون, تسبيق, ضمانة
refund, refunds, reimburse, reimbursement, money back | remboursement, rembourser, remboursé | استرجاع, استرداد, تعويض
pay, payment, payments, paying | payer, paiement, règlement, régler | دفع, أداء, الخلاص, نخلص
card, credit card, bank card | carte, carte bancaire, cb | بطاقة, بطاقة بنكية, لاكارط
cash | espèces, liquide, cash | نقدا, نقدي, كاش
cheque, check, cheques | chèque, chèques | شيك, شيكات
transfer, bank transfer, wire | virement | تحويل, تحويل بنكي
invoice, receipt, bill | facture, reçu, note | فاتورة, وصل
tax, vat | tva, taxe, taxes, ttc, ht | ضريبة, الضريبة على القيمة المضافة
how long, duration | durée, combien de temps, dure | مدة, المدة, شحال ديال الوقت, كم من الوقت
minute, minutes, min | minute, minutes, min | دقيقة, دقائق, دقايق
hour, hours | heure, heures | ساعة, ساعات, سوايع
day, days | jour, jours, journée | يوم, أيام, ايام, نهار
week, weeks, weekly | semaine, semaines, hebdomadaire | أسبوع, أسابيع, سيمانة
month, months, monthly | mois, mensuel, mensuelle | شهر, أشهر, شهور
year, years, yearly, annual | an, ans, année, années, annuel | سنة, سنوات, عام
open, opening, opens, opening hours, hours, schedule, timetable | ouvert, ouverte, ouverture, horaires, horaire,
    ouvre, ouvrez, planning | مفتوح, تفتحون, ساعات العمل, أوقات, اوقات, التوقيت, كتحلو, kat7lo, kat7elo
close, closed, closing, closes | fermé, fermée, fermeture, ferme, fermez | مغلق, مسدود, إغلاق, كتسدو
when, what time, time | quand, quelle heure, heure, moment | متى, وقتاش, فوقاش, امتى, imta, fo9ach, wa9tach
today, now | aujourd'hui, maintenant | اليوم, دابا, الآن
tomorrow | demain | غدا, غدوة
weekend | week-end, weekend | عطلة نهاية الأسبوع, الويكاند
monday | lundi | الاثنين, الإثنين, الاثنين, تنين
tuesday | mardi | الثلاثاء, تلات
wednesday | mercredi | الأربعاء, لاربع
thursday | jeudi | الخميس, لخميس
friday | vendredi | الجمعة, الجمعة, جمعة
saturday | samedi | السبت, سبت
sunday | dimanche | الأحد, الحد
holiday, holidays, public holiday, bank holiday | férié, fériés, jour férié, vacances, congés | عطلة, عطل, عيد, أعياد
morning | matin, matinée | صباح, صباحا, الصباح
afternoon | après-midi | بعد الظهر, العشية
evening, night | soir, soirée, nuit | مساء, الليل, ليلة
lunch, lunch break, noon | déjeuner, midi, pause déjeuner | الغداء, الظهر, وقت الغدا
where, address, located, location, find you | où, adresse, situé, située, trouver, emplacement | أين, فين, عنوان,
    العنوان, موقع, كاين
street, road, avenue | rue, avenue, boulevard, bd, route | شارع, زنقة, طريق
city, town, downtown, centre, center | ville, centre, centre-ville | مدينة, وسط المدينة
near, nearby, next to, close to | près, proche, à côté | قرب, قريب, حدا
parking, park, car park | parking, stationnement, garer, se garer | موقف, مرآب, باركينغ, نباركي
bus, tram, metro, train, station, public transport | bus, tram, tramway, métro, train, gare, station,
    transports en commun | حافلة, طوبيس, الترام, قطار, محطة, لاݣار
airport | aéroport | مطار, المطار
phone, telephone, call, number, phone number | téléphone, tél, appeler, numéro, appel | هاتف, الهاتف, رقم, تلفون, نعيط
email, e-mail, mail | email, e-mail, courriel, mail | بريد, البريد الإلكتروني, إيميل, ايميل
contact, reach | contact, contacter, joindre | اتصال, تواصل, التواصل
website, online, internet, site | site, en ligne, internet, site web | موقع, الموقع, أونلاين, الانترنت
whatsapp | whatsapp | واتساب
appointment, booking, book, reservation, reserve, slot | rendez-vous, rdv, réservation, réserver, créneau | موعد,
    حجز, نحجز, رونديفو
cancel, cancellation, cancelling, terminate, end | annuler, annulation, annulé, résilier, résiliation,
    mettre fin | إلغاء, الغاء, نلغي
reschedule, change, move, postpone | reporter, déplacer, modifier, changer | تأجيل, تغيير, تبديل, نبدل
late, delay, lateness | retard, en retard | تأخر, التأخير, معطل
early, in advance, beforehand, notice | avance, à l'avance, préavis | مسبقا, قبل
wait, waiting | attente, attendre | انتظار, نتسنى
delivery, shipping, ship, deliver, delivered | livraison, livrer, livré, expédition, expédier, envoi | توصيل,
    التوصيل, شحن, ليفريزون
return, returns, send back, exchange | retour, retours, retourner, renvoyer, échange, échanger | إرجاع, ارجاع,
    استبدال, نرجع
warranty, guarantee, guaranteed | garantie, garanti, garantis | ضمان, الضمان, كارانتي
order, orders | commande, commandes, commander | طلب, طلبية, كوموند
stock, available, availability, in stock | stock, disponible, disponibilité, en stock | متوفر, متوفرة, موجود
size, sizes | taille, tailles, pointure | مقاس, المقاس, قياس
weight, kg | poids, kg | وزن, الوزن
colour, color | couleur, couleurs | لون, ألوان
new | neuf, neuve, nouveau, nouvelle | جديد, جديدة
used, second-hand | occasion, d'occasion | مستعمل
repair, repairs, repaired, fix, fixed, service, servicing | réparation, réparer, entretien, révision,
    dépannage | إصلاح, تصليح, صيانة, نصلح
oil change | vidange | تغيير الزيت, فيدانج
tyre, tyres, tire, tires | pneu, pneus, pneumatique | إطار, عجلات, بنو
brake, brakes | frein, freins, freinage | فرامل, الفرانات
battery | batterie | بطارية, البطارية
engine | moteur | محرك, المحرك, موطور
car, vehicle, cars | voiture, véhicule, auto | سيارة, السيارة, طوموبيل, طونوبيل
diagnosis, diagnostic, check-up, inspection | diagnostic, contrôle, bilan, inspection | تشخيص, فحص, الفحص
air conditioning, aircon, ac | climatisation, clim | مكيف, تكييف, الكليماتيزور
quote, estimate | devis, estimation | عرض سعر, تقدير, دوفي
class, classes, course, courses, lesson, lessons, session, sessions | cours, séance, séances, leçon, atelier | حصة,
    حصص, درس, دروس
beginner, beginners | débutant, débutants, débutante, initiation | مبتدئ, مبتدئين
teacher, instructor, coach, trainer | professeur, prof, enseignant, instructeur, coach, moniteur | أستاذ, مدرب, الكوتش
trial, first class, try | essai, cours d'essai, découverte, essayer | تجربة, حصة تجريبية
membership, subscription, pass, card | abonnement, carte, forfait, adhésion | اشتراك, الاشتراك, ابونمو
equipment, gear, mat, mats | matériel, équipement, tapis | معدات, تجهيزات
shower, showers, changing room, locker | douche, douches, vestiaire, vestiaires, casier | دوش, حمام,
    غرفة تبديل الملابس
child, children, kids, kid, baby | enfant, enfants, bébé, bambin | طفل, أطفال, الدراري, ولاد
adult, adults | adulte, adultes | بالغ, كبار
student, students | étudiant, étudiants | طالب, طلبة
senior, seniors, elderly | senior, seniors, retraité | مسن, كبار السن
group, groups | groupe, groupes | مجموعة, جماعة
private, individual, one-to-one | privé, particulier, individuel | خاص, فردي
gift, gift card, voucher | cadeau, carte cadeau, bon cadeau, bon | هدية, بطاقة هدية, قسيمة
animal, animals, pet, pets | animal, animaux, animal de compagnie | حيوان, حيوانات, حيوان أليف
dog, dogs, puppy | chien, chiens, chiot | كلب, كلاب, الكلب
cat, cats, kitten | chat, chats, chaton | قط, قطة, قطط, المش
smoking, smoke | fumer, fumeur, tabac | تدخين, الدخان
wifi, wi-fi, internet | wifi, wi-fi | واي فاي, الويفي
accessible, wheelchair, disabled, disability | accessible, fauteuil roulant, handicap, handicapé, pmr | كرسي متحرك,
    ذوي الاحتياجات الخاصة, إعاقة
language, languages, speak, english, french, arabic | langue, langues, parler, parlez, anglais, français,
    arabe | لغة, تتكلمو, الإنجليزية, الفرنسية, العربية
staff, team | équipe, personnel | فريق, الطاقم
manager, owner, director | responsable, gérant, directeur, propriétaire | مدير, المسؤول, مول
document, documents, papers, id, identity card, passport | document, documents, papiers, pièce d'identité,
    carte d'identité, passeport | وثائق, الوثائق, بطاقة التعريف, جواز السفر, لاكارط ناسيونال
insurance | assurance, mutuelle | تأمين, التأمين, لاسورانس
emergency, urgent, urgency | urgence, urgences, urgent | طوارئ, مستعجل, عاجل
rule, rules, policy | règle, règles, règlement, politique, conditions | قواعد, سياسة, شروط
penalty, charged, charge | pénalité, facturé, facturée | غرامة, ذعيرة
minimum, at least | minimum, au moins | على الأقل, الأدنى
maximum, at most, up to | maximum, au plus, jusqu'à | على الأكثر, الأقصى
person, people, persons | personne, personnes | شخص, أشخاص, ناس
food, meal, meals, eat | repas, manger, nourriture | أكل, وجبة, ماكلة
drink, drinks, coffee, tea, water | boisson, boissons, café, thé, eau | مشروب, قهوة, أتاي, ماء
clean, cleaning | nettoyage, nettoyer, ménage | تنظيف, نظافة
wash, washing | lavage, laver | غسيل, غسل
bring | apporter, amener | نجيب, إحضار
need | besoin, faut | خاص, محتاج
allowed, allow, permitted | autorisé, autorisés, accepté, acceptés, permis | مسموح, مقبول
accept, accepted, take | accepter, acceptez, accepté, acceptons, prenez | تقبلون, تقبلو, مقبول
rent, rental, hire, renting | location, louer, loue, louez | كراء, إيجار, استئجار, نكري
unlimited | illimité, illimitée, illimités, sans limite | غير محدود, بلا حدود
single, one-off, drop-in, per unit | unité, à l'unité, individuel, ponctuel | واحدة, فردية
register, sign up, join, subscribe, enrol, enroll | inscrire, inscription, inscris, adhérer, s'inscrire | تسجيل,
    التسجيل, نتسجل, اشتراك
account | compte | حساب, الحساب
week day, weekday, weekdays | semaine, en semaine | أيام الأسبوع
country, countries, abroad, international | pays, étranger, international, international | بلد, دول, الخارج
customs, duties, import duties | douane, douanes, droits de douane | الجمارك, الديوانة
carrier, carriers | transporteur, transporteurs | شركة النقل, ناقل
item, items, product, products, article | article, articles, produit, produits | منتج, منتجات, سلعة
broken, broke, damaged, defective | cassé, cassée, endommagé, défectueux, abîmé | مكسور, معطل, خاسر
weekly, every week | chaque semaine, par semaine | كل أسبوع
garage, workshop | garage, atelier | كراج, الكراج, مرآب, ورشة
problem, issue, complaint, trouble | problème, souci, réclamation, plainte | مشكل, مشكلة, شكاية, شكوى
"""


_LANGS = ("en", "fr", "ar")


def _stems(tokens: list[str], lang: str) -> tuple[str, ...]:
    return tuple(stem for token in tokens for stem, _ in token_forms(token, lang))


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, dict[tuple[str, ...], list[int]]], list[dict[str, list[str]]], int]:
    """Per language, phrase (its stems) -> concept ids; per concept, its tokens per language; the longest phrase."""
    phrases: dict[str, dict[tuple[str, ...], list[int]]] = {lang: {} for lang in _LANGS}
    concepts: list[dict[str, list[str]]] = []
    longest = 1
    for line in _CONCEPTS.strip().replace(",\n    ", ", ").splitlines():
        forms: dict[str, list[str]] = {}
        for lang, cell in zip(_LANGS, line.split("|"), strict=True):
            words: list[str] = []
            for entry in cell.split(","):
                tokens = tokenize(entry)
                if stems := _stems(tokens, lang):
                    phrases[lang].setdefault(stems, []).append(len(concepts))
                    longest = max(longest, len(stems))
                words.extend(t for t in dict.fromkeys(tokens) if t not in words)
            forms[lang] = words
        concepts.append(forms)
    return phrases, concepts, longest


def concept_spans(tokens: list[str], lang: str | None) -> list[tuple[int, int, int]]:
    """(first token, last token + 1, concept id) of the lexicon's phrases in `tokens` read as `lang` (every
    language when None), longest phrase first, left to right; stop words inside a phrase are skipped."""
    return list(_concept_spans(tuple(tokens), lang))


@lru_cache(maxsize=4096)
def _concept_spans(tokens: tuple[str, ...], lang: str | None) -> tuple[tuple[int, int, int], ...]:
    phrases, _, longest = _tables()
    found: list[tuple[int, int, int]] = []
    for source in (lang,) if lang in _LANGS else _LANGS:
        table = phrases[source]
        keyed = [(i, stem) for i, token in enumerate(tokens) for stem, _ in token_forms(token, source)]
        keys = tuple(stem for _, stem in keyed)
        i = 0
        while i < len(keys):
            for size in range(min(longest, len(keys) - i), 0, -1):
                ids = table.get(keys[i : i + size])
                if ids:
                    start, end = keyed[i][0], keyed[i + size - 1][0] + 1
                    found.extend((start, end, c) for c in ids if (start, end, c) not in found)
                    i += size
                    break
            else:
                i += 1
    return tuple(found)


def concepts_of(tokens: list[str], lang: str | None) -> list[int]:
    """Concept ids of the lexicon's phrases in `tokens`, read as `lang` (every language when None)."""
    return list(dict.fromkeys(c for _, _, c in concept_spans(tokens, lang)))


def words_of(concept: int, lang: str) -> list[str]:
    """The tokens of a concept in one language."""
    return _tables()[1][concept].get(lang, [])


def translations(tokens: list[str], lang: str, source: str | None = None) -> list[str]:
    """Tokens in `lang` for the lexicon's phrases found in `tokens` read as `source` (none when it is `lang`)."""
    if source == lang or lang not in _LANGS:
        return []
    out: list[str] = []
    for concept in concepts_of(tokens, source):
        out.extend(w for w in words_of(concept, lang) if w not in out)
    return out
