"""Appointment booking by dialogue: a pure, deterministic state machine for one conversation (no database).

`start(settings, lang, now=…, busy=…, text=…, known=…)` opens a booking; `advance(flow, text, lang=…, now=…,
busy=…, region=…)` consumes one message. The caller passes the calendar's busy intervals (each with its buffer)
every turn. Steps: "service" → "when" → "pick" → "name" → "phone" → "confirm" → "done" (`ToolCall("book", …)`);
`slot_taken` apologises for a slot lost to a race and offers new ones. Cancel and move: `booking_changes`.

As in the lead flow, `advance` returns `(flow, None)` — "not for me" — for a question asked mid-flow (the flow is
unchanged) and once the flow is over. Every step has intent "booking".
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jasping.agent.dates import When, format_slot, parse_when
from jasping.agent.flows import contact_fields as cf
from jasping.agent.flows.booking_slots import conf_of, free, iso, nearest, service_of, spread, utc, within_hours
from jasping.agent.flows.booking_state import BookingFlow, BookingSettings
from jasping.agent.flows.booking_words import _ASAP, _ORDINALS, _OTHER, _PARTS, BOOKING_PHRASES, OFFER, _p
from jasping.agent.intents import detect_intent, normalize
from jasping.agent.llm.base import AgentStep, ToolCall
from jasping.scheduling.availability import Interval, Service

__all__ = ["BOOKING_PHRASES", "BookingFlow", "BookingSettings", "advance", "reprompt", "slot_taken", "start"]
__all__ += ["start_cancel", "start_reschedule"]


def _step(text: str, lang: str, *, hint: str = "text", replies: list[str] | None = None, calls=None) -> AgentStep:
    return AgentStep(
        text, quick_replies=replies or [], input_hint=hint, tool_calls=calls or [], intent="booking", language=lang
    )


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _offer(flow: BookingFlow, slots: list[datetime], lang: str, lead_in: str = "") -> tuple[BookingFlow, AgentStep]:
    """Offer `slots` as quick replies (or say there is none and end the flow)."""
    if not slots:
        flow.step, flow.outcome = "done", "no_slots"
        call = ToolCall("handoff_to_human", {"reason": "no_free_slot"})
        return flow, _step(_join(lead_in, _p("no_slots", lang)), lang, calls=[call])
    tz = ZoneInfo(conf_of(flow).tz)
    flow.step, flow.offered, flow.slot = "pick", [iso(s) for s in slots], None
    replies = [format_slot(s, tz, lang) for s in slots] + [_p("qr_other", lang)]
    return flow, _step(_join(lead_in, _p("offer", lang)), lang, hint="choice", replies=replies)


def _propose(flow: BookingFlow, when: When, lang: str, now: datetime, busy: list[Interval]):
    """Slots for what the customer asked: the exact time when free, else the nearest, saying why."""
    conf, slots = conf_of(flow), free(flow, now, busy)
    tz = ZoneInfo(conf.tz)
    if when.past:
        return _offer(flow, slots[:OFFER], lang, _p("past", lang))
    day = when.date
    if day and day > (now + timedelta(days=conf.horizon_days)).astimezone(tz).date():
        return _offer(flow, slots[:OFFER], lang, _p("too_far", lang, days=conf.horizon_days))
    if when.time and not day:  # the first day that time is free, else the next such moment
        today = now.astimezone(tz).date()
        days = [today + timedelta(days=i) for i in range(conf.horizon_days + 1)]
        stamps = {s.astimezone(tz).replace(tzinfo=None) for s in slots}
        day = next((d for d in days if datetime.combine(d, when.time) in stamps), None)
        if day is None:
            day = next(d for d in days if datetime.combine(d, when.time).replace(tzinfo=tz) > now)
    if day is None and when.part_of_day:
        lo, hi = _PARTS[when.part_of_day]
        first = next((s for s in slots if lo <= s.astimezone(tz).hour < hi), None)
        day = first.astimezone(tz).date() if first else None
    if day is None:
        return _offer(flow, slots[:OFFER], lang)
    closed = conf.hours.periods(day.weekday()) == [] or day.isoformat() in conf.closed_dates
    if when.time:
        target = datetime.combine(day, when.time).replace(tzinfo=tz)
        if target in slots:
            return _offer(flow, nearest(slots, target), lang)
        reason = "closed_day" if closed else "taken" if within_hours(conf, flow, target) else "closed_time"
        if reason == "taken" and target < now + timedelta(minutes=conf.min_notice_min):
            reason = "too_soon"  # free, but inside the notice the business needs
        return _offer(flow, nearest(slots, target), lang, _p(reason, lang))
    lo, hi = _PARTS.get(when.part_of_day or "", (0, 24))
    on_day = [s for s in slots if s.astimezone(tz).date() == day and lo <= s.astimezone(tz).hour < hi]
    if on_day:
        return _offer(flow, spread(on_day), lang)
    target = datetime.combine(day, datetime.min.time()).replace(tzinfo=tz) + timedelta(hours=lo)
    later = [s for s in slots if s >= target] or slots
    return _offer(flow, later[:OFFER], lang, _p("closed_day" if closed else "full_day", lang))


def _ask_when(flow: BookingFlow, lang: str, lead_in: str = "") -> AgentStep:
    flow.step = "when"
    replies = [_p("qr_tomorrow_am", lang), _p("qr_tomorrow_pm", lang), _p("qr_asap", lang)]
    return _step(_join(lead_in, _p("ask_when", lang)), lang, hint="date", replies=replies)


def _ask(flow: BookingFlow, lang: str, lead_in: str = "") -> AgentStep:
    """The question for the flow's current step."""
    step = flow.step
    if step == "service":
        names = [s.name for s in conf_of(flow).services]
        return _step(_join(lead_in, _p("ask_service", lang)), lang, hint="choice", replies=names)
    if step == "when":
        return _ask_when(flow, lang, lead_in)
    if step == "pick":
        tz = ZoneInfo(conf_of(flow).tz)
        replies = [format_slot(utc(s), tz, lang) for s in flow.offered] + [_p("qr_other", lang)]
        return _step(_join(lead_in, _p("pick_one", lang)), lang, hint="choice", replies=replies)
    if step in ("name", "phone"):
        return _step(_join(lead_in, _p(f"ask_{step}", lang)), lang, hint=step)
    if step == "choose":
        replies = [_changes.appointment_label(a, flow, lang) for a in flow.appointments]
        return _step(_join(lead_in, _p("choose_appointment", lang)), lang, hint="choice", replies=replies)
    yes_no = [_p("qr_yes", lang), _p("qr_no", lang)]
    return _step(_join(lead_in, _read_back(flow, lang)), lang, hint="choice", replies=yes_no)


