"""Bearer tokens and the viewer they identify (CONTRACT section 3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import jwt
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from lms_graph import models as m
from lms_graph.db import RequestConnection
from lms_graph.errors import Forbidden, Unauthenticated
from lms_graph.queries import USER_COLUMNS
from lms_graph.records import UserRecord
from lms_graph.settings import Settings

ALGORITHM = "HS256"
ISSUER = "lms-graph"


def issue_token(settings: Settings, user_id: int, ttl_seconds: int | None = None) -> str:
    now = dt.datetime.now(dt.UTC)
    ttl = settings.token_ttl_seconds if ttl_seconds is None else ttl_seconds
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl),
        "iss": ISSUER,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


_VERIFIED: dict[tuple[str, str], tuple[int, int]] = {}
"""Tokens verified already, by (secret key, token): (user ID, expiry). A dashboard sends
the same token with every request; checking its expiry again is all that is needed."""
_VERIFIED_SIZE = 4096


def user_id_from_token(settings: Settings, token: str) -> int:
    """The user a token was issued to; a forged, expired or malformed token is refused."""
    key = (settings.secret_key, token)
    verified = _VERIFIED.get(key)
    if verified is not None and verified[1] > time.time():
        return verified[0]
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        user_id = int(claims["sub"])
        expires = int(claims["exp"])
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired: ask for a new one.") from None
    except (jwt.InvalidTokenError, ValueError):
        raise Unauthenticated("The token is not valid.") from None
    if len(_VERIFIED) >= _VERIFIED_SIZE:
        _VERIFIED.clear()
    _VERIFIED[key] = (user_id, expires)
    return user_id


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send the token as 'Authorization: Bearer <token>'.")
    return token.strip()


@dataclasses.dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: their user row and the courses they instruct."""

    user: UserRecord | None
    instructs: frozenset[int] = frozenset()

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    @property
    def id(self) -> int:
        if self.user is None:
            raise Unauthenticated()
        return self.user.id

    def require_user(self) -> UserRecord:
        if self.user is None:
            raise Unauthenticated()
        return self.user

    def require_admin(self) -> None:
        self.require_user()
        if not self.is_admin:
            raise Forbidden("Only administrators may do this.")

    def manages(self, course_id: int) -> bool:
        """Admin, or instructor of that course."""
        return self.is_admin or course_id in self.instructs

    def require_manager(self, course_id: int) -> None:
        self.require_user()
        if not self.manages(course_id):
            raise Forbidden("Only administrators and this course's instructors may do this.")


ANONYMOUS = Viewer(user=None)


_VIEWER = (
    select(*USER_COLUMNS, m.CourseInstructor.course_id)
    .outerjoin(m.CourseInstructor, m.CourseInstructor.user_id == m.User.id)
    .where(m.User.id == bindparam("user_id"))
)
"""Built once: every request with a token runs it."""


async def load_viewer(db: RequestConnection | AsyncConnection, user_id: int) -> Viewer:
    """One statement: the user and the courses they instruct. Deactivated users are refused."""
    rows = (await db.execute(_VIEWER, {"user_id": user_id})).mappings().all()
    if not rows:
        raise Unauthenticated("The token's user no longer exists.")
    user = UserRecord.from_row(rows[0])
    if not user.active:
        raise Unauthenticated("This account is deactivated.")
    instructs = frozenset(row["course_id"] for row in rows if row["course_id"] is not None)
    return Viewer(user=user, instructs=instructs)
