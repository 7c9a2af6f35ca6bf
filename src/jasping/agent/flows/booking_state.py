"""The booking dialogue's state and settings: plain dataclasses that round-trip through JSON."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

from jasping.scheduling.availability import Service, WeeklyHours


@dataclass
class BookingSettings:
    """What a business books: its services, weekly hours and time zone, slot step, notice and horizon."""

    services: list[Service]
    hours: WeeklyHours
    tz: str
    step_min: int = 15
    min_notice_min: int = 60
    horizon_days: int = 60
    closed_dates: list[str] = field(default_factory=list)  # ISO dates (holidays)

    def to_dict(self) -> dict:
        """A JSON-able copy."""
        return {
            "services": [s.to_dict() for s in self.services],
            "hours": self.hours.to_dict(),
            "tz": self.tz,
            "step_min": self.step_min,
            "min_notice_min": self.min_notice_min,
            "horizon_days": self.horizon_days,
            "closed_dates": list(self.closed_dates),
        }

    @classmethod
    def from_dict(cls, data: dict) -> BookingSettings:
        """Settings saved by `to_dict()`."""
        notice = data.get("min_notice_min")
        return cls(
            [Service.from_dict(s) for s in data.get("services") or []],
            WeeklyHours.from_dict(data.get("hours")),
            str(data.get("tz") or "UTC"),
            int(data.get("step_min") or 15),
            int(notice) if notice not in (None, "") else 60,  # absent: the default notice; 0 is a choice
            int(data.get("horizon_days") or 60),
            list(data.get("closed_dates") or []),
        )


@dataclass
class BookingFlow:
    """The state of one booking, cancellation or rescheduling; `to_dict()` / `from_dict()` round-trip through JSON."""

    step: str
    settings: dict
    mode: str = "book"  # "book" | "cancel" | "reschedule"
    language: str = "en"
    service_id: str | None = None
    offered: list[str] = field(default_factory=list)  # ISO UTC slot starts, in the order shown
    slot: str | None = None
    values: dict[str, str] = field(default_factory=dict)  # name, phone (E.164)
    appointments: list[dict] = field(default_factory=list)  # {"id", "start", "service_name", ...}
    appointment_id: str | None = None
    attempts: dict[str, int] = field(default_factory=dict)
    outcome: str | None = None  # "booked" | "rescheduled" | "cancelled_appointment" | "kept" | "abandoned" | ...

    def to_dict(self) -> dict:
        """A JSON-able copy of the state."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> BookingFlow:
        """The state saved by `to_dict()`."""
        return cls(**{k: copy.deepcopy(v) for k, v in data.items() if k in cls.__dataclass_fields__})
