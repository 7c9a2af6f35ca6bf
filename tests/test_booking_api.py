"""Booking through the widget against the builtin calendar, as customers talk to it (conflicts, closed days and
hours, past and ambiguous moments, cancelling and moving), and no double booking under concurrency.

Every test runs at a fixed moment, `NOW` (a Wednesday morning in Casablanca), so the days offered never depend on
when the tests run. `clock.frozen_at` sets a context variable the TestClient's application thread does not see,
so `clock.now` itself is replaced for the test.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jasping import clock
from jasping.agent import booking_dialogue
from jasping.db import session_scope
from jasping.scheduling import service as calendar
from jasping.scheduling.availability import Service

CASA = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=CASA)  # Wednesday; Friday 27, Saturday 28, Sunday 29, Monday 30 follow
CHECKUP = Service("checkup", "Check-up", 30, 10)  # a slot blocks 40 minutes

BOOKING = {
    "services": [{"id": "checkup", "name": "Check-up", "duration_min": 30, "buffer_min": 10}],
    "hours": {
        "mon": [["09:00", "13:00"], ["14:00", "19:00"]],
        "tue": [["09:00", "19:00"]],
        "wed": [["09:00", "19:00"]],
        "thu": [["09:00", "19:00"]],
        "fri": [["09:00", "19:00"]],
        "sat": [["09:00", "13:00"]],
    },
}


@pytest.fixture(autouse=True)
def set_now(monkeypatch):  # noqa: ANN001, ANN201
    """The app and the test see `NOW`; `set_now(instant)` moves the clock (a customer coming back later)."""

    def set_now(instant: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: instant.astimezone(UTC))

    set_now(NOW)
    return set_now


@pytest.fixture
def clinic(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    org.client.patch("/api/v1/organization", json={"country": "MA", "timezone": "Africa/Casablanca"})
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING})
    assert r.status_code == 200, r.text
    return org, agent


def _chat(client, agent):  # noqa: ANN001, ANN202
    """A new visitor's conversation: `say(text)` sends a message and returns the agent's reply."""
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    headers = {"Authorization": f"Bearer {session['session_token']}"}

    def say(text: str) -> dict:
        r = client.post(url, json={"text": text}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["reply"]

    say.conversation_id = session["conversation_id"]
    return say


def _utc(local: str) -> str:
    """A Casablanca wall-clock time ("2026-11-27 10:00") as the API returns it."""
    return datetime.fromisoformat(local).replace(tzinfo=CASA).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _appointments(org) -> list[tuple[str, str, str | None]]:  # noqa: ANN001
    """(start, status, name) of every appointment, in start order, from GET /api/v1/appointments."""
    r = org.get("/api/v1/appointments")
    assert r.status_code == 200, r.text
    return [(a["start"], a["status"], a["name"]) for a in r.json()["appointments"]]


def _book_by_phone(org, agent, local: str, name: str = "By phone") -> None:  # noqa: ANN001
    """The business books a check-up itself (a phone call), straight in the calendar."""
    with session_scope(org.id) as s:
        calendar.book(
            s,
            agent_id=agent["id"],
            service=CHECKUP,
            start=datetime.fromisoformat(local).replace(tzinfo=CASA).astimezone(UTC),
            conversation_id=None,
            contact_id=None,
            name=name,
            phone=None,
            language="fr",
        )


YES = {"en": "yes", "fr": "oui"}


def _book(say, ask: str, slot: str, name: str, phone: str, lang: str = "en") -> dict:  # noqa: ANN001
    """A new customer asks, picks `slot` among the times offered, gives a name and a number, and confirms."""
    reply = say(ask)
    assert slot in reply["quick_replies"], reply
    assert say(slot)["input_hint"]["type"] == "name"
    assert say(name)["input_hint"]["type"] == "phone"
    assert say(phone)["input_hint"]["type"] == "choice"
    return say(YES[lang])


def _offered(reply: dict) -> list[str]:
    """The times offered (the quick replies but "Other times")."""
    assert reply["input_hint"]["type"] == "choice", reply
    return reply["quick_replies"][:-1]


def test_a_customer_books_in_english(client, clinic) -> None:
    org, agent = clinic
    say = _chat(client, agent)
    reply = say("I'd like to book an appointment next Tuesday at 10am")
    for _ in range(8):
        hint = reply["input_hint"]["type"]
        if hint == "choice" and reply["quick_replies"]:
            answer = reply["quick_replies"][0]
        elif hint == "date":
            answer = "next Tuesday at 10am"
        elif hint == "name":
            answer = "John Smith"
        elif hint == "phone":
            answer = "+212 6 61 23 45 67"
        else:
            break
        reply = say(answer)
        if org.get("/api/v1/appointments").json()["appointments"]:
            break
    booked = org.get("/api/v1/appointments").json()["appointments"]
    assert len(booked) == 1, reply
    assert (
        booked[0]["service_name"] == "Check-up"
        and booked[0]["status"] == "booked"
        and booked[0]["name"] == "John Smith"
    )


def test_without_a_calendar_a_booking_request_takes_the_details(client, make_org) -> None:
    org = make_org("Shop")
    agent = org.post("/api/v1/agents", json={"name": "Léa", "languages": ["fr"]}).json()
    reply = _chat(client, agent)("Je voudrais prendre rendez-vous")
    assert reply["input_hint"]["type"] in ("name", "email", "phone")


def test_invalid_booking_settings_are_422(clinic) -> None:
    org, agent = clinic
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": {"services": []}})
    assert r.status_code == 422


def test_fifty_concurrent_attempts_on_one_slot_make_one_booking(clinic, db_url) -> None:
    org, agent = clinic
    service = Service("checkup", "Check-up", 30, 10)
    start = (clock.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    outcomes: list[str] = []
    barrier = threading.Barrier(50)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            with session_scope(org.id) as s:
                calendar.book(
                    s,
                    agent_id=agent["id"],
                    service=service,
                    start=start + timedelta(minutes=n % 3 * 5),
                    conversation_id=None,
                    contact_id=None,
                    name=f"P{n}",
                    phone=None,
                    language="en",
                )
            outcomes.append("booked")
        except calendar.SlotTaken:
            outcomes.append("taken")
        except Exception as exc:  # noqa: BLE001 - recorded and asserted below
            outcomes.append(f"error: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("taken") == 49
    assert len(org.get("/api/v1/appointments").json()["appointments"]) == 1


# ---- conversations: conflicts ------------------------------------------------------------------------------


def test_a_slot_booked_in_another_conversation_is_not_offered_again(client, clinic) -> None:
    org, agent = clinic
    amina = _chat(client, agent)
    done = _book(
        amina,
        "Can I book an appointment on Friday at 10am?",
        "Friday 27 November at 10:00",
        "Amina Tazi",
        "+212 661 234 567",
    )
    assert done["text"] == "Done: your Check-up is booked for Friday 27 November at 10:00. See you soon!"

    youssef = _chat(client, agent)
    reply = youssef("Hello, I'd like an appointment on Friday at 10am")
    assert reply["text"].startswith("That time is already taken.")
    # 9:30 to 10:30 would overlap Amina's check-up or the 10-minute break after it
    assert _offered(reply) == [
        "Friday 27 November at 9:00",
        "Friday 27 November at 9:15",
        "Friday 27 November at 10:45",
        "Friday 27 November at 11:00",
    ]
    reply = youssef("Friday 27 November at 10:30")  # typed, not offered: its break would overlap too
    assert reply["text"].startswith("That time is already taken.")
    assert _offered(reply) == [
        "Friday 27 November at 10:45",
        "Friday 27 November at 11:00",
        "Friday 27 November at 11:15",
        "Friday 27 November at 11:30",
    ]
    assert youssef("the first")["input_hint"]["type"] == "name"
    youssef("Youssef Alami")
    youssef("0661234568")
    assert youssef("yes")["text"].startswith("Done: your Check-up is booked for Friday 27 November at 10:45.")

    assert _appointments(org) == [
        (_utc("2026-11-27 10:00"), "booked", "Amina Tazi"),
        (_utc("2026-11-27 10:45"), "booked", "Youssef Alami"),
    ]
    by_start = {a["start"]: a for a in org.get("/api/v1/appointments").json()["appointments"]}
    assert by_start[_utc("2026-11-27 10:00")]["conversation_id"] == amina.conversation_id
    assert by_start[_utc("2026-11-27 10:45")]["conversation_id"] == youssef.conversation_id


def test_a_slot_taken_while_the_customer_chooses_is_refused_in_french(client, clinic) -> None:
    org, agent = clinic
    karim = _chat(client, agent)
    reply = karim("Bonjour, je voudrais un rendez-vous vendredi à 10h")
    assert _offered(reply) == [
        "vendredi 27 novembre à 9h30",
        "vendredi 27 novembre à 9h45",
        "vendredi 27 novembre à 10h",
        "vendredi 27 novembre à 10h15",
    ]
    _book_by_phone(org, agent, "2026-11-27 10:00")  # meanwhile the business books 10:00 on the phone

    reply = karim("vendredi 27 novembre à 10h")
    assert reply["text"].startswith("Ce créneau est déjà pris.")
    assert _offered(reply) == [
        "vendredi 27 novembre à 9h",
        "vendredi 27 novembre à 9h15",
        "vendredi 27 novembre à 10h45",
        "vendredi 27 novembre à 11h",
    ]
    karim("2")
    karim("Karim Benali")
    reply = karim("0612345678")
    assert reply["text"] == "Check-up, vendredi 27 novembre à 9h15, au nom de Karim Benali — je réserve ?"

    # before Karim says yes, another customer books 9:00, whose check-up runs into 9:15
    sara = _book(
        _chat(client, agent),
        "Je voudrais un rendez-vous vendredi à 9h",
        "vendredi 27 novembre à 9h",
        "Sara",
        "0661234569",
        "fr",
    )
    assert sara["text"].startswith("C'est réservé")
    reply = karim("oui")
    assert reply["text"].startswith("Désolé, ce créneau vient d'être pris.")
    assert _offered(reply) == [
        "vendredi 27 novembre à 10h45",
        "vendredi 27 novembre à 11h",
        "vendredi 27 novembre à 11h15",
        "vendredi 27 novembre à 11h30",
    ]
    reply = karim("10h45")  # his name and number are kept: straight to the confirmation
    assert reply["text"] == "Check-up, vendredi 27 novembre à 10h45, au nom de Karim Benali — je réserve ?"
    assert karim("oui")["text"] == "C'est réservé : Check-up le vendredi 27 novembre à 10h45. À bientôt !"

    assert _appointments(org) == [
        (_utc("2026-11-27 09:00"), "booked", "Sara"),
        (_utc("2026-11-27 10:00"), "booked", "By phone"),
        (_utc("2026-11-27 10:45"), "booked", "Karim Benali"),
    ]


def test_a_race_lost_in_the_calendar_itself_is_apologised_for(client, clinic, monkeypatch) -> None:
    org, agent = clinic
    say = _chat(client, agent)
    say("I'd like to book an appointment on Friday at 10am")
    say("Friday 27 November at 10:00")
    say("John Smith")
    say("+212 661 234 567")
    _book_by_phone(org, agent, "2026-11-27 10:00")
    real, reads = booking_dialogue._busy, []

    def stale(*args):  # noqa: ANN002, ANN202 - the dialogue read the calendar just before the phone booking
        reads.append(args)
        return [] if len(reads) == 1 else real(*args)

    monkeypatch.setattr(booking_dialogue, "_busy", stale)
    reply = say("yes")
    assert reply["text"].startswith("I'm sorry, that time has just been taken.")
    assert _offered(reply) == [
        "Friday 27 November at 9:00",
        "Friday 27 November at 9:15",
        "Friday 27 November at 10:45",
        "Friday 27 November at 11:00",
    ]
    assert _appointments(org) == [(_utc("2026-11-27 10:00"), "booked", "By phone")]
    assert say("Friday 27 November at 10:45")["input_hint"]["type"] == "choice"
    assert say("yes")["text"] == "Done: your Check-up is booked for Friday 27 November at 10:45. See you soon!"
    assert _appointments(org)[-1] == (_utc("2026-11-27 10:45"), "booked", "John Smith")


# ---- conversations: closed days and hours ------------------------------------------------------------------


def test_closed_days_and_hours_offer_the_nearest_open_times(client, clinic) -> None:
    org, agent = clinic
    say = _chat(client, agent)
    reply = say("I'd like to book an appointment")
    assert reply["input_hint"]["type"] == "date"

    reply = say("Sunday at 10am")
    assert reply["text"].startswith("We're closed that day.")
    assert _offered(reply) == [  # Saturday closes at 13:00: its last check-ups are the nearest
        "Saturday 28 November at 11:30",
        "Saturday 28 November at 11:45",
        "Saturday 28 November at 12:00",
        "Saturday 28 November at 12:15",
    ]
    reply = say("Monday at 9pm")
    assert reply["text"].startswith("We're not open at that time.")
    assert _offered(reply) == [
        "Monday 30 November at 17:30",
        "Monday 30 November at 17:45",
        "Monday 30 November at 18:00",
        "Monday 30 November at 18:15",
    ]
    reply = say("Monday at 1:30pm")  # the lunch break
    assert reply["text"].startswith("We're not open at that time.")
    assert _offered(reply) == [
        "Monday 30 November at 12:15",
        "Monday 30 November at 14:00",
        "Monday 30 November at 14:15",
        "Monday 30 November at 14:30",
    ]
    assert _appointments(org) == []


def test_closed_day_and_hour_in_french_then_a_booking(client, clinic) -> None:
    org, agent = clinic
    say = _chat(client, agent)
    reply = say("Je voudrais prendre rendez-vous samedi à 15h")
    assert reply["language"] == "fr" and reply["text"].startswith("Nous ne sommes pas ouverts à cette heure-là.")
    assert _offered(reply)[-1] == "samedi 28 novembre à 12h15"
    reply = say("dimanche")
    assert reply["text"].startswith("Nous sommes fermés ce jour-là.")
    assert _offered(reply) == [
        "lundi 30 novembre à 9h",
        "lundi 30 novembre à 9h15",
        "lundi 30 novembre à 9h30",
        "lundi 30 novembre à 9h45",
    ]
    reply = say("lundi à 21h")
    assert reply["text"].startswith("Nous ne sommes pas ouverts à cette heure-là.")
    assert "lundi 30 novembre à 18h15" in reply["quick_replies"]
    say("lundi 30 novembre à 18h15")
    say("Leïla Mansouri")
    reply = say("06 61 23 45 67")
    assert reply["text"] == "Check-up, lundi 30 novembre à 18h15, au nom de Leïla Mansouri — je réserve ?"
    assert say("oui")["text"] == "C'est réservé : Check-up le lundi 30 novembre à 18h15. À bientôt !"
    [booked] = org.get("/api/v1/appointments").json()["appointments"]
    assert (booked["start"], booked["end"], booked["phone"], booked["language"]) == (
        _utc("2026-11-30 18:15"),
        _utc("2026-11-30 18:45"),
        "+212661234567",
        "fr",
    )


# ---- conversations: past and ambiguous moments ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "opening", "past", "passed", "clear", "slot"),
    [
        (
            "en",
            "I'd like to book an appointment",
            ["yesterday at 10am", "today at 9am"],
            "That time has already passed.",
            "tomorrow at 3pm",
            "Thursday 26 November at 15:00",
        ),
        (
            "fr",
            "Je voudrais prendre rendez-vous",
            ["hier à 10h", "ce matin à 9h"],
            "Ce moment est déjà passé.",
            "demain à 15h",
            "jeudi 26 novembre à 15h",
        ),
    ],
)
def test_a_moment_in_the_past_is_refused(client, clinic, lang, opening, past, passed, clear, slot) -> None:
    org, agent = clinic
    say = _chat(client, agent)
    assert say(opening)["input_hint"]["type"] == "date"
    for text in past:
        reply = say(text)
        assert reply["language"] == lang and reply["text"].startswith(passed), reply
        first = _offered(reply)[0]  # the first free time: an hour's notice after 10:00 today
        assert first in ("Wednesday 25 November at 11:00", "mercredi 25 novembre à 11h")
    assert _appointments(org) == []
    assert slot in say(clear)["quick_replies"]


def test_a_time_too_soon_today_is_refused(client, clinic) -> None:
    org, agent = clinic
    reply = _chat(client, agent)("Can I book an appointment today at 10:30?")
    assert reply["text"].startswith("That time is too soon to book.")
    assert _offered(reply) == [
        "Wednesday 25 November at 11:00",
        "Wednesday 25 November at 11:15",
        "Wednesday 25 November at 11:30",
        "Wednesday 25 November at 11:45",
    ]
    assert _appointments(org) == []


def test_an_ambiguous_moment_is_asked_about_then_understood(client, clinic) -> None:
    org, agent = clinic
    say = _chat(client, agent)
    say("I'd like to book an appointment")
    for text in ("next week", "at 4"):
        reply = say(text)
        assert reply["text"] == "Which day, and is that morning or afternoon?" and reply["input_hint"]["type"] == "date"
    reply = say("soon")
    assert reply["text"].startswith("Sorry, I didn't catch the day.") and reply["input_hint"]["type"] == "date"
    reply = say("Thursday at 4pm")
    assert "Thursday 26 November at 16:00" in reply["quick_replies"]
    assert say("Thursday 26 November at 16:00")["input_hint"]["type"] == "name"
    assert _appointments(org) == []


def test_an_ambiguous_moment_in_french(client, clinic) -> None:
    org, agent = clinic
    say = _chat(client, agent)
    reply = say("Je voudrais prendre rendez-vous la semaine prochaine")
    assert reply["text"] == "Quel jour et quelle heure vous conviendraient ?" and reply["input_hint"]["type"] == "date"
    for text in ("la semaine prochaine à 10h", "3"):
        reply = say(text)
        assert reply["text"] == "Quel jour, et plutôt le matin ou l'après-midi ?", text
        assert reply["input_hint"]["type"] == "date"
    reply = say("bientôt")
    assert reply["text"].startswith("Pardon, je n'ai pas compris le jour.") and reply["input_hint"]["type"] == "date"
    reply = say("mardi 1er décembre à 10h")
    assert "mardi 1 décembre à 10h" in reply["quick_replies"]
    reply = say("en fait la semaine prochaine")  # at the choice, a vague week asks for the day again
    assert reply["text"] == "Quel jour, et plutôt le matin ou l'après-midi ?"
    assert _appointments(org) == []


def test_a_numeric_date_is_day_first(client, clinic) -> None:
    org, agent = clinic
    say = _chat(client, agent)
    reply = say("Je voudrais un rendez-vous le 03/04")  # 3 April: beyond the 60 days bookable
    assert reply["text"].startswith("Je ne peux réserver qu'à 60 jours maximum.")
    reply = say("le 01/12 à 10h")
    assert _offered(reply)[2] == "mardi 1 décembre à 10h"
    assert _appointments(org) == []


# ---- conversations: moving and cancelling ------------------------------------------------------------------


def test_a_returning_customer_moves_then_cancels_in_french(client, clinic, set_now) -> None:
    org, agent = clinic
    karim = _chat(client, agent)
    _book(
        karim,
        "Je voudrais un rendez-vous vendredi à 10h",
        "vendredi 27 novembre à 10h",
        "Karim Benali",
        "0612345678",
        "fr",
    )

    set_now(NOW + timedelta(days=1))  # Thursday: Karim comes back to the same conversation
    reply = karim("Je voudrais déplacer mon rendez-vous")
    assert reply["text"] == "Quel jour et quelle heure vous conviendraient ?"
    reply = karim("vendredi à 10h15")  # his own check-up does not stand in the way
    assert "vendredi 27 novembre à 10h15" in reply["quick_replies"]
    reply = karim("lundi à 15h")
    assert "lundi 30 novembre à 15h" in reply["quick_replies"]
    reply = karim("lundi 30 novembre à 15h")
    assert reply["text"] == "Je déplace votre rendez-vous au lundi 30 novembre à 15h ?"
    assert karim("oui")["text"] == "C'est fait : votre rendez-vous est déplacé au lundi 30 novembre à 15h."
    assert _appointments(org) == [
        (_utc("2026-11-27 10:00"), "cancelled", "Karim Benali"),
        (_utc("2026-11-30 15:00"), "booked", "Karim Benali"),
    ]
    moved = org.get("/api/v1/appointments", params={"status": "booked"}).json()["appointments"][0]
    assert (moved["service_name"], moved["end"], moved["phone"], moved["language"], moved["conversation_id"]) == (
        "Check-up",
        _utc("2026-11-30 15:30"),
        "+212612345678",
        "fr",
        karim.conversation_id,
    )

    reply = karim("Je voudrais annuler mon rendez-vous")
    assert reply["text"] == "J'annule votre rendez-vous Check-up du lundi 30 novembre à 15h ?"
    assert karim("non")["text"] == "D'accord, je garde votre rendez-vous."
    assert _appointments(org)[-1][1] == "booked"
    karim("Je voudrais annuler mon rendez-vous")
    assert karim("oui")["text"] == "Votre rendez-vous est annulé."
    assert [status for _, status, _ in _appointments(org)] == ["cancelled", "cancelled"]

    # the time is free again for the next customer
    assert "lundi 30 novembre à 15h" in _chat(client, agent)("Je voudrais un rendez-vous lundi à 15h")["quick_replies"]


def test_another_visitor_cannot_cancel_an_appointment(client, clinic) -> None:
    org, agent = clinic
    _book(
        _chat(client, agent),
        "Book me an appointment on Friday at 10am",
        "Friday 27 November at 10:00",
        "Jo",
        "0612345678",
    )
    stranger = _chat(client, agent)
    reply = stranger("I'd like to cancel my appointment")
    assert reply["text"] == "I can't find any upcoming appointment for you."
    assert (
        stranger("Je voudrais annuler mon rendez-vous")["text"] == "Je ne trouve aucun rendez-vous à venir à votre nom."
    )
    assert _appointments(org) == [(_utc("2026-11-27 10:00"), "booked", "Jo")]


def test_with_two_services_a_customer_moves_one_and_cancels_the_other(client, clinic) -> None:
    org, agent = clinic
    cleaning = {"id": "cleaning", "name": "Cleaning", "duration_min": 60, "buffer_min": 0}
    booking = {**BOOKING, "services": [*BOOKING["services"], cleaning]}
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": booking}).status_code == 200
    say = _chat(client, agent)
    _book(
        say, "I'd like to book a cleaning on Friday at 10am", "Friday 27 November at 10:00", "John Smith", "0612345678"
    )
    reply = say("I'd also like to book a check-up on Monday at 9am")
    assert "Monday 30 November at 9:00" in reply["quick_replies"]
    reply = say("Monday 30 November at 9:00")  # name and number known from the first booking
    assert reply["text"] == "Check-up, Monday 30 November at 9:00, for John Smith — shall I book it?"
    say("yes")

    reply = say("I need to reschedule my cleaning appointment")
    assert reply["text"] == "Which appointment is it about?"
    assert reply["quick_replies"] == ["Cleaning — Friday 27 November at 10:00", "Check-up — Monday 30 November at 9:00"]
    assert say("the cleaning")["input_hint"]["type"] == "date"
    reply = say("Saturday at noon")
    assert _offered(reply)[-1] == "Saturday 28 November at 12:00"  # an hour's cleaning ends by 13:00
    reply = say("Saturday 28 November at 12:00")
    assert reply["text"] == "Move your appointment to Saturday 28 November at 12:00?"
    assert say("yes")["text"] == "Done: your appointment is moved to Saturday 28 November at 12:00."

    reply = say("I want to cancel an appointment")
    assert reply["quick_replies"] == [
        "Cleaning — Saturday 28 November at 12:00",
        "Check-up — Monday 30 November at 9:00",
    ]
    reply = say("the one on Monday")
    assert reply["text"] == "Cancel your Check-up on Monday 30 November at 9:00?"
    assert say("yes")["text"] == "Your appointment is cancelled."

    rows = org.get("/api/v1/appointments").json()["appointments"]
    assert [(a["service_name"], a["start"], a["end"], a["status"], a["name"]) for a in rows] == [
        ("Cleaning", _utc("2026-11-27 10:00"), _utc("2026-11-27 11:00"), "cancelled", "John Smith"),
        ("Cleaning", _utc("2026-11-28 12:00"), _utc("2026-11-28 13:00"), "booked", "John Smith"),
        ("Check-up", _utc("2026-11-30 09:00"), _utc("2026-11-30 09:30"), "cancelled", "John Smith"),
    ]
