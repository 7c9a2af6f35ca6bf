"""Lead capture by dialogue: contact-detail parsing and the lead state machine (pure, no database)."""

from __future__ import annotations

import json

import pytest

from jasping.agent import flows
from jasping.agent.flows import LeadFlow, LeadSettings, advance, extract_details, reprompt, start
from jasping.agent.flows.contact_fields import (
    parse_email,
    parse_name,
    parse_phone,
    parse_yes_no,
    reads_as_question,
    speak_phone,
)

BUDGET = LeadSettings.from_dict({"custom_fields": [{"name": "budget", "label": "budget", "required": True}]})


def converse(lang: str, region: str | None, messages: list[str], settings: LeadSettings | None = None, prefill=None):
    """Run a whole dialogue; every step must be the lead flow's (intent "lead", in the customer's language)."""
    flow, step = start(settings or LeadSettings(), lang, prefill, region=region)
    steps = [step]
    for text in messages:
        flow, step = advance(flow, text, lang=lang, region=region)
        assert step is not None, f"{text!r} was not taken by the flow at {flow.step}"
        assert step.intent == "lead" and step.language == lang
        steps.append(step)
    return flow, steps


def lead_of(step) -> dict:
    (call,) = step.tool_calls
    assert call.name == "capture_lead"
    return call.arguments


# ---- contact fields --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon mail c'est jean.dupont@gmail.com", "jean.dupont@gmail.com"),
        ("JEAN.DUPONT@GMAIL.COM.", "jean.dupont@gmail.com"),
        ("Voici : karim@example.com!", "karim@example.com"),
        ("بريدي هو karim@example.com شكرا", "karim@example.com"),
        ("karim @ example.com", "karim@example.com"),
        ("jean point dupont arobase gmail point com", "jean.dupont@gmail.com"),
        ("jean@gmail", None),
        ("jean@@gmail.com", None),
        ("I'm at home", None),
        ("", None),
    ],
)
def test_parse_email(text, expected):
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("0612345678", "MA", "+212612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06.61.23.45.67", "MA", "+212661234567"),
        ("+212 6 61 23 45 67", "FR", "+212661234567"),
        ("00212 661 23 45 67", "MA", "+212661234567"),
        ("00212661234567", None, "+212661234567"),
        ("رقمي ٠٦٦١٢٣٤٥٦٧ شكرا", "MA", "+212661234567"),
        ("je suis Karim, 0661234567", "ma", "+212661234567"),
        ("0 6 6 1 2 3 4 5 6 7", "MA", "+212661234567"),
        ("06 61 23", "MA", None),
        ("0661234567", None, None),  # a local number needs the agent's region
        ("budget 50000 dh", "MA", None),
    ],
)
def test_parse_phone(text, region, expected):
    assert parse_phone(text, region) == expected


def test_speak_phone_groups_digits_and_stays_left_to_right_in_arabic():
    assert speak_phone("+212661234567", "fr") == "+212 6 61 23 45 67"
    assert speak_phone("+33612345678", "en") == "+33 6 12 34 56 78"
    assert speak_phone("+14155552671", "en") == "+1 415 555 2671"
    assert speak_phone("+212661234567", "ar") == "\u2066+212 6 61 23 45 67\u2069"


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        ("je m'appelle Fatima Zahra", False, "Fatima Zahra"),
        ("my name is John Smith", False, "John Smith"),
        ("c'est Karim", False, "Karim"),
        ("اسمي محمد", False, "محمد"),
        ("أنا كريم بنعلي", False, "كريم بنعلي"),
        ("Je veux un devis, je suis Karim, 0661234567", False, "Karim"),
        ("mon nom est Karim et je veux un devis", False, "Karim"),
        ("karim benali", True, "Karim Benali"),
        ("jean-pierre o'neil", True, "Jean-Pierre O'Neil"),
        ("Fatima Zahra el amrani", True, "Fatima Zahra El Amrani"),
        ("Karim Benali, merci", True, "Karim Benali"),
        ("karim benali", False, None),  # a bare answer only counts when the name was asked
        ("c'est karim", False, None),
        ("je suis intéressé par un devis", False, None),
        ("I'm looking for a quote", False, None),
        ("Bonjour", True, None),
        ("oui", True, None),
        ("karim@example.com", True, None),
        ("0661234567", True, None),
        ("Quels sont vos horaires ?", True, None),
        ("je ne sais pas", True, None),
    ],
)
def test_parse_name(text, asked, expected):
    assert parse_name(text, "fr", asked=asked) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("oui", "fr", True),
        ("ouais", "fr", True),
        ("d'accord", "fr", True),
        ("C'est ça !", "fr", True),
        ("exact", "fr", True),
        ("yes", "en", True),
        ("yep", "en", True),
        ("correct", "en", True),
        ("نعم", "ar", True),
        ("ايه", "ar", True),
        ("واخا", "ar", True),
        ("non", "fr", False),
        ("no", "en", False),
        ("pas du tout", "fr", False),
        ("لا", "ar", False),
        ("non, c'est 0661234567", "fr", False),
        ("ce n'est pas ça", "fr", False),
        ("that's not right", "en", False),
        ("Bonjour", "fr", None),
        ("Karim", "fr", None),
    ],
)
def test_parse_yes_no(text, lang, expected):
    assert parse_yes_no(text, lang) is expected


