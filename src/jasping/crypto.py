"""AES-256-GCM envelope encryption at rest.

A master key (`JASPING_MASTER_KEY`, or `master.key` created with mode 0600 in the data directory)
wraps per-scope data keys (one scope per organization, plus `platform` for account data). Values are
stored as `jp1:<data key id>:<base64(nonce | ciphertext | tag)>`, so any process holding the master
key can read them; the data key id is authenticated as associated data.

Rotating the master key re-wraps the data keys only: rows stay as they are and stay readable.
A master key that did not wrap the stored data keys fails closed with `MasterKeyError`.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Boolean, Connection, Engine, Integer, String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, Session, attributes, mapped_column
from sqlalchemy.types import TypeDecorator

from jasping import clock
from jasping.config import Settings, get_settings
from jasping.db import Base, UtcDateTime, get_engine, new_id
from jasping.master_keys import (  # noqa: F401 - the key functions and errors, importable from here as before
    CryptoError,
    MasterKeyError,
    decode_key,
    encode_key,
    key_file,
    key_id,
    load_master_keys,
    write_key_file,
)

PLATFORM = "platform"
PREFIX = "jp1"
CONTACT_SCOPE = "contact:"


def contact_scope(contact_id: str) -> str:
    """The scope of one contact's data keys (crypto-shredding: erasing the contact deletes them)."""
    return f"{CONTACT_SCOPE}{contact_id}"


