"""``/mail/unsubscribe``: the link in every reminder mail.

``GET`` shows a page with one button (so that a link checker opening the link changes
nothing); ``POST`` turns the user's reminders off: the button, and mail clients' one-click
unsubscribe (RFC 8058, ``List-Unsubscribe-Post``). A link whose signature does not match
is refused (403 ``FORBIDDEN``) and changes nothing.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lms_graph import LMS, LMSError
from lms_graph_plugins.email.links import PATH, valid
from lms_graph_plugins.email.preferences import set_reminders

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_STATUS = {"BAD_USER_INPUT": 400, "FORBIDDEN": 403, "NOT_FOUND": 404}


def _user_id(lms: LMS, request: Request) -> int:
    raw_user = request.query_params.get("user", "")
    given = request.query_params.get("sig", "")
    if not raw_user or not given:
        raise LMSError("This unsubscribe link is incomplete.", code="BAD_USER_INPUT")
    if not (raw_user.isascii() and raw_user.isdigit() and len(raw_user) <= 18):
        raise LMSError("This unsubscribe link names no user.", code="BAD_USER_INPUT")
    user_id = int(raw_user)
    if not valid(lms.settings.secret_key, user_id, given):
        raise LMSError(
            "This unsubscribe link is not valid: its signature does not match.", code="FORBIDDEN"
        )
    return user_id


def _page(title: str, text: str, form: bool = False, status: int = 200) -> HTMLResponse:
    button = (
        '<form method="post"><button type="submit">Stop reminder e-mails</button></form>'
        if form
        else ""
    )
    return HTMLResponse(
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(text)}</p>{button}</body></html>",
        status,
        _HEADERS,
    )


def _refusal(request: Request, error: LMSError) -> Response:
    status = _STATUS.get(error.code, 400)
    if "text/html" in request.headers.get("accept", ""):
        return _page("Unsubscribe", error.message, status=status)
    return JSONResponse({"error": error.message, "code": error.code}, status, _HEADERS)


def routes(lms: LMS) -> list[BaseRoute]:
    async def unsubscribe(request: Request) -> Response:
        try:
            user_id = _user_id(lms, request)
            if request.method == "GET":
                return _page(
                    "Unsubscribe",
                    "Stop the e-mails that remind you of due dates? Mails about new "
                    "assignments keep coming.",
                    form=True,
                )
            if not await set_reminders(lms, user_id, False):
                raise LMSError("This user no longer exists.", code="NOT_FOUND")
        except LMSError as error:
            return _refusal(request, error)
        return _page("Unsubscribed", "You will get no more due-date reminders by e-mail.")

    return [Route(PATH, unsubscribe, methods=["GET", "POST"])]