def test_reads_as_question():
    assert reads_as_question("Quels sont vos horaires ?", "fr")
    assert reads_as_question("what are your hours", "en")
    assert reads_as_question("هل تعملون يوم السبت", "ar")
    assert reads_as_question("je veux parler à un conseiller", "fr")  # asks for a person
    assert not reads_as_question("Karim", "fr")
    assert not reads_as_question("jean@gmail", "fr")


# ---- the lead flow ---------------------------------------------------------------------------------------


def test_happy_path_fr():
    flow, steps = converse("fr", "MA", ["Karim Benali", "karim@example.com", "oui", "oui"])
    assert steps[0].input_hint == "name" and "nom" in steps[0].text and steps[0].intent == "lead"
    assert steps[1].input_hint == "email" and steps[1].text.startswith("Merci, Karim Benali !")
    assert steps[1].quick_replies == ["Je préfère donner mon numéro"]
    assert steps[2].text == "Je récapitule : Karim Benali, karim@example.com — est-ce bien ça ?"
    assert steps[2].input_hint == "choice" and steps[2].quick_replies == ["Oui", "Non"]
    assert steps[3].input_hint == "choice" and "contacter" in steps[3].text
    assert flow.step == "done" and flow.outcome == "captured"
    assert steps[4].text == "Merci, Karim Benali ! L'équipe reviendra vers vous très bientôt."
    assert lead_of(steps[4]) == {
        "name": "Karim Benali",
        "email": "karim@example.com",
        "phone": None,
        "custom": {},
        "consent": True,
        "language": "fr",
    }


def test_happy_path_en_with_phone_instead_of_email():
    flow, steps = converse(
        "en", "FR", ["My name is John Smith", "I'd rather give my phone", "06 12 34 56 78", "yes", "yes"]
    )
    assert steps[1].quick_replies == ["I'd rather give my phone"]
    assert steps[2].input_hint == "phone" and flow.skipped == ["email"]
    assert steps[3].text == "So that's John Smith, +33 6 12 34 56 78 — is that right?"
    assert steps[3].quick_replies == ["Yes", "No"]
    assert steps[5].text == "Thank you, John Smith! The team will get back to you very soon."
    assert lead_of(steps[5])["phone"] == "+33612345678" and lead_of(steps[5])["email"] is None


def test_happy_path_ar():
    flow, steps = converse("ar", "MA", ["اسمي محمد", "رقمي ٠٦٦١٢٣٤٥٦٧", "نعم", "نعم"])
    assert steps[0].text.endswith("ما اسمك من فضلك؟")
    assert steps[1].text.startswith("شكرًا، محمد!") and steps[1].quick_replies == ["أفضّل إعطاء رقم هاتفي"]
    assert steps[2].text == "للتأكيد: محمد، \u2066+212 6 61 23 45 67\u2069. هل هذا صحيح؟"
    assert steps[2].quick_replies == ["نعم", "لا"]
    assert steps[4].text == "شكرًا، محمد! سيتواصل معك الفريق قريبًا جدًا."
    assert lead_of(steps[4]) | {"custom": None} == {
        "name": "محمد",
        "email": None,
        "phone": "+212661234567",
        "custom": None,
        "consent": True,
        "language": "ar",
    }


def test_invalid_then_valid_email():
    flow, steps = converse("en", "MA", ["Karim", "karim@gmail", "it's karim@example.com"])
    assert steps[2].text == "That email address doesn't look right — could you check it?"
    assert steps[2].input_hint == "email"
    assert flow.values["email"] == "karim@example.com" and flow.step == "confirm"
    assert flow.attempts == {}
    _, steps = converse("fr", "MA", ["Karim", "euh"])
    assert steps[2].text.startswith("Je ne vois pas d'adresse e-mail")