class DataKey(Base):
    """A data key of one scope, wrapped by a master key. Never deleted while rows use it."""

    __tablename__ = "data_keys"
    __table_args__ = (UniqueConstraint("scope", "version"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[str] = mapped_column(Text)
    master_kid: Mapped[str] = mapped_column(String(32), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


# ---- the keyring ------------------------------------------------------------------------------
@dataclass
class _Unwrapped:
    id: str
    scope: str
    version: int
    aead: AESGCM
    raw: bytes


class Keyring:
    """Data keys of every scope, unwrapped on first use and cached in the process."""

    def __init__(self, engine: Engine, current: bytes, old: list[bytes] | None = None):
        self.engine = engine
        self.current = current
        self.masters = {key_id(k): k for k in [current, *(old or [])]}
        self._by_id: dict[str, _Unwrapped] = {}
        self._active: dict[str, str] = {}
        self._lock = threading.RLock()

    @property
    def current_kid(self) -> str:
        return key_id(self.current)

    def _wrap(self, master: bytes, dek_id: str, scope: str, raw: bytes) -> str:
        nonce = secrets.token_bytes(12)
        ct = AESGCM(master).encrypt(nonce, raw, f"dek:{dek_id}:{scope}".encode())
        return base64.b64encode(nonce + ct).decode()

    def _unwrap(self, row: DataKey) -> _Unwrapped:
        master = self.masters.get(row.master_kid)
        if master is None:
            raise MasterKeyError(
                f"data key {row.id} was wrapped by master key {row.master_kid}, which this process does not "
                f"have (it has {', '.join(sorted(self.masters))}). Set JASPING_MASTER_KEY to the right key, "
                "or JASPING_OLD_MASTER_KEYS during a rotation."
            )
        blob = base64.b64decode(row.wrapped)
        try:
            raw = AESGCM(master).decrypt(blob[:12], blob[12:], f"dek:{row.id}:{row.scope}".encode())
        except InvalidTag as exc:
            raise MasterKeyError(f"data key {row.id} does not open with master key {row.master_kid}") from exc
        return _Unwrapped(row.id, row.scope, row.version, AESGCM(raw), raw)

    def _load_scope(self, scope: str, connection: Connection | None = None) -> None:
        query = select(DataKey).where(DataKey.scope == scope)
        if connection is not None:  # the caller's transaction: no second connection from the pool while holding one
            rows = connection.execute(query).all()
        else:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        for row in rows:
            key = self._unwrap(DataKey(**row._mapping))
            self._by_id[key.id] = key
            if row.active and (scope not in self._active or self._by_id[self._active[scope]].version < key.version):
                self._active[scope] = key.id

    def _get(self, dek_id: str) -> _Unwrapped:
        with self._lock:
            if dek_id not in self._by_id:
                with self.engine.connect() as conn:
                    row = conn.execute(select(DataKey).where(DataKey.id == dek_id)).first()
                if row is None:
                    raise CryptoError(f"unknown data key {dek_id}")
                self._load_scope(row.scope)
            return self._by_id[dek_id]

    def active_key(self, scope: str, connection: Connection | None = None) -> _Unwrapped:
        with self._lock:
            if scope not in self._active:
                self._load_scope(scope, connection)
            if scope not in self._active:
                raise CryptoError(f"no data key for scope {scope}; call ensure_data_key first")
            return self._by_id[self._active[scope]]

    def ensure_data_key(self, scope: str, session: Session | None = None, connection: Connection | None = None) -> str:
        """The active data key of `scope`, created if absent: in `session`'s (or `connection`'s) transaction when
        given (forgotten again if it rolls back), else in a transaction of its own."""
        with self._lock:
            try:
                return self.active_key(scope, connection).id  # on the caller's connection when it has one
            except CryptoError:
                pass
            return self._add_data_key(scope, version=1, session=session, connection=connection)

    def shred(self, session: Session, scope: str) -> int:
        """Delete every data key of `scope` in `session`'s transaction (crypto-shredding): whatever was encrypted
        under them, in any copy, can no longer be read. Forgotten by this process once the transaction commits."""
        from jasping.db import after_commit

        deleted = session.execute(DataKey.__table__.delete().where(DataKey.scope == scope)).rowcount
        after_commit(session, lambda: self.forget_scope(scope))
        return deleted

    def forget_scope(self, scope: str) -> None:
        with self._lock:
            for dek_id in [k for k, v in self._by_id.items() if v.scope == scope]:
                del self._by_id[dek_id]
            self._active.pop(scope, None)

    def _add_data_key(
        self, scope: str, version: int, session: Session | None = None, connection: Connection | None = None
    ) -> str:
        raw = secrets.token_bytes(32)
        dek_id = new_id("dek")
        row = {
            "id": dek_id,
            "scope": scope,
            "version": version,
            "active": True,
            "wrapped": self._wrap(self.current, dek_id, scope, raw),
            "master_kid": self.current_kid,
            "created_at": clock.now(),
        }
        if connection is not None:
            connection.execute(DataKey.__table__.insert().values(**row))
            event.listen(connection, "rollback", lambda *_: self._forget(dek_id), once=True)
        elif session is None:
            with self.engine.begin() as conn:
                conn.execute(DataKey.__table__.insert().values(**row))
        else:
            session.execute(DataKey.__table__.insert().values(**row))
            event.listen(session, "after_soft_rollback", lambda *_: self._forget(dek_id), once=True)
        self._by_id[dek_id] = _Unwrapped(dek_id, scope, version, AESGCM(raw), raw)
        self._active[scope] = dek_id
        return dek_id

    def _forget(self, dek_id: str) -> None:
        with self._lock:
            key = self._by_id.pop(dek_id, None)
            if key and self._active.get(key.scope) == dek_id:
                del self._active[key.scope]

    def new_data_key_version(self, scope: str) -> str:
        """Start a new data key for `scope`; older ones stay for reading."""
        with self._lock:
            version = self.active_key(scope).version + 1
            with self.engine.begin() as conn:
                conn.execute(DataKey.__table__.update().where(DataKey.scope == scope).values(active=False))
            return self._add_data_key(scope, version)

    # values
    def encrypt(self, scope: str, plaintext: str) -> str:
        key = self.active_key(scope)
        nonce = secrets.token_bytes(12)
        ct = key.aead.encrypt(nonce, plaintext.encode("utf-8"), key.id.encode())
        return f"{PREFIX}:{key.id}:{base64.b64encode(nonce + ct).decode()}"

    def encrypt_bytes(self, scope: str, data: bytes) -> bytes:
        """`JPB1` | data key id length | data key id | nonce | ciphertext+tag (for files)."""
        key = self.active_key(scope)
        nonce = secrets.token_bytes(12)
        kid = key.id.encode()
        return b"JPB1" + bytes([len(kid)]) + kid + nonce + key.aead.encrypt(nonce, data, kid)

    def decrypt_bytes(self, blob: bytes) -> bytes:
        if blob[:4] != b"JPB1":
            raise CryptoError("not an encrypted file")
        n = blob[4]
        kid, nonce, body = blob[5 : 5 + n], blob[5 + n : 17 + n], blob[17 + n :]
        key = self._get(kid.decode())
        try:
            return key.aead.decrypt(nonce, body, kid)
        except InvalidTag as exc:
            raise CryptoError(f"file encrypted with data key {kid.decode()} failed authentication") from exc

    def decrypt(self, token: str) -> str:
        try:
            prefix, dek_id, body = token.split(":", 2)
        except ValueError as exc:
            raise CryptoError("not an encrypted value") from exc
        if prefix != PREFIX:
            raise CryptoError(f"unknown encryption format {prefix!r}")
        key = self._get(dek_id)
        blob = base64.b64decode(body)
        try:
            return key.aead.decrypt(blob[:12], blob[12:], dek_id.encode()).decode("utf-8")
        except InvalidTag as exc:
            raise CryptoError(f"value encrypted with data key {dek_id} failed authentication") from exc

    def mac(self, scope: str, value: str, purpose: str = "blind index") -> str:
        """A keyed hash of `value` (HMAC-SHA256 under a key derived from the scope's first data key,
        so it is stable across rotations): equality lookups on encrypted values, the audit chain."""
        with self._lock:
            self.active_key(scope)
            first = min((k for k in self._by_id.values() if k.scope == scope), key=lambda k: k.version)
        info = f"jasping {purpose}".encode()
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(first.raw)
        return hmac.new(derived, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def blind_index(self, scope: str, value: str) -> str:
        """A keyed hash for equality lookups on an encrypted value."""
        return self.mac(scope, value)

    # operations
    def check(self) -> None:
        """Fail closed if any stored data key is wrapped by a master key this process lacks."""
        with self.engine.connect() as conn:
            kids = set(conn.execute(select(DataKey.master_kid).distinct()).scalars())
            sample = conn.execute(select(DataKey).where(DataKey.master_kid.in_(self.masters)).limit(1)).first()
        missing = kids - set(self.masters)
        if missing:
            raise MasterKeyError(
                f"the stored data keys were wrapped by master key(s) {', '.join(sorted(missing))}; this process "
                f"has {', '.join(sorted(self.masters))}. Refusing to start with the wrong JASPING_MASTER_KEY."
            )
        if sample is not None:
            self._unwrap(DataKey(**sample._mapping))

    def rewrap_all(self, new_master: bytes) -> int:
        """Wrap every data key with `new_master` in one transaction; return how many."""
        count = 0
        with self.engine.begin() as conn:
            rows = conn.execute(select(DataKey)).all()
            for row in rows:
                key = self._unwrap(DataKey(**row._mapping))
                conn.execute(
                    DataKey.__table__.update()
                    .where(DataKey.id == row.id)
                    .values(wrapped=self._wrap(new_master, row.id, row.scope, key.raw), master_kid=key_id(new_master))
                )
                count += 1
        self.current = new_master
        self.masters[key_id(new_master)] = new_master
        return count


_keyrings: dict[tuple[int, str], Keyring] = {}
_by_settings: dict[tuple[int, int], tuple[Settings, Keyring]] = {}
_kr_lock = threading.Lock()


def get_keyring(engine: Engine | None = None, settings: Settings | None = None) -> Keyring:
    """The process-wide keyring for the configured database and master key."""
    settings = settings or get_settings()
    engine = engine or get_engine()
    fast = _by_settings.get((id(engine), id(settings)))  # key files are read once per settings object
    if fast is not None and fast[0] is settings:
        return fast[1]
    current, old = load_master_keys(settings)
    cache_key = (id(engine), key_id(current))
    with _kr_lock:
        if cache_key not in _keyrings:
            _keyrings[cache_key] = Keyring(engine, current, old)
        _by_settings[(id(engine), id(settings))] = (settings, _keyrings[cache_key])
        return _keyrings[cache_key]


def reset_keyrings() -> None:
    with _kr_lock:
        _keyrings.clear()
        _by_settings.clear()


# ---- the column type --------------------------------------------------------------------------
@dataclass(frozen=True)
class Sealed:
    """A plaintext with the scope whose data key must encrypt it (set by the mapper events)."""

    scope: str
    text: str


_default_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("jasping_crypto_scope", default=None)


class EncryptedText(TypeDecorator):
    """Text encrypted at rest; the row's organization (or `platform`) picks the data key."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return get_keyring().encrypt(value.scope, value.text)
        scope = _default_scope.get()
        if scope is None:
            raise CryptoError(
                "an encrypted column was written outside of a mapped object, or compared in a "
                "query; look encrypted values up through their blind index instead"
            )
        return get_keyring().encrypt(scope, str(value))

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else get_keyring().decrypt(value)


class ContactScoped:
    """A row holding one contact's data: encrypted under that contact's data keys (so erasing the contact shreds
    every copy), or under the organization's when it has no contact. Rows written before per-contact keys stay
    readable: each value names the data key that encrypted it."""

    crypto_scope_column = "contact_id"

    @property
    def crypto_scope(self) -> str:
        contact_id = getattr(self, "contact_id", None)
        return contact_scope(contact_id) if contact_id else self.org_id  # type: ignore[attr-defined]


_encrypted_by_mapper: dict[Any, list[str]] = {}


def _encrypted_attrs(mapper: Any) -> list[str]:
    if mapper not in _encrypted_by_mapper:
        _encrypted_by_mapper[mapper] = [
            p.key for p in mapper.column_attrs if isinstance(p.columns[0].type, EncryptedText)
        ]
    return _encrypted_by_mapper[mapper]


def _seal(mapper: Any, conn: Any, target: Any, *, only_changed: bool) -> None:
    names = _encrypted_attrs(mapper)
    if not names:
        return
    scope = getattr(target, "crypto_scope", None) or PLATFORM
    if scope.startswith(CONTACT_SCOPE):
        get_keyring().ensure_data_key(scope, connection=conn)  # a contact's first row: its key, in this transaction
    moved = getattr(type(target), "crypto_scope_column", None)
    if only_changed and moved and attributes.get_history(target, moved).has_changes():
        only_changed = False  # the row changed hands (a lead now another contact's): re-encrypt what is loaded
    pending = {}
    for name in names:
        value = target.__dict__.get(name)
        if value is None or isinstance(value, Sealed):
            continue
        if only_changed and not attributes.get_history(target, name).has_changes():
            continue
        pending[name] = value
        setattr(target, name, Sealed(scope, value))
    target.__dict__["_jasping_plain"] = pending


def _unseal(_mapper: Any, _conn: Any, target: Any) -> None:
    for name, value in target.__dict__.pop("_jasping_plain", {}).items():
        attributes.set_committed_value(target, name, value)


event.listen(Base, "before_insert", lambda m, c, t: _seal(m, c, t, only_changed=False), propagate=True)
event.listen(Base, "before_update", lambda m, c, t: _seal(m, c, t, only_changed=True), propagate=True)
event.listen(Base, "after_insert", _unseal, propagate=True)
event.listen(Base, "after_update", _unseal, propagate=True)
