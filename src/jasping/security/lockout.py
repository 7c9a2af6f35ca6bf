"""Log-in and second-factor lockout (issue 11, point 4).

Failed log-ins are counted per account — a keyed hash of the email address, case-insensitive, the same for an address
no account uses (no enumeration) — and per IP, within `login_lockout_minutes`. Reaching
`login_failures_per_account` (or `login_failures_per_ip`) locks that account (or IP) for `login_lockout_minutes`:
every log-in is then refused with 429 and Retry-After before the password is even checked, the right one included,
until the lock ends. Wrong second-factor codes lock the account's second step the same way
(`mfa_failures_per_account`). Each lock is an `auth.lockout` security event; the attempts also count toward a
security alert (`security.alerts`). A successful log-in clears the account's failures; a password reset lifts its lock.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from jasping.config import get_settings
from jasping.crypto import PLATFORM, get_keyring
from jasping.security import alerts, audit, ratelimit
from jasping.security.audit import Actor

LOCK_ACCOUNT = "login-lock-account"
LOCK_IP = "login-lock-ip"
LOCK_MFA = "mfa-lock"


class LockedOut(ratelimit.RateLimited):
    code = "locked_out"


def window_seconds() -> int:
    return max(1, get_settings().login_lockout_minutes) * 60


def _limit(name: str, count: int) -> ratelimit.Limit:
    return ratelimit.Limit(name, count, window_seconds())


def account_limit() -> ratelimit.Limit:
    return _limit("login-fail-account", get_settings().login_failures_per_account)


def ip_limit() -> ratelimit.Limit:
    return _limit("login-fail-ip", get_settings().login_failures_per_ip)


def mfa_limit() -> ratelimit.Limit:
    return _limit("mfa-fail-account", get_settings().mfa_failures_per_account)


def account_key(email: str) -> str:
    """The counters' key of an address: a keyed hash (no address in Redis), case- and space-insensitive."""
    return get_keyring().mac(PLATFORM, (email or "").strip().lower()[:320], purpose="login lockout")


def _refuse(wait: int, what: str) -> LockedOut:
    minutes = max(1, -(-wait // 60))
    return LockedOut(
        f"too many failed {what} attempts: try again in {minutes} minute{'s' if minutes > 1 else ''}, "
        "or reset your password",
        wait,
    )


def check_login(session: Session, *, email: str, ip: str | None) -> None:
    """Before the password is checked: `LockedOut` (429) while the account or this IP is locked. The refused
    attempt counts toward the account's security alert."""
    key = account_key(email)
    wait = max(ratelimit.locked_for(LOCK_ACCOUNT, key), ratelimit.locked_for(LOCK_IP, ip) if ip else 0)
    if wait:
        alerts.count_refused(session, account=key, email=email)
        raise _refuse(wait, "log-in")


def _lock(session: Session, name: str, key: str, limit: ratelimit.Limit, *, scope: str, user_id: str | None, ip):  # noqa: ANN001
    """Lock `key` for the window, start its count again, and record the `auth.lockout` event."""
    ratelimit.lock(name, key, window_seconds())
    ratelimit.forget(limit, key)
    audit.record(
        session,
        actor=Actor("user" if user_id else "anonymous", user_id, ip),
        action="auth.lockout",
        object_type="user" if user_id else None,
        object_id=user_id,
        detail={"scope": scope, "failures": limit.count, "minutes": window_seconds() // 60},
    )


def login_failed(session: Session, *, email: str, ip: str | None, user_id: str | None) -> None:
    """Count a wrong password (or an unknown address); lock the account or the IP at their limit."""
    key = account_key(email)
    account = account_limit()
    if account.count > 0 and ratelimit.hit(account, key) >= account.count:
        _lock(session, LOCK_ACCOUNT, key, account, scope="account", user_id=user_id, ip=ip)
    by_ip = ip_limit()
    if ip and by_ip.count > 0 and ratelimit.hit(by_ip, ip) >= by_ip.count:
        _lock(session, LOCK_IP, ip, by_ip, scope="ip", user_id=user_id, ip=ip)
    alerts.count_failure(session, account=key, user_id=user_id)


def login_succeeded(email: str) -> None:
    ratelimit.forget(account_limit(), account_key(email))


def unlock_account(email: str) -> None:
    """Lift the account's log-in lock and failures (its owner proved control of the address: a password reset)."""
    key = account_key(email)
    ratelimit.unlock(LOCK_ACCOUNT, key)
    ratelimit.forget(account_limit(), key)


def check_mfa(*, user_id: str) -> None:
    """Before a second-factor code is checked: `LockedOut` while the account's second step is locked."""
    wait = ratelimit.locked_for(LOCK_MFA, user_id)
    if wait:
        raise _refuse(wait, "code")


def mfa_failed(session: Session, *, user_id: str, ip: str | None) -> None:
    """Count a wrong code; lock the account's second step at the limit."""
    limit = mfa_limit()
    if limit.count > 0 and ratelimit.hit(limit, user_id) >= limit.count:
        _lock(session, LOCK_MFA, user_id, limit, scope="mfa", user_id=user_id, ip=ip)
    alerts.count_failure(session, account=f"mfa:{user_id}", user_id=user_id)
