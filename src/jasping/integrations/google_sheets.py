"""Google Sheets for a connected integration: a lead appended as a row of the chosen sheet (tab).

The first row is the header. An empty sheet gets one made from the record's keys (values.get, then values.append);
a sheet that has one gets the row in its columns' order, keys it does not name after them. Values are sent RAW:
text a customer typed is never read as a formula.
"""

from __future__ import annotations

import json
from typing import Any

from jasping.integrations.google_api import GoogleApiError, call, segment
from jasping.integrations.models import Integration


def _target(integration: Integration) -> tuple[str, str]:
    settings = integration.settings or {}
    if not settings.get("spreadsheet_id"):
        raise GoogleApiError("this Google integration has no spreadsheet; connect it again for sheets", retry=False)
    sheet = str(settings.get("sheet_name") or "Leads").replace("'", "''")
    return settings["spreadsheet_id"], f"'{sheet}'"


def cell(value: Any) -> str | int | float | bool:
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def header(integration: Integration) -> list[str]:
    """The sheet's first row (empty for an empty sheet)."""
    spreadsheet, sheet = _target(integration)
    path = f"v4/spreadsheets/{segment(spreadsheet)}/values/{segment(sheet + '!1:1')}"
    rows = call(integration, "GET", "sheets", path, params={"majorDimension": "ROWS"}).json().get("values") or []
    return [str(c) for c in rows[0]] if rows else []


def append_row(integration: Integration, record: dict[str, Any]) -> str:
    """Append `record` as one row (after a header row if the sheet is empty); returns the range written (A1
    notation, e.g. `'Leads'!A7:H7`), which erasure can clear later."""
    spreadsheet, sheet = _target(integration)
    columns = header(integration)
    extra = [k for k in record if k not in columns]
    row = [cell(record.get(k)) for k in columns] + [cell(record[k]) for k in extra]
    rows = [row] if columns else [list(record), row]
    path = f"v4/spreadsheets/{segment(spreadsheet)}/values/{segment(sheet + '!A1')}:append"
    params = {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"}
    body = {"range": f"{sheet}!A1", "majorDimension": "ROWS", "values": rows}
    answer = call(integration, "POST", "sheets", path, params=params, json=body).json()
    return (answer.get("updates") or {}).get("updatedRange", "")


def last_row(written: str) -> str:
    """The last row of a written range (`'Leads'!A1:O2` → `'Leads'!A2:O2`): the lead's row, not the header that an
    empty sheet got with it."""
    sheet, _, cells = written.rpartition("!")
    start, _, end = cells.partition(":")
    end = end or start
    row = end.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    first_col = start.rstrip("0123456789")
    last_col = end.rstrip("0123456789")
    return f"{sheet}!{first_col}{row}:{last_col}{row}" if sheet else f"{first_col}{row}:{last_col}{row}"


def clear_row(integration: Integration, written: str) -> None:
    """Clear the lead's row of a range we wrote (erasure): `values:clear` empties its cells and keeps the sheet's
    other rows where they are (deleting the row would move the rows below, whose ranges other leads keep)."""
    spreadsheet, _ = _target(integration)
    path = f"v4/spreadsheets/{segment(spreadsheet)}/values/{segment(last_row(written))}:clear"
    call(integration, "POST", "sheets", path, json={})
