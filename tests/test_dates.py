"""Days and times in customers' messages (FR/EN/AR), and slots read back to them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

import jasping  # noqa: F401  (one time-zone source: the tzdata package)
from jasping.agent.dates import When, format_slot, parse_when

CASA = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=CASA)  # Sunday
MON, TUE = date(2026, 11, 30), date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "lang", "day", "at", "part"),
    [
        ("mardi prochain à 10h30", "fr", TUE, time(10, 30), None),
        ("Mardi à 10h30", "fr", TUE, time(10, 30), None),
        ("next Tuesday at 3pm", "en", TUE, time(15), None),
        ("I am free on Friday at 11am", "en", date(2026, 12, 4), time(11), None),
        ("الثلاثاء القادم", "ar", TUE, None, None),
        ("يوم الخميس صباحا", "ar", date(2026, 12, 3), None, "morning"),
        ("demain", "fr", MON, None, None),
        ("après-demain", "fr", TUE, None, None),
        ("tomorrow", "en", MON, None, None),
        ("the day after tomorrow", "en", TUE, None, None),
        ("غدا", "ar", MON, None, None),
        ("غداً", "ar", MON, None, None),
        ("بعد غد", "ar", TUE, None, None),
        ("ce soir", "fr", date(2026, 11, 29), None, "evening"),
        ("lundi matin", "fr", MON, None, "morning"),
        ("in the afternoon", "en", None, None, "afternoon"),
        ("10h", "fr", None, time(10), None),
        ("10h30", "fr", None, time(10, 30), None),
        ("10:30", "en", None, time(10, 30), None),
        ("3pm", "en", None, time(15), None),
        ("15 h", "fr", None, time(15), None),
        ("à midi", "fr", None, time(12), None),
        ("at noon", "en", None, time(12), None),
        ("3 de l'après-midi", "fr", None, time(15), "afternoon"),
        ("tomorrow at 10:30 am", "en", MON, time(10, 30), None),
        ("demain à 15h", "fr", MON, time(15), None),
        ("غدا الساعة 3", "ar", MON, time(15), None),
        ("غدا على الساعة الثالثة", "ar", MON, time(15), None),
        ("الثلاثاء القادم الساعة الثالثة والنصف", "ar", TUE, time(15, 30), None),
        ("غدا الساعة العاشرة والربع", "ar", MON, time(10, 15), None),
        ("غدا الساعة ١٠", "ar", MON, time(10), None),
        ("الساعة 10 صباحا", "ar", None, time(10), "morning"),
        ("le 12 décembre", "fr", date(2026, 12, 12), None, None),
        ("jeudi 3 décembre à 14h", "fr", date(2026, 12, 3), time(14), None),
        ("12/12", "fr", date(2026, 12, 12), None, None),
        ("December 12", "en", date(2026, 12, 12), None, None),
        ("12 ديسمبر", "ar", date(2026, 12, 12), None, None),
        ("le 12 à 15h", "fr", date(2026, 12, 12), time(15), None),
        ("le 3 janvier", "fr", date(2027, 1, 3), None, None),
        ("dans 3 jours", "fr", date(2026, 12, 2), None, None),
    ],
)
def test_parse_when(text, lang, day, at, part):
    when = parse_when(text, lang=lang, tz=CASA, now=NOW)
    assert (when.date, when.time, when.part_of_day) == (day, at, part)
    assert not when.past and not when.ambiguous


@pytest.mark.parametrize("text", ["Je", "Je voudrais un rendez-vous", "bonjour", "oui", "merci beaucoup", "ok", ""])
def test_no_moment_in_plain_words(text):
    assert parse_when(text, lang="fr", tz=CASA, now=NOW) == When()
    assert When().empty


@pytest.mark.parametrize(("text", "lang"), [("à 3h", "fr"), ("3", "fr"), ("at 4", "en"), ("الثالثة والنصف", "ar")])
def test_ambiguous(text, lang):
    when = parse_when(text, lang=lang, tz=CASA, now=NOW)
    assert when.ambiguous and when.date is None and when.time is not None


def test_hour_with_a_day_is_not_ambiguous():
    assert not parse_when("demain à 3h", lang="fr", tz=CASA, now=NOW).ambiguous
    assert parse_when("demain à 9h", lang="fr", tz=CASA, now=NOW).time == time(9)


@pytest.mark.parametrize(
    ("text", "lang", "at"),
    [
        ("next week", "en", None),
        ("la semaine prochaine", "fr", None),
        ("la semaine prochaine à 10h", "fr", time(10)),
        ("cette semaine", "fr", None),
        ("le mois prochain", "fr", None),
        ("الأسبوع القادم", "ar", None),
    ],
)
def test_a_week_or_a_month_is_not_a_day(text, lang, at):
    """Not today + 7 (a Sunday, closed) nor, with an hour, the next free day at that hour: which day is asked."""
    when = parse_when(text, lang=lang, tz=CASA, now=NOW)
    assert when.ambiguous and when.date is None and when.time == at and not when.past


def test_a_day_of_next_week_and_a_number_of_weeks_are_days():
    assert parse_when("mardi de la semaine prochaine", lang="fr", tz=CASA, now=NOW) == When(TUE)
    assert parse_when("next week on Tuesday", lang="en", tz=CASA, now=NOW) == When(TUE)
    assert parse_when("dans une semaine", lang="fr", tz=CASA, now=NOW) == When(date(2026, 12, 6))
    assert parse_when("in two weeks", lang="en", tz=CASA, now=NOW) == When(date(2026, 12, 13))


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hier", "fr"),
        ("yesterday at 3pm", "en"),
        ("aujourd'hui à 8h", "fr"),
        ("امس", "ar"),
        ("12/11/2026", "fr"),
        ("today at 9:30", "en"),
    ],
)
def test_past(text, lang):
    assert parse_when(text, lang=lang, tz=CASA, now=NOW).past


def test_today_later_is_not_past_and_resolves_in_the_business_zone():
    when = parse_when("aujourd'hui à 17h", lang="fr", tz=CASA, now=datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    assert when == When(date(2026, 11, 29), time(17), None, False, False)
    late = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # already Monday in Paris
    assert parse_when("demain", lang="fr", tz=ZoneInfo("Europe/Paris"), now=late).date == date(2026, 12, 1)


def test_format_slot():
    slot = datetime(2026, 12, 1, 10, 30, tzinfo=CASA).astimezone(UTC)
    assert format_slot(slot, CASA, "fr") == "mardi 1 décembre à 10h30"
    assert format_slot(slot, CASA, "en") == "Tuesday 1 December at 10:30"
    assert format_slot(slot, CASA, "ar") == "الثلاثاء 1 ديسمبر على الساعة 10:30"
    assert format_slot(datetime(2026, 12, 1, 9, tzinfo=UTC), CASA, "fr-MA") == "mardi 1 décembre à 9h"
    paris = datetime(2027, 3, 29, 7, tzinfo=UTC)
    assert format_slot(paris, ZoneInfo("Europe/Paris"), "de") == "Monday 29 March at 9:00"


@pytest.mark.parametrize(
    ("text", "day", "at", "part"),
    [
        ("ghda m3a 10 sba7", MON, time(10), "morning"),
        ("nhar ssebt jay m3a 11", date(2026, 12, 5), time(11), None),
        ("larb3a jaya f l3chiya", date(2026, 12, 2), None, "afternoon"),
        ("had lkhmis m3a 3", date(2026, 12, 3), time(15), None),
        ("ba3d ghda m3a 10h", TUE, time(10), None),
        ("Bghit rendez-vous ljem3a m3a 9", date(2026, 12, 4), time(9), None),
        ("tnin jay 10h30", MON, time(10, 30), None),
        ("l7ed", date(2026, 12, 6), None, None),
    ],
)
def test_darija_in_latin_script(text, day, at, part) -> None:
    when = parse_when(text, lang="fr", tz=CASA, now=NOW)
    assert (when.date, when.time, when.part_of_day) == (day, at, part)
    assert not when.ambiguous and not when.past


def test_had_alone_is_not_sunday() -> None:
    assert parse_when("had chi", lang="fr", tz=CASA, now=NOW).empty
