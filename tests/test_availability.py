"""Free slots from weekly hours, busy intervals, buffers, notice, closed dates and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import jasping  # noqa: F401  (one time-zone source: the tzdata package)
from jasping.scheduling import Interval, Service, WeeklyHours, free_slots, is_open, next_opening, overlaps

CASA = ZoneInfo("Africa/Casablanca")
PARIS = ZoneInfo("Europe/Paris")
WEEKDAY = [["09:00", "13:00"], ["14:00", "19:00"]]
HOURS = WeeklyHours.from_dict({d: WEEKDAY for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "13:00"]]})
CUT = Service("cut", "Coupe", 30)
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=CASA)  # a Sunday


def local(*args, tz=CASA) -> datetime:
    return datetime(*args, tzinfo=tz)


def slots_on(day: date, service=CUT, busy=(), now=NOW, tz=CASA, hours=HOURS, **kw) -> list[datetime]:
    start = datetime.combine(day, datetime.min.time()).replace(tzinfo=tz)
    return free_slots(
        hours=hours, tz=tz, service=service, busy=list(busy), start=start, end=start + timedelta(days=1), now=now, **kw
    )


def test_casablanca_is_utc_in_november_2026_with_tzdata():
    assert local(2026, 11, 30, 9).utcoffset() == timedelta(0)


def test_opening_hours_and_lunch_break():
    slots = slots_on(date(2026, 11, 30))
    assert slots[0] == local(2026, 11, 30, 9) and slots[0].tzinfo == UTC
    assert local(2026, 11, 30, 12, 30) in slots and local(2026, 11, 30, 12, 45) not in slots  # 12:45 + 30 > 13:00
    assert local(2026, 11, 30, 13, 0) not in slots and local(2026, 11, 30, 14, 0) in slots
    assert slots[-1] == local(2026, 11, 30, 18, 30)
    assert len(slots) == 15 + 19


def test_sunday_closed_and_saturday_morning_only():
    assert slots_on(date(2026, 12, 6)) == []
    saturday = slots_on(date(2026, 12, 5))
    assert saturday[0] == local(2026, 12, 5, 9) and saturday[-1] == local(2026, 12, 5, 12, 30)


def test_buffer_and_busy_overlap():
    busy = [Interval(local(2026, 11, 30, 10), local(2026, 11, 30, 10, 45))]  # a 30-minute visit + 15 buffer
    with_buffer = Service("color", "Couleur", 30, buffer_min=15)
    slots = slots_on(date(2026, 11, 30), service=with_buffer, busy=busy)
    assert local(2026, 11, 30, 9, 15) in slots  # 09:15 + 45 = 10:00, touching is fine
    assert local(2026, 11, 30, 9, 30) not in slots and local(2026, 11, 30, 10, 30) not in slots
    assert local(2026, 11, 30, 10, 45) in slots
    assert local(2026, 11, 30, 12, 15) in slots and local(2026, 11, 30, 12, 30) not in slots  # buffer inside hours


def test_min_notice_and_window_start():
    now = local(2026, 11, 30, 10, 5)
    slots = slots_on(date(2026, 11, 30), now=now)
    assert slots[0] == local(2026, 11, 30, 11, 15)
    assert slots_on(date(2026, 11, 30), now=now, min_notice_min=0)[0] == local(2026, 11, 30, 10, 15)


def test_closed_dates_and_step():
    assert slots_on(date(2026, 11, 30), closed_dates={date(2026, 11, 30)}) == []
    hourly = slots_on(date(2026, 11, 30), step_min=60)
    assert [s.astimezone(CASA).hour for s in hourly] == [9, 10, 11, 12, 14, 15, 16, 17, 18]


def test_dst_week_in_paris_keeps_local_opening():
    now = local(2027, 3, 26, 8, tz=PARIS)
    friday, monday = slots_on(date(2027, 3, 26), now=now, tz=PARIS), slots_on(date(2027, 3, 29), now=now, tz=PARIS)
    assert friday[0] == datetime(2027, 3, 26, 8, tzinfo=UTC)  # 09:00 CET
    assert monday[0] == datetime(2027, 3, 29, 7, tzinfo=UTC)  # 09:00 CEST
    assert monday[0].astimezone(PARIS).hour == 9 and len(friday) == len(monday)


def test_period_through_skipped_hour():
    night = WeeklyHours.from_dict({"sun": [["01:00", "04:00"]]})
    slots = slots_on(date(2027, 3, 28), hours=night, tz=PARIS, now=local(2027, 3, 27, tz=PARIS), step_min=30)
    assert [s.astimezone(PARIS).strftime("%H:%M") for s in slots] == ["01:00", "01:30", "03:00", "03:30"]
    assert all(s.tzinfo == UTC for s in slots)


def test_is_open_next_opening_overlaps():
    assert is_open(HOURS, CASA, local(2026, 11, 30, 9)) and not is_open(HOURS, CASA, local(2026, 11, 30, 13, 30))
    assert not is_open(HOURS, CASA, NOW)
    assert next_opening(HOURS, CASA, NOW) == local(2026, 11, 30, 9)
    assert next_opening(HOURS, CASA, local(2026, 11, 30, 12)) == local(2026, 11, 30, 14)
    assert next_opening(WeeklyHours(), CASA, NOW) is None
    a = Interval(local(2026, 11, 30, 9), local(2026, 11, 30, 10))
    assert overlaps(a, Interval(local(2026, 11, 30, 9, 59), local(2026, 11, 30, 11)))
    assert not overlaps(a, Interval(local(2026, 11, 30, 10), local(2026, 11, 30, 11)))


def test_weekly_hours_round_trip_and_validation():
    data = HOURS.to_dict()
    assert data["mon"] == WEEKDAY and data["sun"] == [] and data["sat"] == [["09:00", "13:00"]]
    assert WeeklyHours.from_dict(data).to_dict() == data
    assert WeeklyHours.from_dict({"0": [["9:00", "12:00"]]}).to_dict()["mon"] == [["09:00", "12:00"]]


def test_sixty_days_of_a_busy_calendar():  # its speed: bench/, not a timed assertion
    busy = [
        Interval(
            local(2026, 12, 1, 9) + timedelta(days=d, hours=h), local(2026, 12, 1, 9, 30) + timedelta(days=d, hours=h)
        )
        for d in range(60)
        for h in (0, 2, 5)
    ]
    slots = free_slots(hours=HOURS, tz=CASA, service=CUT, busy=busy, start=NOW, end=NOW + timedelta(days=60), now=NOW)
    assert len(slots) > 1000 and not any(
        overlaps(Interval(s, s + timedelta(minutes=30)), b) for s in slots[:200] for b in busy
    )
