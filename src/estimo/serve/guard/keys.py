"""API keys: who is calling and at which tier; only a salted hash of each key is stored.

A key reads ``est_<key_id>_<secret>``: ``key_id`` (12 hex digits) finds the row, the secret
(32 random bytes, URL-safe) is checked against ``sha256(salt + secret)`` with a constant-time
comparison. Keys are long random strings, so one round of a salted hash is enough (a slow
password hash would cost every request milliseconds and buy nothing). The plain key is shown
once, by :meth:`KeyStore.create`, and never again.

The store is one table (``estimo_api_keys``) in any SQLAlchemy database: the monitoring
store's by default (``sqlite:///runs/monitor.db``), PostgreSQL in production
(``postgresql+psycopg://user@host:5432/estimo``).

Examples
--------
>>> store = KeyStore.from_url("sqlite://")
>>> key, plain = store.create("valuation form", "public")
>>> store.verify(plain).tier, store.verify(plain + "x")
('public', None)
>>> store.revoke(key.key_id).revoked
True
>>> store.verify(plain) is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:  # SQLAlchemy is imported when a key store opens: the service starts without it
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

from estimo.errors import EstimoError

__all__ = ["TIERS", "ApiKey", "KeyStoreError", "KeyStore", "Tier", "parse_key"]

Tier = Literal["internal", "partner", "public"]
#: Tiers from the most to the least trusted.
TIERS: tuple[str, ...] = get_args(Tier)
PREFIX = "est_"
TABLE = "estimo_api_keys"


class KeyStoreError(EstimoError):
    """A key cannot be created or revoked (unknown tier, unknown key)."""


@dataclass(frozen=True)
class ApiKey:
    """One key as stored (without its secret).

    Attributes
    ----------
    key_id : str
        Public part of the key (12 hex digits), safe to log.
    name : str
        Who holds it ("valuation form", "partner: Acme").
    tier : {"internal", "partner", "public"}
        What its answers show.
    created_at, revoked_at : datetime or None
        UTC times; ``revoked_at`` is None while the key works.
    """

    key_id: str
    name: str
    tier: Tier
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        """Whether the key no longer works."""
        return self.revoked_at is not None


def parse_key(plain: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a presented key, or None if it is not shaped like one.

    Examples
    --------
    >>> parse_key("est_0123456789ab_s3cret")
    ('0123456789ab', 's3cret')
    >>> parse_key("Bearer x") is None
    True
    """
    if not plain.startswith(PREFIX):
        return None
    key_id, sep, secret = plain[len(PREFIX) :].partition("_")
    if not sep or len(key_id) != 12 or not secret:
        return None
    try:
        int(key_id, 16)
    except ValueError:
        return None
    return key_id, secret


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class KeyStore:
    """API keys in a database (see the module docstring).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The database; the table is created if missing.
    cache_seconds : float, default 30
        How long a verified key is trusted without asking the database again (a revoked
        key stops working at most this long after ``revoke``; 0: always ask).
    table_prefix : str, default ""
        Prefix of the table name (several stores can share one database).
    """

    def __init__(self, engine: Engine, cache_seconds: float = 30.0, table_prefix: str = "") -> None:
        import sqlalchemy as sa

        self.engine = engine
        self.cache_seconds = cache_seconds
        metadata = sa.MetaData()
        self.table = sa.Table(
            table_prefix + TABLE,
            metadata,
            sa.Column("key_id", sa.String(12), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("tier", sa.String(16), nullable=False),
            sa.Column("salt", sa.LargeBinary(16), nullable=False),
            sa.Column("digest", sa.LargeBinary(32), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        )
        metadata.create_all(engine)
        self._cache: dict[str, tuple[float, str, ApiKey | None]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, cache_seconds: float = 30.0, table_prefix: str = "") -> KeyStore:
        """The store at a SQLAlchemy URL (``sqlite:///runs/monitor.db``, ``postgresql+psycopg://...``).

        Raises
        ------
        KeyStoreError
            If the URL is malformed or its driver is not installed.
        """
        import sqlalchemy as sa

        try:
            engine = sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise KeyStoreError(
                f"key store URL {url[:60]!r} cannot be opened ({exc}); expected a SQLAlchemy "
                "URL such as 'sqlite:///runs/monitor.db' or "
                "'postgresql+psycopg://user@host:5432/estimo'"
            ) from None
        return cls(engine, cache_seconds, table_prefix)

    def create(self, name: str, tier: str) -> tuple[ApiKey, str]:
        """A new key: the stored record and the plain key (shown once, never stored)."""
        if tier not in TIERS:
            raise KeyStoreError(f"tier {tier!r} is unknown; expected one of {', '.join(TIERS)}")
        if not name.strip():
            raise KeyStoreError("name '' is empty; expected who holds the key")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        key = ApiKey(key_id, name.strip()[:200], tier, datetime.now(UTC))  # type: ignore[arg-type]
        with self.engine.begin() as conn:
            conn.execute(
                self.table.insert().values(
                    key_id=key_id,
                    name=key.name,
                    tier=tier,
                    salt=salt,
                    digest=_digest(salt, secret),
                    created_at=key.created_at,
                )
            )
        return key, f"{PREFIX}{key_id}_{secret}"

    def list(self, include_revoked: bool = False) -> list[ApiKey]:
        """Every key, oldest first (revoked ones too if asked)."""
        query = self.table.select().order_by(self.table.c.created_at)
        if not include_revoked:
            query = query.where(self.table.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [self._key(row) for row in conn.execute(query)]

    def revoke(self, key_id: str) -> ApiKey:
        """Stop a key from working (kept in the table for the audit trail)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                self.table.update()
                .where(self.table.c.key_id == key_id, self.table.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = conn.execute(self.table.select().where(self.table.c.key_id == key_id)).first()
        if row is None:
            raise KeyStoreError(
                f"key {key_id[:20]!r} is unknown; expected an id from `estimo keys list`"
            )
        with self._lock:  # this process forgets it now; other processes within cache_seconds
            self._cache = {k: v for k, v in self._cache.items() if v[1] != key_id}
        return self._key(row)

    def verify(self, plain: str) -> ApiKey | None:
        """The working key behind a presented plain key, or None (unknown, wrong, revoked)."""
        parsed = parse_key(plain)
        if parsed is None:
            return None
        key_id, secret = parsed
        cache_key = hashlib.sha256(plain.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(cache_key)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[2]
        with self.engine.connect() as conn:
            row = conn.execute(self.table.select().where(self.table.c.key_id == key_id)).first()
        found = None
        if row is not None and hmac.compare_digest(row.digest, _digest(row.salt, secret)):
            key = self._key(row)
            found = None if key.revoked else key
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[cache_key] = (now, key_id, found)
        return found

    @staticmethod
    def _key(row: sa.Row) -> ApiKey:
        return ApiKey(row.key_id, row.name, row.tier, _utc(row.created_at), _utc(row.revoked_at))
