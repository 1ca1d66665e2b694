"""An xAPI request as the resources read it, whichever syntax it came in.

The alternate request syntax (xAPI 1.0.3, Communication 1.3): a ``POST`` with only
``?method=GET|PUT|POST|DELETE|HEAD`` in the URL and an
``application/x-www-form-urlencoded`` body carrying the headers (``Authorization``,
``X-Experience-API-Version``, ``Content-Type``, ``If-Match``, ``If-None-Match``), the
content (``content``) and the parameters. Browsers use it to avoid CORS preflights.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping

from starlette.requests import Request

from lms_graph import BadInput

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
FORM_HEADERS = frozenset(
    {
        "authorization",
        "x-experience-api-version",
        "content-type",
        "content-length",
        "if-match",
        "if-none-match",
    }
)
"""Form fields that are headers, compared without case; every other one is a parameter."""


@dataclasses.dataclass(frozen=True, slots=True)
class XRequest:
    method: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    """Names in lower case."""
    body: bytes
    alternate: bool = False
    head: bool = False
    """Answer without the body (``HEAD``, or ``method=HEAD``)."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/json")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _single(pairs: list[tuple[str, str]], what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found:
            raise BadInput(f"The {what} {name!r} is given twice.")
        if "\x00" in name or "\x00" in value:
            raise BadInput("A query parameter holds a NUL character (%00).")
        found[name] = value
    return found


async def read_request(request: Request) -> XRequest:
    headers = {name.lower(): value for name, value in request.headers.items()}
    query = request.query_params.multi_items()
    if request.method == "POST" and any(name == "method" for name, _ in query):
        return await _alternate(request, headers, query)
    method = "GET" if request.method == "HEAD" else request.method
    params = _single(query, "parameter")
    body = await request.body()
    return XRequest(method, params, headers, body, head=request.method == "HEAD")


async def _alternate(
    request: Request, headers: dict[str, str], query: list[tuple[str, str]]
) -> XRequest:
    if len(query) != 1:
        raise BadInput(
            "With ?method= (the alternate request syntax), every other parameter goes in the "
            "form body."
        )
    method = query[0][1].upper()
    if method not in METHODS:
        raise BadInput(f"method must be one of {', '.join(METHODS)}.")
    content_type = headers.get("content-type", "")
    if not content_type.lower().startswith("application/x-www-form-urlencoded"):
        raise BadInput(
            "The alternate request syntax sends application/x-www-form-urlencoded content."
        )
    try:
        text = (await request.body()).decode()
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise BadInput("The form body cannot be read.") from None
    form = _single(pairs, "form field")
    merged = {k: v for k, v in headers.items() if k not in ("content-type", "content-length")}
    params: dict[str, str] = {}
    content = ""
    for name, value in form.items():
        if name.lower() in FORM_HEADERS:
            merged[name.lower()] = value
        elif name == "content":
            content = value
        else:
            params[name] = value
    if method in ("PUT", "POST") and "content-type" not in merged:
        merged["content-type"] = "application/json"
    return XRequest(
        "GET" if method == "HEAD" else method,
        params,
        merged,
        content.encode(),
        alternate=True,
        head=method == "HEAD",
    )
