"""The platform's operators: the people who run this JasPing server (not a role in an organization). They keep the
breach register and edit the public legal pages. Granted and revoked with `jasping operator grant|revoke EMAIL`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from jasping import clock
from jasping.db import Base, UtcDateTime
from jasping.errors import NotFound
from jasping.security import audit
from jasping.tenancy import service as tenancy


class PlatformOperator(Base):
    """A user who operates the platform; the row goes with the account."""

    __tablename__ = "platform_operators"

    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


def is_operator(session: Session, user_id: str) -> bool:
    return session.get(PlatformOperator, user_id) is not None


def grant(session: Session, email: str) -> str:
    """Make the user with this email an operator (idempotent); returns the user id."""
    user = tenancy.find_user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user with the email {email}")
    if not is_operator(session, user.id):
        session.add(PlatformOperator(user_id=user.id, granted_at=clock.now()))
        audit.record(session, actor=audit.SYSTEM, action="operator.grant", object_type="user", object_id=user.id)
    return user.id


def revoke(session: Session, email: str) -> bool:
    """The user is no longer an operator; False when they were not one."""
    user = tenancy.find_user_by_email(session, email)
    row = session.get(PlatformOperator, user.id) if user else None
    if row is None:
        return False
    session.delete(row)
    audit.record(session, actor=audit.SYSTEM, action="operator.revoke", object_type="user", object_id=user.id)
    return True


def operator_ids(session: Session) -> list[str]:
    return list(session.execute(select(PlatformOperator.user_id)).scalars())
