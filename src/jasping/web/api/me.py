"""`/api/v1/me`: the rights of the logged-in account holder — Download My Data, delete the account (30-day soft
delete), marketing consent — and the published schema of the export. Only the account's own login (the session
cookie) may call them: an API key acts for an organization, not for a person."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from jasping import clock
from jasping.errors import Forbidden
from jasping.privacy import account_consents, account_deletion, account_export
from jasping.security import sessions
from jasping.tenancy.models import User
from jasping.web.api import API
from jasping.web.deps import Account, CurrentAccount, DbSession, check_recent_auth, client_ip

router = APIRouter(prefix=API, tags=["account"])


def account_holder(request: Request, account: CurrentAccount) -> Account:
    """The logged-in account holder (cookie session, CSRF-checked writes); an API key is refused, even with a cookie."""
    if request.headers.get("authorization"):
        raise Forbidden("account rights are the account holder's: log in, an API key cannot use them", code="user_only")
    return account


AccountHolder = Annotated[Account, Depends(account_holder)]


@router.get(
    "/schemas/account-export.json",
    include_in_schema=True,
    responses={200: {"content": {"application/schema+json": {"schema": {"type": "object"}}}}},
)
def account_export_schema() -> JSONResponse:
    """The JSON Schema of `account.json` in Download My Data."""
    return JSONResponse(account_export.schema(), media_type="application/schema+json")


@router.get("/me/export", response_class=StreamingResponse)
def export(request: Request, account: AccountHolder, db: DbSession) -> StreamingResponse:
    """Download My Data: a zip of `account.json` (see the schema), CSV files and the files you uploaded. A sensitive
    action: the password (or a second-factor code) must have been entered recently (403 `reauthentication_required`:
    `POST /api/v1/auth/reauthenticate`)."""
    check_recent_auth(account.login)
    archive = account_export.build(db, account.user)
    account_export.track(account.user.id, ip=client_ip(request))  # once built: the next export shows it
    stamp = clock.now().strftime("%Y%m%d")

    def chunks():  # noqa: ANN202
        with archive:
            while block := archive.read(64 * 1024):
                yield block

    headers = {
        "Content-Disposition": f'attachment; filename="jasping-account-{stamp}.zip"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(chunks(), media_type="application/zip", headers=headers)


class DeleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=1024, description="your current password (step-up)")


class OrganizationRef(BaseModel):
    id: str
    name: str


class DeletionOut(BaseModel):
    status: Literal["scheduled"] = "scheduled"
    erase_after: datetime
    request_id: str | None
    organizations_erased_with_the_account: list[OrganizationRef]
    message: str


@router.delete("/me", status_code=202, response_model=DeletionOut)
def delete_account(
    body: DeleteIn, request: Request, response: Response, account: AccountHolder, db: DbSession
) -> DeletionOut:
    """Delete your account: login is refused at once, and the account is erased after 30 days (with the
    organizations you are the only owner of) unless you open the restore link emailed to you."""
    scheduled = account_deletion.request_deletion(db, user=account.user, password=body.password, ip=client_ip(request))
    response.delete_cookie(sessions.COOKIE, path="/")
    when = scheduled.deletion.erase_after
    return DeletionOut(
        erase_after=when,
        request_id=scheduled.deletion.request_id,
        organizations_erased_with_the_account=[OrganizationRef(id=o.id, name=o.name) for o in scheduled.organizations],
        message=f"your account is deleted and will be erased on {when.date().isoformat()}; "
        "we emailed you a link to restore it until then",
    )


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: Literal["marketing_email"] = "marketing_email"
    granted: bool
    notice_version: str = Field(default=account_consents.NOTICE_VERSION, min_length=1, max_length=40)


class ConsentRecordOut(BaseModel):
    purpose: str
    granted: bool
    notice_version: str
    method: str
    at: datetime


class ConsentsOut(BaseModel):
    current: dict[str, bool]
    notice_version: str
    notice: dict[str, str]
    history: list[ConsentRecordOut]


def _consents(db: DbSession, user: User) -> ConsentsOut:
    return ConsentsOut(
        current=account_consents.current(db, user.id),
        notice_version=account_consents.NOTICE_VERSION,
        notice=account_consents.NOTICE,
        history=[
            ConsentRecordOut(
                purpose=c.purpose, granted=c.granted, notice_version=c.notice_version, method=c.method, at=c.created_at
            )
            for c in account_consents.history(db, user.id)
        ],
    )


@router.get("/me/consents", response_model=ConsentsOut)
def consents(account: AccountHolder, db: DbSession) -> ConsentsOut:
    """Your marketing consent now, the notice it refers to, and every decision kept."""
    return _consents(db, account.user)


@router.post("/me/consents", status_code=201, response_model=ConsentsOut)
def decide(body: ConsentIn, request: Request, account: AccountHolder, db: DbSession) -> ConsentsOut:
    """Grant (`granted: true`) or withdraw (`false`) marketing consent; each decision is kept with its time."""
    account_consents.record(
        db,
        user_id=account.user.id,
        purpose=body.purpose,
        granted=body.granted,
        notice_version=body.notice_version,
        method="api",
        ip=client_ip(request),
    )
    return _consents(db, account.user)
