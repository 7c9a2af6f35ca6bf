"""`/api/v1/privacy`: the record of processing (the data map and the retention enforced for the organization)."""

from __future__ import annotations

from fastapi import APIRouter

from jasping.privacy import data_map, retention
from jasping.tenancy.models import Organization
from jasping.web.api import API
from jasping.web.deps import CurrentPrincipal, ReadSession

router = APIRouter(prefix=f"{API}/privacy", tags=["privacy"])


def record_of_processing_for(org: Organization) -> dict:
    """The record of processing as the organization sees it: the data map and its retention."""
    return {
        **data_map.record(),
        "conversation_retention_days": org.conversation_retention_days,
        "retention": retention.enforced(org.conversation_retention_days),
    }


@router.get("/record-of-processing")
def record_of_processing(principal: CurrentPrincipal, db: ReadSession) -> dict:
    """Every table and column holding personal data: whose it is, its category, retention, erasure and purpose
    (GDPR art. 30), with the retention this organization's data is kept under."""
    return record_of_processing_for(db.get(Organization, principal.org_id))
