"""Appointment scheduling: opening hours, services and free slots (pure functions, no database).

- `jasping.scheduling.availability`: `Service`, `WeeklyHours`, `Interval`, `free_slots`, `is_open`, `next_opening`,
  `overlaps`, `resource`, re-exported here.
"""

from __future__ import annotations

from jasping.scheduling.availability import (
    DAY_KEYS,
    Interval,
    Service,
    WeeklyHours,
    free_slots,
    is_open,
    next_opening,
    overlaps,
    resource,
)

__all__ = [
    "DAY_KEYS",
    "Interval",
    "Service",
    "WeeklyHours",
    "free_slots",
    "is_open",
    "next_opening",
    "overlaps",
    "resource",
]
