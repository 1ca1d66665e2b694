"""Signed, short-lived download links: ``path?token=...``.

A link names one path and the user it was made for, and expires after a few
minutes. It proves only who asked for it: the route serving the path checks
again, on every request, that this user may still have the file. Nothing is
stored, so any worker can serve a link another one signed.

The token is a JWT (HS256 with ``LMS_SECRET_KEY``) whose audience ``download``
keeps it apart from bearer tokens: neither is accepted in place of the other.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import jwt
from starlette.requests import Request

from lms_graph.auth import Viewer, bearer_token, load_viewer, user_id_from_token
from lms_graph.core import LMS
from lms_graph.errors import Unauthenticated
from lms_graph.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "download"
DEFAULT_TTL_SECONDS = 300


def sign(settings: Settings, viewer_user_id: int, path: str, ttl: int = DEFAULT_TTL_SECONDS) -> str:
    """``path?token=...``: a link to ``path`` for this user, valid ``ttl`` seconds."""
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(viewer_user_id),
        "aud": AUDIENCE,
        "path": path,
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl),
    }
    token = jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)
    return f"{path}?{urlencode({'token': token})}"


def verify(settings: Settings, request_path: str, token: str) -> int:
    """The user a link was signed for; a forged or expired token, or one signed
    for another path, is refused (``Unauthenticated``)."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud", "path"]},
        )
        user_id = int(claims["sub"])
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("This download link has expired: ask for a new one.") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise Unauthenticated("This download link is not valid.") from None
    if claims["path"] != request_path:
        raise Unauthenticated("This download link is not valid.")
    return user_id


def download_user_id(settings: Settings, request: Request, path: str) -> int:
    """Who asks for ``path``: the user of a signed link's ``?token=``, else of the bearer
    token (``Unauthenticated`` without either, or when it is refused)."""
    token = request.query_params.get("token")
    if token is not None:
        return verify(settings, path, token)
    bearer = bearer_token(request.headers.get("authorization"))
    if bearer is None:
        raise Unauthenticated("Open a download link, or send 'Authorization: Bearer <token>'.")
    return user_id_from_token(settings, bearer)


async def download_viewer(lms: LMS, request: Request, path: str) -> Viewer:
    """The viewer behind a download request, as they are now (active, what they teach):
    what a plugin's download route checks rights against."""
    user_id = download_user_id(lms.settings, request, path)
    async with lms.db.reader() as conn:
        return await load_viewer(conn, user_id)
