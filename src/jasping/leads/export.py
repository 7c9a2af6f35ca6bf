"""Leads as CSV for a spreadsheet: UTF-8 with a BOM (Excel then reads Arabic and French right), every field quoted
when it needs to be, and no cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from jasping.integrations.lead_sinks import LEAD_FIELDS, lead_record
from jasping.leads.models import Lead
from jasping.leads.service import LeadFilter, list_leads

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP "CSV injection"
MAX_ROWS = 100_000
BATCH = 500


def safe_cell(value: Any) -> str:
    """The cell's text; one that starts like a formula gets a leading apostrophe, so it stays text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def leads_csv(leads: Iterable[Lead]) -> str:
    """The CSV text (BOM first, CRLF line ends): the fixed columns, then one `custom.<name>` column per custom field
    seen in these leads."""
    records = [lead_record(lead) for lead in leads]
    custom = sorted({name for record in records for name in record["custom"]})
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([*LEAD_FIELDS, *(f"custom.{name}" for name in custom)])
    for record in records:
        row = [record[name] for name in LEAD_FIELDS] + [record["custom"].get(name) for name in custom]
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()


def export(session: Session, where: LeadFilter) -> tuple[str, int]:
    """The CSV of the leads `where` selects (newest first, at most `MAX_ROWS`) and how many it holds."""
    leads: list[Lead] = []
    while len(leads) < MAX_ROWS:
        batch = list_leads(session, where=where, limit=min(BATCH, MAX_ROWS - len(leads)), offset=len(leads))
        leads += batch
        if len(batch) < BATCH:
            break
    return leads_csv(leads), len(leads)
