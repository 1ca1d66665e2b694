"""``GET /certificates/{code}.pdf`` and ``GET /certificates/verify/{code}``."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import TTFFont
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lms_graph import LMS, LMSError, download_viewer
from lms_graph_plugins.certificates.access import pdf_path
from lms_graph_plugins.certificates.tables import certificates, courses, users

_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404}
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def routes(lms: LMS) -> list[BaseRoute]:
    async def pdf(request: Request) -> Response:
        return await _pdf(lms, request)

    async def verify(request: Request) -> Response:
        return await _verify(lms, request)

    return [
        Route("/certificates/verify/{code}", verify, methods=["GET"]),
        Route("/certificates/{code}.pdf", pdf, methods=["GET"]),
    ]


MAX_CODE_LENGTH = 64
"""Characters in a verification code (its column): a longer one names no certificate."""


async def _row(lms: LMS, code: str) -> Any:
    """The certificate with this code, or None. A code no certificate can have (too long,
    or holding a NUL character, which PostgreSQL cannot compare) is not looked up."""
    if len(code) > MAX_CODE_LENGTH or "\x00" in code:
        return None
    async with lms.db.reader() as conn:
        return (
            await conn.execute(
                select(
                    certificates.c.user_id,
                    certificates.c.course_id,
                    certificates.c.code,
                    certificates.c.issued_at,
                    certificates.c.revoked_at,
                    certificates.c.expires_at,
                    certificates.c.credits,
                    certificates.c.attempt_number,
                    users.c.name,
                    courses.c.title,
                )
                .join(users, users.c.id == certificates.c.user_id)
                .join(courses, courses.c.id == certificates.c.course_id)
                .where(certificates.c.code == code)
            )
        ).first()


def _status(row: Any, now: dt.datetime) -> str | None:
    """None for a valid certificate, else why it is not: EXPIRED when it expired before
    anything else happened to it (a new certificate replacing an expired one revokes it),
    REVOKED when it was removed or taken back while valid."""
    expired = row.expires_at is not None and row.expires_at <= (row.revoked_at or now)
    if expired:
        return "EXPIRED"
    if row.revoked_at is not None:
        return "REVOKED"
    return None


# --- verification: public ------------------------------------------------------------


async def _verify(lms: LMS, request: Request) -> Response:
    row = await _row(lms, request.path_params["code"])
    if row is None:
        return JSONResponse(
            {"valid": False, "error": "No certificate has this code."}, 404, _NO_STORE
        )
    reason = _status(row, dt.datetime.now(dt.UTC))
    body: dict[str, Any] = {
        "valid": reason is None,
        "name": row.name,
        "course": row.title,
        "issuedAt": row.issued_at.isoformat(),
        "expiresAt": row.expires_at.isoformat() if row.expires_at else None,
    }
    if reason is not None:
        body["reason"] = reason
    return JSONResponse(body, headers=_NO_STORE)


# --- the PDF: the learner, admins, the course's instructors ----------------------------


async def _pdf(lms: LMS, request: Request) -> Response:
    code = request.path_params["code"]
    try:
        viewer = await download_viewer(lms, request, pdf_path(code))
        row = await _row(lms, code)
        if row is None:
            raise LMSError("No certificate has this code.", code="NOT_FOUND")
        if not (viewer.manages(row.course_id) or viewer.id == row.user_id):
            raise LMSError(
                "Only the learner, administrators and the course's instructors may open "
                "this certificate.",
                code="FORBIDDEN",
            )
        if row.revoked_at is not None:
            raise LMSError("This certificate was revoked.", code="NOT_FOUND")
    except LMSError as error:
        status = _STATUS.get(error.code, 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"error": error.message, "code": error.code}, status, headers)
    content = await run_in_threadpool(render, row)
    filename = f"Certificate_{_slug(row.title)}_{_slug(row.name)}.pdf"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(content, media_type="application/pdf", headers=headers)


FONTS = Path(__file__).parent / "fonts"
"""DejaVu Sans (regular and bold, embedded as subsets): Latin, Greek, Cyrillic, Hebrew,
Arabic, Armenian, Georgian and more, so a learner's name is drawn as it is written."""


def _drawable(text: str, cmap: Mapping[int, Any]) -> str:
    """``text`` with what the font cannot draw replaced: a letter by its unaccented form
    when the font has that, anything else (e.g. CJK ideographs) by ``?``."""
    out = []
    for char in text:
        if ord(char) in cmap or char in "\n\r\t":
            out.append(char)
            continue
        plain = "".join(part for part in unicodedata.normalize("NFKD", char) if ord(part) in cmap)
        out.append(plain or "?")
    return "".join(out)


def render(row: Any) -> bytes:
    """A one-page landscape certificate: learner, course, date, credits, verification code."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_title(f"Certificate: {row.title}")
    pdf.set_author("lms-graph")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    width = pdf.w - 2 * pdf.l_margin
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)

    def line(text: str, size: int, style: str = "", height: float = 12) -> None:
        pdf.set_font("DejaVu", style, size)
        font = pdf.current_font
        assert isinstance(font, TTFFont)
        drawable = _drawable(text, font.cmap)
        pdf.multi_cell(width, height, drawable, align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(35)
    line("Certificate of Completion", 30, "B", 16)
    pdf.ln(8)
    line("This certifies that", 14)
    line(row.name, 24, "B", 14)
    line("has completed the course", 14)
    line(row.title, 19, "B", 12)
    pdf.ln(6)
    issued = row.issued_at.astimezone(dt.UTC).date().isoformat()
    line(f"Completed on {issued}", 12, height=8)
    line(f"Credits: {row.credits:g}", 12, height=8)
    if row.attempt_number > 1:
        line(f"Attempt {row.attempt_number}", 12, height=8)
    if row.expires_at is not None:
        line(f"Valid until {row.expires_at.astimezone(dt.UTC).date().isoformat()}", 12, height=8)
    pdf.set_y(pdf.h - 40)
    line(f"Verification code: {row.code}", 11, height=7)
    line(f"Verify at /certificates/verify/{row.code}", 9, height=6)
    return bytes(pdf.output())


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")[:60].rstrip("_")
    return slug or "certificate"
