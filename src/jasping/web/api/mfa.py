"""Two-step verification settings of the logged-in person (`/api/v1/auth/mfa…`) and the organization's policy
(`/api/v1/organization/security`). Every change needs a recent password or code (step-up)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from jasping.security import mfa, mfa_codes
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import Membership, Role
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, CurrentAccount, CurrentPrincipal, DbSession, RecentAccount, RecentAuth

router = APIRouter(prefix=API, tags=["auth"])


class MfaStatusOut(BaseModel):
    enabled: bool
    totp: bool
    sms: bool
    phone_hint: str | None
    recovery_codes_left: int
    sms_available: bool  # whether this server can send SMS codes
    required_by: list[str]  # ids of your organizations that require two-step verification


class TotpEnrolmentOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=4, max_length=32)


class EnabledOut(BaseModel):
    enabled: bool = True
    recovery_codes: list[str] | None = None  # shown once, when these are the account's first codes


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


class SmsSentOut(BaseModel):
    sent_to: str


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    require_mfa: bool


class PolicyOut(BaseModel):
    require_mfa: bool
    members_without_mfa: int


def _org_ids(db: DbSession, user_id: str) -> list[str]:
    return [o.id for _, o in tenancy.memberships(db, user_id)]


@router.get("/auth/mfa", response_model=MfaStatusOut)
def mfa_status(account: CurrentAccount, db: DbSession) -> MfaStatusOut:
    """Which second factors are on, how many recovery codes are left, and who requires them."""
    st = mfa.status(db, account.user.id)
    return MfaStatusOut(
        enabled=st.enabled,
        totp=st.totp,
        sms=st.sms,
        phone_hint=st.phone_hint,
        recovery_codes_left=st.recovery_codes_left,
        sms_available=mfa_codes.sms_available(),
        required_by=[o for o in _org_ids(db, account.user.id) if mfa.org_requires_mfa(db, o)],
    )


@router.post("/auth/mfa/totp", status_code=201, response_model=TotpEnrolmentOut)
def totp_start(account: RecentAccount, db: DbSession) -> TotpEnrolmentOut:
    """Start setting up an authenticator app: scan `qr_svg` (or enter `secret`), then confirm with a code."""
    enrolment = mfa.start_totp(db, user_id=account.user.id, email=account.user.email)
    return TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@router.post("/auth/mfa/totp/confirm", response_model=EnabledOut)
def totp_confirm(body: CodeIn, account: RecentAccount, db: DbSession) -> EnabledOut:
    """Turn the app on with the code it shows; the first factor comes with ten recovery codes, shown once."""
    codes = mfa.confirm_totp(db, user_id=account.user.id, code=body.code, actor=account.actor)
    return EnabledOut(recovery_codes=codes)


@router.delete("/auth/mfa/totp", status_code=204)
def totp_disable(account: RecentAccount, db: DbSession) -> Response:
    mfa.disable(db, user_id=account.user.id, kind=mfa.TOTP, actor=account.actor, org_ids=_org_ids(db, account.user.id))
    return Response(status_code=204)


@router.post("/auth/mfa/sms", status_code=202, response_model=SmsSentOut)
def sms_start(body: PhoneIn, account: RecentAccount, db: DbSession) -> SmsSentOut:
    """Start SMS codes: a code is texted to `phone` (international form); confirm it to turn them on."""
    hint = mfa_codes.start_sms_enrolment(db, user_id=account.user.id, phone=body.phone, actor=account.actor)
    return SmsSentOut(sent_to=hint)


@router.post("/auth/mfa/sms/confirm", response_model=EnabledOut)
def sms_confirm(body: CodeIn, account: RecentAccount, db: DbSession) -> EnabledOut:
    codes = mfa_codes.confirm_sms_enrolment(db, user_id=account.user.id, code=body.code, actor=account.actor)
    return EnabledOut(recovery_codes=codes)


@router.delete("/auth/mfa/sms", status_code=204)
def sms_disable(account: RecentAccount, db: DbSession) -> Response:
    mfa.disable(db, user_id=account.user.id, kind=mfa.SMS, actor=account.actor, org_ids=_org_ids(db, account.user.id))
    return Response(status_code=204)


@router.post("/auth/mfa/recovery-codes", response_model=RecoveryCodesOut)
def recovery_codes(account: RecentAccount, db: DbSession) -> RecoveryCodesOut:
    """Ten new recovery codes (shown once); the previous ones stop working."""
    return RecoveryCodesOut(
        recovery_codes=mfa.regenerate_recovery_codes(db, user_id=account.user.id, actor=account.actor)
    )


def _policy(db: DbSession, org_id: str) -> PolicyOut:
    members = db.execute(select(Membership.user_id).where(Membership.org_id == org_id)).scalars().all()
    return PolicyOut(
        require_mfa=mfa.org_requires_mfa(db, org_id),
        members_without_mfa=sum(1 for user_id in members if not mfa.has_mfa(db, user_id)),
    )


@router.get("/organization/security", response_model=PolicyOut)
def get_policy(principal: CurrentPrincipal, db: DbSession) -> PolicyOut:
    """The organization's security policy."""
    return _policy(db, principal.org_id)


@router.put("/organization/security", response_model=PolicyOut)
def set_policy(body: PolicyIn, principal: AdminPrincipal, db: DbSession, _recent: RecentAuth) -> PolicyOut:
    """Require two-step verification of every member (owners and admins; needs a recent password or code).
    Members without it are sent to set it up at their next request."""
    principal.require(Role.admin)
    mfa.set_policy(db, org_id=principal.org_id, require_mfa=body.require_mfa, actor=principal.actor)
    return _policy(db, principal.org_id)
