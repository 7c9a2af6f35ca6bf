"""Service functions of tenancy: accounts, organizations, memberships, API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.config import get_settings
from jasping.crypto import PLATFORM, get_keyring
from jasping.db import new_id, unscoped
from jasping.errors import Conflict, Invalid, NotFound, Unauthorized
from jasping.security import audit, lockout, passwords, ratelimit
from jasping.security.audit import Actor
from jasping.tenancy.models import ApiKey, Membership, Organization, Role, User

KEY_PREFIX = "jp"


def normalize_email(email: str) -> str:
    email = (email or "").strip()
    if len(email) > 254 or email.count("@") != 1:
        raise Invalid("enter a valid email address", code="invalid_email")
    local, domain = email.rsplit("@", 1)
    if not local or "." not in domain or any(c.isspace() for c in email):
        raise Invalid("enter a valid email address", code="invalid_email")
    return f"{local}@{domain.lower()}"


def email_hash(email: str) -> str:
    return get_keyring().blind_index(PLATFORM, normalize_email(email).lower())


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email_hash == email_hash(email))).scalar()


def create_user(session: Session, *, email: str, password: str, name: str | None = None, locale: str = "en") -> User:
    """A new account; the email must be unused and the password strong enough."""
    email = normalize_email(email)
    try:
        passwords.check_strength(password)
    except passwords.WeakPassword as exc:
        raise Invalid(str(exc), code="weak_password") from exc
    if find_user_by_email(session, email):
        raise Conflict("an account with this email already exists", code="email_taken")
    user = User(
        id=new_id("usr"),
        email=email,
        email_hash=email_hash(email),
        name=(name or "").strip() or None,
        password_hash=passwords.hash_password(password),
        locale=locale if locale in ("en", "fr") else "en",
    )
    session.add(user)
    session.flush()
    return user


def create_organization(
    session: Session,
    *,
    name: str,
    owner: User,
    actor: Actor,
    country: str | None = None,
    timezone: str = "UTC",
    default_language: str = "en",
) -> Organization:
    """A new organization with its own data key, owned by `owner`."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("the organization needs a name of 1 to 200 characters", code="invalid_name")
    org = Organization(
        id=new_id("org"), name=name, country=(country or None), timezone=timezone, default_language=default_language
    )
    get_keyring().ensure_data_key(org.id, session=session)
    session.add(org)
    session.flush()
    session.add(Membership(id=new_id("mem"), org_id=org.id, user_id=owner.id, role=Role.owner.value))
    audit.record(
        session, actor=actor, action="organization.create", org_id=org.id, object_type="organization", object_id=org.id
    )
    session.flush()
    return org


def register(
    session: Session,
    *,
    email: str,
    password: str,
    organization_name: str,
    name: str | None = None,
    locale: str = "en",
    ip: str | None = None,
) -> tuple[User, Organization]:
    """Self-service sign-up: an account and its first organization (at most `registrations_per_ip` an hour per IP)."""
    if ip:
        ratelimit.check(ratelimit.Limit("register-ip", get_settings().registrations_per_ip, 3600), ip)
    user = create_user(session, email=email, password=password, name=name, locale=locale)
    actor = Actor("user", user.id, ip)
    org = create_organization(session, name=organization_name, owner=user, actor=actor)
    audit.record(session, actor=actor, action="user.register", object_type="user", object_id=user.id)
    return user, org


def authenticate(session: Session, *, email: str, password: str, ip: str | None = None) -> User:
    """The user with these credentials, or Unauthorized (same answer and timing either way); `LockedOut` (429)
    while the account or the IP is locked after too many failures (security/lockout.py)."""
    lockout.check_login(session, email=email, ip=ip)
    try:
        user = find_user_by_email(session, email)
    except Invalid:
        user = None
    if user is not None and not user.is_active and passwords.verify_password(user.password_hash, password):
        from jasping.privacy.account_deletion import check_login_allowed

        check_login_allowed(session, user)  # an account being deleted: refused with what to do (403)
    if user is None or not user.is_active:
        passwords.verify_password(passwords.DUMMY_HASH, password)
        audit.record(session, actor=Actor("anonymous", None, ip), action="auth.login_failed")
        lockout.login_failed(session, email=email, ip=ip, user_id=None)
        raise Unauthorized("wrong email or password", code="bad_credentials")
    if not passwords.verify_password(user.password_hash, password):
        audit.record(
            session, actor=Actor("user", user.id, ip), action="auth.login_failed", object_type="user", object_id=user.id
        )
        lockout.login_failed(session, email=email, ip=ip, user_id=user.id)
        raise Unauthorized("wrong email or password", code="bad_credentials")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = clock.now()
    lockout.login_succeeded(email)
    audit.record(session, actor=Actor("user", user.id, ip), action="auth.login", object_type="user", object_id=user.id)
    return user


def memberships(session: Session, user_id: str) -> list[tuple[Membership, Organization]]:
    """Every organization the user belongs to, with the membership (a platform-level query)."""
    with unscoped(session):
        rows = session.execute(
            select(Membership, Organization)
            .join(Organization, Organization.id == Membership.org_id)
            .where(Membership.user_id == user_id)
            .order_by(Organization.created_at)
        ).all()
        return [(m, o) for m, o in rows]


def membership(session: Session, *, user_id: str, org_id: str) -> Membership | None:
    """The user's membership in `org_id` (looked up across organizations, before scoping)."""
    with unscoped(session):
        return session.execute(
            select(Membership).where(Membership.user_id == user_id, Membership.org_id == org_id)
        ).scalar()


# ---- API keys ---------------------------------------------------------------------------------
@dataclass
class NewApiKey:
    key: ApiKey
    secret: str  # shown once, never stored


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session, *, org_id: str, name: str, actor: Actor, role: str = Role.admin.value
) -> NewApiKey:
    """A new API key for one organization; the secret is returned once and only its hash kept."""
    name = (name or "").strip() or "API key"
    if len(name) > 120:
        raise Invalid("the key name is too long (120 characters at most)")
    if role not in {r.value for r in Role}:
        raise Invalid(f"unknown role {role!r}", code="invalid_role")
    prefix = f"{KEY_PREFIX}_{secrets.token_hex(4)}"
    secret = f"{prefix}_{secrets.token_urlsafe(30)}"
    key = ApiKey(
        id=new_id("key"),
        org_id=org_id,
        name=name,
        prefix=prefix,
        secret_hash=_secret_hash(secret),
        role=role,
        created_by=actor.id if actor.type == "user" else None,
    )
    session.add(key)
    session.flush()
    audit.record(session, actor=actor, action="api_key.create", org_id=org_id, object_type="api_key", object_id=key.id)
    return NewApiKey(key, secret)


def resolve_api_key(session: Session, secret: str) -> ApiKey | None:
    """The live key for a bearer secret, or None (constant-time comparison of hashes)."""
    parts = (secret or "").split("_")
    if len(parts) < 3 or parts[0] != KEY_PREFIX or len(secret) > 200:
        return None
    key = session.execute(select(ApiKey).where(ApiKey.prefix == f"{parts[0]}_{parts[1]}")).scalar()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _secret_hash(secret)):
        return None
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.execute(select(ApiKey).order_by(ApiKey.created_at.desc())).scalars())


def revoke_api_key(session: Session, *, key_id: str, actor: Actor) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("no such API key")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        audit.record(
            session, actor=actor, action="api_key.revoke", org_id=key.org_id, object_type="api_key", object_id=key.id
        )
    return key
