"""Booking, cancelling and rescheduling appointments by dialogue (pure state machine, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import jasping  # noqa: F401  (one time-zone source: the tzdata package)
from jasping.agent.flows import booking
from jasping.agent.flows.booking import BookingFlow, BookingSettings, advance, slot_taken, start
from jasping.scheduling import Interval, Service, WeeklyHours

CASA = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=CASA)  # Sunday
DAY = [["09:00", "13:00"], ["14:00", "19:00"]]
HOURS = WeeklyHours.from_dict({d: DAY for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "13:00"]]})
CUT, COLOR = Service("cut", "Coupe", 30), Service("color", "Couleur", 60, buffer_min=15)
TWO = BookingSettings([CUT, COLOR], HOURS, "Africa/Casablanca")
ONE = BookingSettings([CUT], HOURS, "Africa/Casablanca")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=CASA).astimezone(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def say(flow, text, lang="fr", busy=(), now=NOW):
    return advance(flow, text, lang=lang, now=now, busy=list(busy), region="MA")


def test_happy_path_fr_two_services():
    flow, step = start(TWO, "fr", now=NOW, text="Je voudrais un rendez-vous")
    assert flow.step == "service" and step.quick_replies == ["Coupe", "Couleur"] and step.intent == "booking"
    flow, step = say(flow, "Une coupe")
    assert flow.step == "when" and step.input_hint == "date"
    flow, step = say(flow, "mardi prochain à 10h30")
    assert flow.step == "pick" and step.input_hint == "choice"
    assert step.quick_replies[:4] == [
        "mardi 1 décembre à 10h",
        "mardi 1 décembre à 10h15",
        "mardi 1 décembre à 10h30",
        "mardi 1 décembre à 10h45",
    ]
    flow, step = say(flow, "mardi 1 décembre à 10h30")
    assert flow.step == "name" and step.input_hint == "name"
    flow, step = say(flow, "Karim Benali")
    assert flow.step == "phone" and step.input_hint == "phone"
    flow, step = say(flow, "0612345678")
    assert flow.step == "confirm" and "Coupe, mardi 1 décembre à 10h30, au nom de Karim Benali" in step.text
    flow, step = say(flow, "oui")
    assert flow.step == "done" and flow.outcome == "booked"
    call = step.tool_calls[0]
    assert call.name == "book" and call.arguments == {
        "service_id": "cut",
        "start": "2026-12-01T10:30:00Z",
        "end": "2026-12-01T11:00:00Z",
        "name": "Karim Benali",
        "phone": "+212612345678",
        "language": "fr",
    }
    assert say(flow, "merci") == (flow, None)


def test_happy_path_en_service_and_time_in_first_message_known_contact():
    flow, step = start(
        TWO,
        "en",
        now=NOW,
        text="Can I book a couleur tomorrow at 3pm?",
        known={"name": "Jane Doe", "phone": "+33612345678"},
    )
    assert flow.step == "pick" and flow.service_id == "color"
    assert "Monday 30 November at 15:00" in step.quick_replies
    flow, step = say(flow, "3pm", lang="en")
    assert flow.step == "confirm" and step.text.startswith("Couleur, Monday 30 November at 15:00, for Jane Doe")
    flow, step = say(flow, "yes", lang="en")
    args = step.tool_calls[0].arguments
    assert (args["start"], args["end"], args["phone"]) == (
        "2026-11-30T15:00:00Z",
        "2026-11-30T16:00:00Z",
        "+33612345678",
    )


def test_happy_path_ar_single_service():
    flow, step = start(ONE, "ar", now=NOW, text="أريد حجز موعد")
    assert flow.step == "when" and flow.service_id == "cut"
    flow, step = say(flow, "غدا على الساعة الثالثة", lang="ar")
    assert flow.step == "pick" and step.quick_replies[0].startswith("الاثنين 30 نوفمبر")
    flow, step = say(flow, "1", lang="ar")
    flow, step = say(flow, "اسمي محمد", lang="ar")
    flow, step = say(flow, "0661234567", lang="ar")
    assert flow.step == "confirm" and "محمد" in step.text
    flow, step = say(flow, "نعم", lang="ar")
    assert step.tool_calls[0].name == "book" and step.tool_calls[0].arguments["language"] == "ar"
    assert step.tool_calls[0].arguments["start"] == iso(at(2026, 11, 30, 14, 30))  # nearest to 15:00, in order


def test_outside_hours_offers_nearest():
    flow, _ = start(ONE, "fr", now=NOW)
    flow, step = say(flow, "lundi à 13h30")
    assert step.text.startswith("Nous ne sommes pas ouverts à cette heure-là.")
    offered = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in flow.offered]
    assert at(2026, 11, 30, 14, 0) in offered and at(2026, 11, 30, 12, 30) in offered and len(offered) == 4


def test_closed_day_and_full_day():
    flow, _ = start(ONE, "en", now=NOW)
    flow, step = say(flow, "next Sunday", lang="en")
    assert step.text.startswith("We're closed that day.") and flow.offered[0] == "2026-12-07T09:00:00Z"
    busy = [Interval(at(2026, 12, 5, 9), at(2026, 12, 5, 13))]
    flow2, _ = start(ONE, "en", now=NOW)
    flow2, step = say(flow2, "Saturday", lang="en", busy=busy)
    assert step.text.startswith("That day is fully booked.") and flow2.offered[0] == "2026-12-07T09:00:00Z"


def test_day_only_spreads_offers_over_the_day_and_part_of_day():
    flow, _ = start(ONE, "fr", now=NOW)
    flow, step = say(flow, "demain")
    assert flow.offered[0] == "2026-11-30T09:00:00Z" and flow.offered[-1] == "2026-11-30T18:30:00Z"
    flow, _ = start(ONE, "fr", now=NOW)
    flow, step = say(flow, "demain après-midi")
    assert all("2026-11-30T12" <= s < "2026-11-30T18" for s in flow.offered) and len(flow.offered) == 4


def test_past_date_says_so():
    flow, _ = start(ONE, "fr", now=NOW)
    flow, step = say(flow, "hier à 10h")
    assert step.text.startswith("Ce moment est déjà passé.") and flow.offered[0] == "2026-11-30T09:00:00Z"


def test_next_week_asks_which_day_even_at_the_choice():
    flow, step = start(ONE, "fr", now=NOW, text="Je voudrais un rendez-vous la semaine prochaine")
    assert flow.step == "when" and step.input_hint == "date"
    flow, step = say(flow, "la semaine prochaine à 10h")  # not "demain à 10h"
    assert flow.step == "when" and step.text.startswith("Quel jour") and not flow.offered
    flow, _ = say(flow, "mardi à 10h")
    assert flow.step == "pick"
    flow, step = say(flow, "non, plutôt le mois prochain")
    assert flow.step == "when" and step.text.startswith("Quel jour") and step.input_hint == "date"


def test_settings_without_a_notice_keep_an_hour_of_notice():
    data = {k: v for k, v in ONE.to_dict().items() if k != "min_notice_min"}
    assert BookingSettings.from_dict(data).min_notice_min == 60
    assert BookingSettings.from_dict({**data, "min_notice_min": 0}).min_notice_min == 0
    flow, step = start(BookingSettings.from_dict(data), "en", now=at(2026, 11, 30, 10), text="today at 10:30")
    assert step.text.startswith("That time is too soon to book.") and flow.offered[0] == iso(at(2026, 11, 30, 11))
    no_notice = BookingSettings.from_dict({**data, "min_notice_min": 0})
    flow, step = start(no_notice, "en", now=at(2026, 11, 30, 10), text="today at 10:30")
    assert step.text.startswith("Here are") and iso(at(2026, 11, 30, 10, 30)) in flow.offered


def test_ambiguous_asks_again_then_understands():
    flow, _ = start(ONE, "fr", now=NOW)
    flow, step = say(flow, "à 3h")
    assert flow.step == "when" and "matin" in step.text and step.input_hint == "date"
    flow, step = say(flow, "blabla")
    assert flow.step == "when" and step.text.startswith("Pardon")
    flow, step = say(flow, "demain à 15h")
    assert flow.step == "pick"


def test_taken_slot_when_picking_and_race_on_booking():
    flow, _ = start(ONE, "fr", now=NOW, known={"name": "Sara", "phone": "0612345678"}, region="MA")
    flow, _ = say(flow, "mardi prochain à 10h30")
    busy = [Interval(at(2026, 12, 1, 10, 30), at(2026, 12, 1, 11))]
    flow, step = say(flow, "3", busy=busy)
    assert step.text.startswith("Ce créneau est déjà pris.") and "2026-12-01T10:30:00Z" not in flow.offered
    flow, step = say(flow, "mardi 1 décembre à 11h", busy=busy)
    assert flow.step == "confirm" and flow.slot == "2026-12-01T11:00:00Z"
    flow, step = say(flow, "oui", busy=busy)
    assert step.tool_calls[0].name == "book"
    taken = busy + [Interval(at(2026, 12, 1, 11), at(2026, 12, 1, 11, 30))]
    flow, step = slot_taken(flow, "fr", NOW, taken)
    assert flow.step == "pick" and step.text.startswith("Désolé, ce créneau vient d'être pris.")
    assert "2026-12-01T11:00:00Z" not in flow.offered and len(flow.offered) == 4
    flow, step = say(flow, "2", busy=taken)
    assert flow.step == "confirm"


def test_other_times_and_no_at_confirm():
    flow, _ = start(ONE, "en", now=NOW, known={"name": "Jo", "phone": "+212612345678"})
    flow, _ = say(flow, "as soon as possible", lang="en")
    assert flow.offered[0] == "2026-11-30T09:00:00Z"
    first = list(flow.offered)
    flow, _ = say(flow, "Other times", lang="en")
    assert flow.offered[0] > first[-1]
    flow, _ = say(flow, "the first", lang="en")
    flow, step = say(flow, "no", lang="en")
    assert flow.step == "when" and step.text.startswith("No problem")


def test_question_mid_flow_is_not_for_the_flow_and_cancel_abandons():
    flow, _ = start(TWO, "fr", now=NOW)
    assert say(flow, "Quels sont vos tarifs ?") == (flow, None)
    flow, _ = say(flow, "coupe")
    assert say(flow, "Où êtes-vous situés ?") == (flow, None)
    assert booking.reprompt(flow, "fr").text.startswith("Pour reprendre votre réservation :")
    flow, step = say(flow, "laissez tomber")
    assert flow.step == "cancelled" and flow.outcome == "abandoned" and not step.tool_calls


def test_serialisation_round_trip():
    flow, _ = start(TWO, "fr", now=NOW, text="une coupe demain à 10h")
    data = json.loads(json.dumps(flow.to_dict()))
    again = BookingFlow.from_dict(data)
    assert again == flow and again.to_dict() == flow.to_dict()
    assert say(again, "10h")[0].slot == "2026-11-30T10:00:00Z"
    assert BookingSettings.from_dict(TWO.to_dict()) == TWO


def test_cancel_an_appointment():
    appts = [
        {"id": "a1", "start": "2026-12-01T10:30:00Z", "service_name": "Coupe"},
        {"id": "a2", "start": "2026-12-03T15:00:00Z", "service_name": "Couleur"},
    ]
    flow, step = booking.start_cancel(appts, "fr", "Africa/Casablanca")
    assert flow.step == "choose" and step.quick_replies == [
        "Coupe — mardi 1 décembre à 10h30",
        "Couleur — jeudi 3 décembre à 15h",
    ]
    flow, step = say(flow, "celui de jeudi")
    assert flow.step == "confirm" and step.text == "J'annule votre rendez-vous Couleur du jeudi 3 décembre à 15h ?"
    flow, step = say(flow, "oui")
    assert step.tool_calls[0].name == "cancel_appointment" and step.tool_calls[0].arguments == {"appointment_id": "a2"}
    flow, step = booking.start_cancel(appts[:1], "en", "Africa/Casablanca")
    flow, step = say(flow, "no", lang="en")
    assert flow.outcome == "kept" and not step.tool_calls
    flow, step = booking.start_cancel([], "ar", "Africa/Casablanca")
    assert flow.step == "done" and step.text == "لا أجد أي موعد قادم باسمك."


def test_reschedule_an_appointment():
    appts = [{"id": "a1", "start": "2026-12-01T10:30:00Z", "service_name": "Coupe", "service_id": "cut"}]
    busy = [Interval(at(2026, 12, 1, 10, 30), at(2026, 12, 1, 11))]
    flow, step = booking.start_reschedule(TWO, appts, "en")
    assert flow.step == "when" and flow.appointment_id == "a1"
    flow, step = say(flow, "Tuesday at 10:45", lang="en", busy=busy)  # its own slot does not block the move
    assert "Tuesday 1 December at 10:45" in step.quick_replies
    flow, step = say(flow, "Tuesday 1 December at 10:45", lang="en", busy=busy)
    assert flow.step == "confirm" and step.text == "Move your appointment to Tuesday 1 December at 10:45?"
    flow, step = say(flow, "yes", lang="en", busy=busy)
    assert step.tool_calls[0].name == "reschedule_appointment" and step.tool_calls[0].arguments == {
        "appointment_id": "a1",
        "start": "2026-12-01T10:45:00Z",
        "end": "2026-12-01T11:15:00Z",
    }


def test_paris_dst_week():
    paris = BookingSettings([CUT], HOURS, "Europe/Paris")
    flow, step = start(paris, "fr", now=datetime(2027, 3, 27, 10, tzinfo=ZoneInfo("Europe/Paris")), text="lundi à 9h")
    assert flow.offered[0] == "2027-03-29T07:00:00Z" and step.quick_replies[0] == "lundi 29 mars à 9h"
    assert timedelta(0) < datetime(2027, 3, 29, tzinfo=ZoneInfo("Europe/Paris")).utcoffset()
