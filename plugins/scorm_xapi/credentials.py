"""Per-user xAPI API credentials for HTTP Basic (how content packages and LRS test
suites authenticate): a public key and a secret shown once; only its SHA-256 is kept.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import insert, select, update

from lms_graph import SQLExecutor, UserRecord, Viewer
from lms_graph_plugins.scorm_xapi.tables import users, xapi_credentials


@dataclasses.dataclass(frozen=True, slots=True)
class NewCredential:
    id: int
    key: str
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_credential(
    db: SQLExecutor, user_id: int, label: str | None, by: int, now: dt.datetime
) -> NewCredential:
    key = "xk_" + secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    result = await db.execute(
        insert(xapi_credentials)
        .values(
            user_id=user_id,
            key=key,
            secret_hash=_hash(secret),
            label=label,
            created_at=now,
            created_by_id=by,
        )
        .returning(xapi_credentials.c.id)
    )
    return NewCredential(result.scalar_one(), key, secret)


async def revoke_credential(db: SQLExecutor, credential_id: int, now: dt.datetime) -> None:
    await db.execute(
        update(xapi_credentials)
        .where(xapi_credentials.c.id == credential_id, xapi_credentials.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def basic_pair(authorization: str) -> tuple[str, str] | None:
    """``(key, secret)`` of an ``Authorization: Basic ...`` header, None if malformed."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, colon, secret = decoded.partition(":")
    if not colon or "\x00" in key:  # no key holds one; PostgreSQL could not compare it
        return None
    return key, secret


async def basic_viewer(db: SQLExecutor, key: str, secret: str) -> Viewer | None:
    """The active user holding this unrevoked credential, or None."""
    row = (
        await db.execute(
            select(
                xapi_credentials.c.secret_hash,
                users.c.id,
                users.c.email,
                users.c.name,
                users.c.active,
                users.c.is_admin,
            )
            .join(users, users.c.id == xapi_credentials.c.user_id)
            .where(xapi_credentials.c.key == key, xapi_credentials.c.revoked_at.is_(None))
        )
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    if not row.active:
        return None
    user = UserRecord(
        id=row.id,
        email=row.email,
        employee_id=None,
        name=row.name,
        active=True,
        is_admin=bool(row.is_admin),
    )
    return Viewer(user=user)