def _read_back(flow: BookingFlow, lang: str) -> str:
    tz = ZoneInfo(flow.settings.get("tz") or "UTC")
    if flow.mode == "cancel":
        appt = _changes.appointment(flow)
        return _p(
            "confirm_cancel",
            lang,
            service=appt.get("service_name", ""),
            slot=format_slot(utc(str(appt["start"])), tz, lang),
        )
    slot = format_slot(utc(flow.slot or ""), tz, lang)
    if flow.mode == "reschedule":
        return _p("confirm_move", lang, slot=slot)
    return _p("confirm", lang, service=service_of(flow).name, slot=slot, name=flow.values.get("name", ""))


def _next_detail(flow: BookingFlow) -> str:
    if flow.mode == "reschedule":
        return "confirm"
    return next((f for f in ("name", "phone") if not flow.values.get(f)), "confirm")


def _match_service(services: list[Service], text: str) -> Service | None:
    """The service named in `text`: its whole name, or one of the names it gives ("Détartrage / Scaling")."""
    norm = f" {normalize(text)} "
    for s in services:
        if f" {normalize(s.name)} " in norm:
            return s
    for s in services:
        names = [normalize(n) for n in re.split(r"\s*[/|]\s*|\s*\(|\)", s.name) if n.strip()]
        if any(len(n) >= 3 and f" {n} " in norm for n in names):
            return s
    if (m := re.fullmatch(r"\s*(\d{1,2})\s*", text or "")) and 1 <= int(m.group(1)) <= len(services):
        return services[int(m.group(1)) - 1]
    return None


def start(
    settings: BookingSettings,
    lang: str,
    *,
    now: datetime,
    busy: list[Interval] = (),
    text: str = "",
    known: dict | None = None,
    region: str | None = None,
) -> tuple[BookingFlow, AgentStep]:
    """Open a booking; the triggering `text` may already name the service and the moment, `known` the contact."""
    flow = BookingFlow("", settings.to_dict(), language=lang)
    known = known or {}
    if name := " ".join(str(known.get("name") or "").split()):
        flow.values["name"] = name
    if known.get("phone") and (phone := cf.parse_phone(str(known["phone"]), region)):
        flow.values["phone"] = phone
    found = _match_service(settings.services, text) if text else None
    if len(settings.services) == 1 or found:
        flow.service_id = (found or settings.services[0]).id
        when = parse_when(text, lang=lang, tz=ZoneInfo(settings.tz), now=now)
        if not when.empty and not when.ambiguous:
            return _propose(flow, when, lang, now, list(busy))
        return flow, _ask_when(flow, lang)
    flow.step = "service"
    return flow, _ask(flow, lang)