@pytest.mark.parametrize(
    ("region", "bad", "good", "spoken"),
    [
        ("MA", "06 61 23", "06.61.23.45.67", "+212 6 61 23 45 67"),
        ("FR", "06 12 34 5", "06 12 34 56 78", "+33 6 12 34 56 78"),
    ],
)
def test_invalid_then_valid_phone(region, bad, good, spoken):
    settings = LeadSettings(fields=["name", "phone"])
    flow, steps = converse("fr", region, ["Karim", bad, good], settings)
    assert steps[1].input_hint == "phone" and steps[1].quick_replies == []
    assert steps[2].text.startswith("Ce numéro ne semble pas correct")
    assert steps[2].input_hint == "phone" and flow.attempts == {}
    assert steps[3].text == f"Je récapitule : Karim, {spoken} — est-ce bien ça ?"


def test_a_broken_phone_given_when_the_email_is_asked_is_read_as_a_phone():
    flow, steps = converse("en", "MA", ["Karim", "06 61 23"])
    assert flow.step == "phone" and flow.attempts == {"phone": 1}
    assert steps[2].text.startswith("That phone number doesn't look right")


def test_prefill_from_the_triggering_message():
    prefill = extract_details("Je veux un devis, je suis Karim, 0661234567", lang="fr", region="MA")
    assert prefill == {"name": "Karim", "phone": "+212661234567"}
    flow, step = start(LeadSettings(), "fr", prefill, region="MA")
    assert flow.step == "confirm" and step.input_hint == "choice"
    assert step.text.startswith("Merci, Karim ! Je peux noter vos coordonnées")
    assert step.text.endswith("Je récapitule : Karim, +212 6 61 23 45 67 — est-ce bien ça ?")
    flow, step = start(LeadSettings(), "en", {"name": "Karim"})
    assert flow.step == "email" and step.input_hint == "email" and step.text.startswith("Thank you, Karim!")
    flow, _ = start(LeadSettings(), "en", {"email": "not an email", "phone": "12"}, region="MA")
    assert flow.values == {} and flow.step == "name"


def test_correction_at_read_back():
    prefill = {"name": "Karim", "phone": "0661234567"}
    flow, steps = converse("fr", "MA", ["non, c'est 0661234568", "non, le nom est Karim Benali"], prefill=prefill)
    assert flow.values == {"name": "Karim Benali", "phone": "+212661234568"} and flow.step == "confirm"
    assert steps[-1].text == "Je récapitule : Karim Benali, +212 6 61 23 45 68 — est-ce bien ça ?"
    flow, step = advance(flow, "Non", lang="fr", region="MA")
    assert flow.correcting and step.text == "Pas de souci — quelle information dois-je corriger ?"
    assert step.quick_replies == ["Nom", "E-mail", "Téléphone"]
    flow, step = advance(flow, "le téléphone", lang="fr", region="MA")
    assert flow.step == "phone" and step.input_hint == "phone"
    flow, step = advance(flow, "06 61 11 22 33", lang="fr", region="MA")
    assert flow.step == "confirm" and "+212 6 61 11 22 33" in step.text
    flow, step = advance(flow, "Non", lang="fr", region="MA")
    flow, step = advance(flow, "Karim El Amrani", lang="fr", region="MA")  # the corrected value straight away
    assert flow.values["name"] == "Karim El Amrani" and flow.step == "confirm" and not flow.correcting


def test_consent_yes_and_no():
    _, steps = converse("en", "MA", ["Karim", "karim@example.com", "yes", "yes please"])
    assert steps[3].text == "May we contact you about your request?" and steps[3].quick_replies == ["Yes", "No"]
    assert lead_of(steps[4])["consent"] is True
    flow, steps = converse("fr", "MA", ["Karim", "karim@example.com", "oui", "non merci"])
    assert flow.step == "done" and flow.consent is False
    assert lead_of(steps[4])["consent"] is False and lead_of(steps[4])["email"] == "karim@example.com"
    assert steps[4].text == "C'est noté : vos coordonnées serviront uniquement à répondre à cette demande. Merci !"
    flow, steps = converse("en", "MA", ["Karim", "karim@example.com", "yes", "hmm", "well", "maybe"])
    assert steps[4].text.startswith("Could you answer yes or no?") and lead_of(steps[6])["consent"] is False


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "laissez tomber", "Pas de souci, je ne note rien. Puis-je vous aider pour autre chose ?"),
        ("fr", "Non finalement annuler", "Pas de souci, je ne note rien. Puis-je vous aider pour autre chose ?"),
        ("en", "never mind", "No problem, I won't take your details. Can I help you with anything else?"),
        ("en", "stop", "No problem, I won't take your details. Can I help you with anything else?"),
        ("ar", "إلغاء", "لا بأس، لن أسجل بياناتك. هل يمكنني مساعدتك في شيء آخر؟"),
    ],
)
def test_cancellation(lang, text, expected):
    flow, steps = converse(lang, "MA", ["Karim", text])
    assert flow.step == "cancelled" and flow.outcome == "cancelled"
    assert steps[-1].text == expected and steps[-1].tool_calls == []
    assert advance(flow, "karim@example.com", lang=lang, region="MA") == (flow, None)


