"""Cancelling and moving an appointment by dialogue: choose which one, then confirm (or pick a new slot)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from jasping.agent.dates import format_slot, parse_when
from jasping.agent.flows import booking as b
from jasping.agent.flows import booking_slots as slots
from jasping.agent.flows.booking_words import _p
from jasping.agent.intents import normalize
from jasping.agent.llm.base import AgentStep


def appointment(flow: b.BookingFlow) -> dict:
    return next(a for a in flow.appointments if str(a["id"]) == str(flow.appointment_id))


def appointment_label(appt: dict, flow: b.BookingFlow, lang: str) -> str:
    slot = format_slot(slots.utc(str(appt["start"])), ZoneInfo(flow.settings.get("tz") or "UTC"), lang)
    return f"{appt.get('service_name') or ''} — {slot}".strip(" —")


def _opened(flow: b.BookingFlow, lang: str) -> tuple[b.BookingFlow, AgentStep]:
    if not flow.appointments:
        flow.step, flow.outcome = "done", "no_appointments"
        return flow, b._step(_p("no_appointments", lang), lang)
    if len(flow.appointments) == 1:
        flow.appointment_id = str(flow.appointments[0]["id"])
        return _chosen(flow, lang)
    flow.step = "choose"
    return flow, b._ask(flow, lang)


def _chosen(flow: b.BookingFlow, lang: str) -> tuple[b.BookingFlow, AgentStep]:
    if flow.mode == "cancel":
        flow.step = "confirm"
        return flow, b._ask(flow, lang)
    appt = appointment(flow)
    services = slots.conf_of(flow).services
    match = next((s for s in services if s.id == appt.get("service_id") or s.name == appt.get("service_name")), None)
    flow.service_id = (match or services[0]).id
    return flow, b._ask_when(flow, lang)


def start_cancel(appointments: list[dict], lang: str, tz: str) -> tuple[b.BookingFlow, AgentStep]:
    """Open a cancellation over the customer's upcoming `appointments` ({"id", "start" ISO UTC, "service_name"})."""
    flow = b.BookingFlow("", {"tz": tz}, mode="cancel", language=lang, appointments=[dict(a) for a in appointments])
    return _opened(flow, lang)


def start_reschedule(
    settings: b.BookingSettings, appointments: list[dict], lang: str
) -> tuple[b.BookingFlow, AgentStep]:
    """Open a rescheduling: choose the appointment, then a new slot (`reschedule_appointment` at the end)."""
    flow = b.BookingFlow(
        "", settings.to_dict(), mode="reschedule", language=lang, appointments=[dict(a) for a in appointments]
    )
    return _opened(flow, lang)


def on_choose(flow, text, lang, now, busy, region):
    labels = [normalize(appointment_label(a, flow, lang)) for a in flow.appointments]
    norm, index = normalize(text), None
    if (m := re.fullmatch(r"\s*(\d)\s*", text)) and 1 <= int(m.group(1)) <= len(labels):
        index = int(m.group(1)) - 1
    elif norm in labels:
        index = labels.index(norm)
    else:
        tz = ZoneInfo(flow.settings.get("tz") or "UTC")
        when = parse_when(text, lang=lang, tz=tz, now=now)
        starts = [slots.utc(str(a["start"])).astimezone(tz) for a in flow.appointments]
        hits = [
            i
            for i, s in enumerate(starts)
            if (when.date is None or s.date() == when.date)
            and (when.time is None or s.time() == when.time)
            and not when.empty
        ]
        hits = hits or [
            i
            for i, a in enumerate(flow.appointments)
            if a.get("service_name") and f" {normalize(a['service_name'])} " in f" {norm} "
        ]
        index = hits[0] if len(hits) == 1 else None
    if index is None:
        return b._other_message(flow, text, lang)
    flow.appointment_id = str(flow.appointments[index]["id"])
    return _chosen(flow, lang)
