"""The reference dashboard: static files served at ``/admin/``.

The page is plain HTML, CSS and ES modules (no build step) and talks to the service
only the way any frontend could: ``/graphql`` with a bearer token, the import upload
and the signed download links. The files themselves hold no data, so they are
public; every data call carries the token the administrator pastes in.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from lms_graph.settings import Settings

ASSETS = Path(__file__).parent
PREFIX = "/admin"

_HEADERS = {
    # Only this origin's scripts and styles; no framing (clickjacking), no sniffing.
    b"content-security-policy": (
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"base-uri 'none'; frame-ancestors 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"cache-control": b"no-cache",
}


class _Assets(StaticFiles):
    """The asset files, with the headers above; Python sources are not served."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").endswith((".py", ".pyc")):
            await Response("Not Found", status_code=404)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS.items()]
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def routes(settings: Settings) -> list[BaseRoute]:
    """``/admin/`` when the dashboard is on (``LMS_ADMIN_UI``), else nothing."""
    if not settings.admin_ui_enabled:
        return []

    async def to_index(_: object) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    return [
        Route(PREFIX, to_index, methods=["GET", "HEAD"]),
        Mount(PREFIX, app=_Assets(directory=ASSETS, html=True), name="admin"),
    ]