def test_giving_up_after_three_attempts():
    settings = LeadSettings(require="both")
    flow, steps = converse("en", "MA", ["Karim", "karim@example.com", "abc", "def", "ghi"], settings)
    assert flow.step == "cancelled" and flow.outcome == "handoff"
    assert steps[-1].tool_calls[0].name == "handoff_to_human"
    assert steps[-1].tool_calls[0].arguments == {"reason": "lead_capture_failed"}
    assert steps[-2].text == "I didn't see a phone number — could you type it in digits?"
    # when either email or phone is enough, a failed email falls back to the phone first
    flow, steps = converse("en", "MA", ["Karim", "abc", "def", "ghi"])
    assert flow.step == "phone" and flow.skipped == ["email"]
    assert steps[-1].text == "No problem — a phone number will do. What phone number can the team reach you on?"
    flow, steps = converse("en", "MA", ["x", "123", "!!", "0661234567"])  # the name is optional: skipped
    assert flow.skipped == ["name"] and flow.step == "confirm" and "name" not in flow.values


def test_a_question_mid_flow_is_left_to_the_turn_loop():
    flow, _ = start(LeadSettings(), "fr", region="MA")
    for text in ("Quels sont vos horaires ?", "c'est combien un détartrage", "je veux parler à un conseiller"):
        assert advance(flow, text, lang="fr", region="MA") == (flow, None)
    step = reprompt(flow, "fr")
    assert step.text == "Pour reprendre vos coordonnées : Quel est votre nom ?" and step.input_hint == "name"
    flow, _ = converse("en", "MA", ["Karim", "karim@example.com"])
    assert advance(flow, "Do you open on Saturdays?", lang="en", region="MA") == (flow, None)
    flow, step = advance(flow, "yes", lang="en", region="MA")
    assert advance(flow, "why do you ask?", lang="en", region="MA") == (flow, None)
    flow, step = advance(flow, "sure", lang="en", region="MA")
    assert flow.step == "done"


def test_custom_field_asked_and_captured():
    flow, steps = converse("fr", "MA", ["Karim", "karim@example.com", "environ 5000 dh", "oui", "oui"], BUDGET)
    assert steps[2].text == "Merci ! Pouvez-vous m'indiquer votre budget ?"
    assert steps[2].input_hint == "text" and steps[2].quick_replies == []  # required: no "Skip"
    assert steps[3].text == "Je récapitule : Karim, karim@example.com, budget : environ 5000 dh — est-ce bien ça ?"
    assert lead_of(steps[5])["custom"] == {"budget": "environ 5000 dh"}
    assert flow.required == ["email|phone", "custom:budget"]
    optional = LeadSettings.from_dict(
        {"custom_fields": [{"name": "budget", "label": {"en": "budget", "fr": "budget"}, "required": False}]}
    )
    flow, steps = converse("en", "MA", ["Karim", "karim@example.com", "skip"], optional)
    assert steps[2].quick_replies == ["Skip"]
    assert flow.step == "confirm" and flow.skipped == ["custom:budget"]
    assert steps[3].text == "No problem, let's skip that. So that's Karim, karim@example.com — is that right?"


def test_serialisation_round_trip():
    flow, _ = converse("fr", "MA", ["Karim", "karim@gmail"], BUDGET)
    stored = json.loads(json.dumps(flow.to_dict()))
    again = LeadFlow.from_dict(stored)
    assert again == flow and again.attempts == {"email": 1}
    again, step = advance(again, "karim@example.com", lang="fr", region="MA")
    assert again.step == "custom:budget" and flow.step == "email"  # advance returns a new flow
    assert LeadFlow.from_dict(again.to_dict() | {"unknown": 1}) == again


def test_settings_and_package_exports():
    assert LeadSettings.from_dict(None) == LeadSettings()
    settings = LeadSettings.from_dict({"fields": ["email", "fax"], "require": "nonsense", "custom_fields": [{"x": 1}]})
    assert settings == LeadSettings(fields=["email"], custom_fields=[], require="email_or_phone")
    flow, step = start(settings, "en")
    assert flow.step == "email" and step.quick_replies == [] and step.text.endswith("reach you at?")
    assert flows.start is start and flows.MAX_ATTEMPTS == 3
    with pytest.raises(AttributeError):
        _ = flows.nothing_here
