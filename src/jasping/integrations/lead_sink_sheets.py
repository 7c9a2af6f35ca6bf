"""Google Sheets as a lead sink: a `google` integration connected with the `sheets` use appends each lead as a row
of `sheet_name` (default `Leads`) in `spreadsheet_id`.

The row's columns are the lead's fields as every sink shows them (`LEAD_FIELDS`), then one `custom.<name>` column
per field of the business, as in the CSV export. `google_sheets.append_row` writes the header row first when the
sheet is empty, follows the existing header's order otherwise (new fields after it), and sends values RAW (a
customer's `=HYPERLINK(…)` stays text). An update of the lead (`lead.updated`) appends a new row: Sheets has no
row identity to update in place. Google's failures become `SinkError` with Google's `retry`.

The range written (`'Leads'!A7:O7`, Google's `updates.updatedRange`) is returned and kept with the lead's sync
(`lead_syncs.remote_refs`), so that erasing the contact clears the rows (`privacy.erasure`).
"""

from __future__ import annotations

import logging
from typing import Any

from jasping.integrations import google_sheets
from jasping.integrations.google_api import GoogleApiError, keep_tokens
from jasping.integrations.lead_sinks import LeadEvent, SinkError, register_sink
from jasping.integrations.models import Integration

log = logging.getLogger(__name__)


def uses_sheets(integration: Integration) -> bool:
    """A Google account receives leads only when it was connected with the `sheets` use."""
    return "sheets" in ((integration.settings or {}).get("uses") or [])


def row_of(lead: dict[str, Any]) -> dict[str, Any]:
    """The lead's record with its custom fields as `custom.<name>` columns."""
    record = {k: v for k, v in lead.items() if k != "custom"}
    record.update({f"custom.{name}": value for name, value in (lead.get("custom") or {}).items()})
    return record


class SheetsSink:
    """Appends each lead event as one row of the integration's sheet."""

    def send(self, integration: Integration, event: LeadEvent) -> str | None:
        if not uses_sheets(integration):
            raise SinkError("this Google account is no longer connected for Sheets", retry=False)
        loaded = integration.secrets_json
        try:
            written = google_sheets.append_row(integration, row_of(event.lead))
        except GoogleApiError as exc:
            raise SinkError(exc.message, retry=exc.retry) from exc
        finally:
            keep_tokens(integration, loaded)
        log.info("lead event %s appended to %s of integration %s", event.id, written, integration.id)
        return written or None


register_sink("google", SheetsSink(), accepts=uses_sheets)