def reprompt(flow: BookingFlow, lang: str) -> AgentStep:
    """The pending question again, for the turn loop to append after answering a question asked mid-flow."""
    return _ask(flow, lang, _p("resume", lang))


def _abandon(flow: BookingFlow, lang: str) -> tuple[BookingFlow, AgentStep]:
    flow.step, flow.outcome = "cancelled", "abandoned"
    return flow, _step(_p("abandoned", lang), lang)


def advance(
    flow: BookingFlow, text: str, *, lang: str, now: datetime, busy: list[Interval] = (), region: str | None = None
) -> tuple[BookingFlow, AgentStep | None]:
    """One customer message: a new flow and the next step, or `(flow, None)` when the message is not for the flow."""
    if flow.step in ("done", "cancelled", ""):
        return flow, None
    new, text, busy = BookingFlow.from_dict(flow.to_dict()), text or "", list(busy)
    new.language = lang
    if new.mode != "cancel" and len(normalize(text).split()) <= 8 and cf.has_phrase(text, cf.CANCEL) is not None:
        return _abandon(new, lang)
    handler = {
        "service": _on_service,
        "when": _on_when,
        "pick": _on_pick,
        "name": _on_detail,
        "phone": _on_detail,
        "confirm": _on_confirm,
        "choose": _changes.on_choose,
    }[new.step]
    out = handler(new, text, lang, now, busy, region)
    return (flow, None) if out is None else out


def _other_message(flow: BookingFlow, text: str, lang: str, lead_in: str = ""):
    """A message the step cannot use: None for a question, else the question again."""
    if cf.reads_as_question(text, lang):
        return None
    if detect_intent(text, lang) in ("greeting", "thanks", "booking"):
        return flow, _ask(flow, lang)
    return flow, _ask(flow, lang, lead_in)


def _on_service(flow, text, lang, now, busy, region):
    services = conf_of(flow).services
    found = _match_service(services, text)
    if not found:
        return _other_message(flow, text, lang)
    flow.service_id = found.id
    return _on_when(flow, text, lang, now, busy, region, quiet=True)


def _on_when(flow, text, lang, now, busy, region, *, quiet: bool = False):
    if cf.has_phrase(text, _ASAP) is not None:
        return _offer(flow, free(flow, now, busy)[:OFFER], lang)
    when = parse_when(text, lang=lang, tz=ZoneInfo(conf_of(flow).tz), now=now)
    if when.ambiguous:
        step = _ask_when(flow, lang)
        step.text = _p("which_day", lang)
        return flow, step
    if when.empty:
        return (flow, _ask_when(flow, lang)) if quiet else _other_message(flow, text, lang, _p("not_understood", lang))
    return _propose(flow, when, lang, now, busy)


def _choice(flow: BookingFlow, text: str, lang: str) -> int | None:
    """The index of the offered slot the customer picked ("2", "le premier", the quick reply, "10h30")."""
    if (m := re.fullmatch(r"\s*(?:n°|no\.?|#)?\s*(\d)\s*[.)]?\s*", text)) and 1 <= int(m.group(1)) <= len(flow.offered):
        return int(m.group(1)) - 1
    norm = normalize(text)
    tz = ZoneInfo(conf_of(flow).tz)
    slots = [utc(s) for s in flow.offered]
    for i, slot in enumerate(slots):
        if normalize(format_slot(slot, tz, lang)) == norm:
            return i
    for i, words in enumerate(_ORDINALS[: len(slots)]):
        if len(norm.split()) <= 4 and cf.has_phrase(text, words) is not None:
            return len(slots) - 1 if i == 3 else i
    return None


def _on_pick(flow, text, lang, now, busy, region):
    index = _choice(flow, text, lang)
    tz = ZoneInfo(conf_of(flow).tz)
    if index is None:
        when = parse_when(text, lang=lang, tz=tz, now=now)
        offered = [utc(s) for s in flow.offered]
        if when.time:
            same = [
                s
                for s in offered
                if s.astimezone(tz).time() == when.time and (when.date is None or s.astimezone(tz).date() == when.date)
            ]
            if len(same) == 1:
                index = offered.index(same[0])
            elif not when.date and offered:  # "à 11h": that time on the day being discussed
                when = When(offered[0].astimezone(tz).date(), when.time, when.part_of_day)
        if index is None and (not when.empty or when.ambiguous):  # "next week": which day, then
            return (
                _propose(flow, when, lang, now, busy)
                if not when.ambiguous
                else _on_when(flow, text, lang, now, busy, region)
            )
        if index is None and cf.has_phrase(text, _OTHER) is not None and offered:
            later = [s for s in free(flow, now, busy) if s > offered[-1]]
            return _offer(flow, later[:OFFER], lang)
        if index is None:
            return _other_message(flow, text, lang)
    chosen = utc(flow.offered[index])
    if chosen not in free(flow, now, busy):
        return _offer(flow, nearest(free(flow, now, busy), chosen), lang, _p("taken", lang))
    flow.slot, flow.step = flow.offered[index], _next_detail(flow)
    return flow, _ask(flow, lang)


