"""Google Calendar as a calendar provider: a `google` integration connected with the `calendar` use.

Busy times come from freebusy.query (the `calendar.events.freebusy` scope: times only, no event details), so they
name no event; `calendars.external_busy` cuts JasPing's own events out of them by their times. Bookings are written
by the sync job (`jasping.scheduling.sync`) with events.insert (the event id derived from the appointment's uid, so
a retried insert finds its event), moved with events.patch and cancelled with events.delete. Google's failures
become `CalendarUnavailable`: the booking stays, the write is retried. Disconnecting the account detaches its
appointments (they stay in JasPing).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from jasping.integrations import google_calendar, google_oauth
from jasping.integrations.calendars import BusyTime, CalendarUnavailable, EventSpec, forget, register_provider
from jasping.integrations.google_api import GoogleApiError
from jasping.integrations.models import Integration


def uses_calendar(integration: Integration) -> bool:
    """A Google account is a calendar only when it was connected with the `calendar` use."""
    return "calendar" in ((integration.settings or {}).get("uses") or [])


class GoogleCalendar:
    """The calendar `calendar_id` (default `primary`) of a connected Google account."""

    def __init__(self, integration: Integration, tz: str = "UTC"):
        self.integration, self.tz = integration, tz

    def _call(self, what: str, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if not uses_calendar(self.integration):
            raise CalendarUnavailable("this Google account is no longer connected for the calendar")
        try:
            return fn(self.integration, *args, **kwargs)
        except GoogleApiError as exc:
            raise CalendarUnavailable(f"{what}: {exc.message}") from exc

    def busy(self, start: datetime, end: datetime) -> list[BusyTime]:
        spans = self._call("reading busy times", google_calendar.free_busy, start, end)
        return [BusyTime(s, e) for s, e in spans if s < end and e > start]

    def create_event(self, event: EventSpec) -> str:
        return self._call(
            "creating the event",
            google_calendar.insert_event,
            uid=event.uid,
            start=event.start,
            end=event.end,
            tz=event.tz,
            summary=event.summary,
            description=event.description,
        )

    def update_event(self, ref: str, event: EventSpec) -> str:
        try:
            return self._call(
                "moving the event",
                google_calendar.move_event,
                ref,
                start=event.start,
                end=event.end,
                tz=event.tz,
                summary=event.summary,
                description=event.description,
            )
        except CalendarUnavailable as exc:
            if getattr(exc.__cause__, "status", None) not in (404, 410):
                raise
        return self.create_event(event)  # deleted there meanwhile: written again

    def cancel_event(self, ref: str) -> None:
        self._call("deleting the event", google_calendar.delete_event, ref)


def detach_appointments(session: Session, integration: Integration) -> None:
    """Disconnect hook: stop syncing; appointments not yet written there stay in JasPing only."""
    from jasping.scheduling.models import Appointment

    session.execute(
        update(Appointment)
        .where(Appointment.calendar_id == integration.id)
        .values(calendar_id=None, sync_state=None, sync_error=None)
    )
    forget(integration.id)


register_provider("google", GoogleCalendar, accepts=uses_calendar)
if detach_appointments not in google_oauth.disconnect_hooks:
    google_oauth.disconnect_hooks.append(detach_appointments)
