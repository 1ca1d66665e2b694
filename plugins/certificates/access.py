"""Signed download links to certificates."""

from __future__ import annotations

from lms_graph import LMS, sign_download


def pdf_path(code: str) -> str:
    return f"/certificates/{code}.pdf"


def download_url(lms: LMS, viewer_user_id: int, code: str) -> str:
    """A short-lived link to the certificate's PDF, for this user."""
    return sign_download(lms.settings, viewer_user_id, pdf_path(code))