def _on_detail(flow, text, lang, now, busy, region):
    step = flow.step
    phone = cf.parse_phone(text, region)
    name = cf.parse_name(cf.strip_contacts(text, region), lang, asked=step == "name")
    if phone and not flow.values.get("phone") or (phone and step == "phone"):
        flow.values["phone"] = phone
    if name and (step == "name" or not flow.values.get("name")):
        flow.values["name"] = name
    if flow.values.get(step):
        flow.attempts.pop(step, None)
        flow.step = _next_detail(flow)
        return flow, _ask(flow, lang)
    if cf.reads_as_question(text, lang):
        return None
    flow.attempts[step] = flow.attempts.get(step, 0) + 1
    return flow, _step(_p(f"bad_{step}", lang), lang, hint=step)


def _booking_call(flow: BookingFlow) -> ToolCall:
    start_at = utc(flow.slot or "")
    end = iso(start_at + timedelta(minutes=service_of(flow).duration_min))
    if flow.mode == "reschedule":
        return ToolCall(
            "reschedule_appointment", {"appointment_id": flow.appointment_id, "start": flow.slot, "end": end}
        )
    return ToolCall(
        "book",
        {
            "service_id": service_of(flow).id,
            "start": flow.slot,
            "end": end,
            "name": flow.values.get("name"),
            "phone": flow.values.get("phone"),
            "language": flow.language,
        },
    )


def _on_confirm(flow, text, lang, now, busy, region):
    answer = cf.parse_yes_no(text, lang)
    if answer is None:
        if (
            flow.mode != "cancel"
            and not (when := parse_when(text, lang=lang, tz=ZoneInfo(conf_of(flow).tz), now=now)).empty
            and not when.ambiguous
        ):
            return _propose(flow, when, lang, now, busy)
        return _other_message(flow, text, lang, _p("yes_or_no", lang))
    if flow.mode == "cancel":
        flow.step, flow.outcome = "done", "cancelled_appointment" if answer else "kept"
        if not answer:
            return flow, _step(_p("kept", lang), lang)
        call = ToolCall("cancel_appointment", {"appointment_id": flow.appointment_id})
        return flow, _step(_p("cancelled_appointment", lang), lang, calls=[call])
    if not answer:
        return flow, _ask_when(flow, lang, _p("other_time", lang))
    slot = utc(flow.slot or "")
    if slot not in free(flow, now, busy):
        return slot_taken(flow, lang, now, busy)
    flow.step, flow.outcome = "done", "rescheduled" if flow.mode == "reschedule" else "booked"
    spoken = format_slot(slot, ZoneInfo(conf_of(flow).tz), lang)
    text = (
        _p("moved", lang, slot=spoken)
        if flow.mode == "reschedule"
        else _p("booked", lang, service=service_of(flow).name, slot=spoken)
    )
    return flow, _step(text, lang, calls=[_booking_call(flow)])


def slot_taken(flow: BookingFlow, lang: str, now: datetime, busy: list[Interval]) -> tuple[BookingFlow, AgentStep]:
    """The chosen slot was taken meanwhile (a race on booking): apologise and offer the nearest free slots."""
    new = BookingFlow.from_dict(flow.to_dict())
    target = utc(new.slot) if new.slot else now
    new.outcome, new.language = None, lang
    slots = [s for s in free(new, now, list(busy)) if iso(s) != new.slot]
    return _offer(new, nearest(slots, target), lang, _p("race", lang))


# ---- cancelling and rescheduling ---------------------------------------------------------------------------


def start_cancel(appointments: list[dict], lang: str, tz: str) -> tuple[BookingFlow, AgentStep]:
    """Open a cancellation over the customer's upcoming `appointments` ({"id", "start" ISO UTC, "service_name"})."""
    return _changes.start_cancel(appointments, lang, tz)


def start_reschedule(settings: BookingSettings, appointments: list[dict], lang: str) -> tuple[BookingFlow, AgentStep]:
    """Open a rescheduling: choose the appointment, then a new slot (`reschedule_appointment` at the end)."""
    return _changes.start_reschedule(settings, appointments, lang)


# Cancelling and moving an appointment live in their own module; it uses this one's steps, so it is bound last
# and its functions are looked up when called.
from jasping.agent.flows import booking_changes as _changes  # noqa: E402
