"""Statement attachments (xAPI 1.0.3, Data 2.4.11, Communication 1.5.2).

In: ``application/json`` (attachments by ``fileUrl`` only), or ``multipart/mixed``: the
first part the statements (``application/json``), then one part per attachment, each
with ``X-Experience-API-Hash`` (its SHA-256, the ``sha2`` of the attachment) and
``Content-Transfer-Encoding: binary``. Every attachment without ``fileUrl`` needs its
part, every part an attachment naming its hash, and a part's content must hash to it.

Stored: the content once per hash (``xapi_attachments``). Out: ``attachments=true``
answers ``multipart/mixed`` with the statements first, then the parts they name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from starlette.responses import Response

from lms_graph import BadInput, SQLExecutor
from lms_graph_plugins.scorm_xapi.bodies import dumps, loads
from lms_graph_plugins.scorm_xapi.tables import xapi_attachments
from lms_graph_plugins.scorm_xapi.xrequest import XRequest

HASH_HEADER = "x-experience-api-hash"
SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
MAX_CONTENT_TYPE = 255


@dataclasses.dataclass(frozen=True, slots=True)
class Part:
    sha2: str
    content_type: str
    content: bytes


def _boundary(content_type: str) -> bytes:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary" and value.strip():
            return value.strip().strip('"').encode()
    raise BadInput("A multipart/mixed request needs a boundary in its Content-Type.")


def _parts(body: bytes, boundary: bytes) -> list[tuple[dict[str, str], bytes]]:
    delimiter = b"--" + boundary
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise BadInput("The multipart/mixed body is not complete (no closing boundary).")
    found: list[tuple[dict[str, str], bytes]] = []
    for chunk in chunks[1:-1]:
        chunk = chunk.removeprefix(b"\r\n")
        chunk = chunk.removesuffix(b"\r\n")
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            head, separator, content = chunk.partition(b"\n\n")
            if not separator:
                head, content = chunk, b""
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        found.append((headers, content))
    return found


def read_statement_request(xr: XRequest) -> tuple[Any, dict[str, Part]]:
    """The statements of a POST/PUT body, and the attachment parts by hash."""
    content_type = xr.content_type.lower()
    if content_type.startswith("application/json"):
        return loads(xr.body), {}
    if not content_type.startswith("multipart/mixed"):
        raise BadInput("Send statements as application/json, or multipart/mixed with attachments.")
    parts = _parts(xr.body, _boundary(xr.content_type))
    if not parts:
        raise BadInput("The multipart/mixed body holds no part.")
    first_headers, first = parts[0]
    if not first_headers.get("content-type", "").lower().startswith("application/json"):
        raise BadInput("The first part of a multipart/mixed request is the statements (JSON).")
    found: dict[str, Part] = {}
    for headers, content in parts[1:]:
        sha2 = headers.get(HASH_HEADER)
        if not sha2:
            raise BadInput("Each attachment part needs an X-Experience-API-Hash header.")
        if headers.get("content-transfer-encoding", "binary").lower() != "binary":
            raise BadInput("Attachment parts are sent with Content-Transfer-Encoding: binary.")
        if hashlib.sha256(content).hexdigest() != sha2.lower():
            raise BadInput(
                f"The attachment part {sha2} does not hash to its X-Experience-API-Hash."
            )
        part_type = headers.get("content-type", "application/octet-stream")
        if len(part_type) > MAX_CONTENT_TYPE:
            raise BadInput(f"A part's Content-Type is at most {MAX_CONTENT_TYPE} characters.")
        found[sha2.lower()] = Part(sha2.lower(), part_type, content)
    return loads(first, "The statements part"), found


def _attachments_of(statement: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from statement.get("attachments") or []
    obj = statement.get("object")
    if isinstance(obj, Mapping) and obj.get("objectType") == "SubStatement":
        yield from obj.get("attachments") or []


def match_parts(batch: Sequence[Mapping[str, Any]], parts: Mapping[str, Part]) -> list[Part]:
    """Every attachment without ``fileUrl`` has its part; every part is named. The parts
    to store."""
    named: set[str] = set()
    for index, statement in enumerate(batch):
        for attachment in _attachments_of(statement):
            sha2 = str(attachment["sha2"]).lower()
            named.add(sha2)
            if "fileUrl" not in attachment and sha2 not in parts:
                raise BadInput(
                    f"statements[{index}]: the attachment {sha2} has no fileUrl and no part "
                    "was sent with that hash."
                )
    extra = sorted(set(parts) - named)
    if extra:
        raise BadInput(f"The part {extra[0]} is no statement's attachment.")
    return list(parts.values())


async def store_parts(db: SQLExecutor, parts: Sequence[Part]) -> None:
    if not parts:
        return
    a = xapi_attachments.c
    known = set(
        (await db.execute(select(a.sha2).where(a.sha2.in_([p.sha2 for p in parts])))).scalars()
    )
    fresh = [p for p in parts if p.sha2 not in known]
    if fresh:
        await db.execute(
            insert(xapi_attachments),
            [{"sha2": p.sha2, "content_type": p.content_type, "content": p.content} for p in fresh],
        )


async def stored_parts(db: SQLExecutor, statements: Sequence[Mapping[str, Any]]) -> list[Part]:
    wanted = sorted({str(a["sha2"]).lower() for s in statements for a in _attachments_of(s)})
    if not wanted:
        return []
    a = xapi_attachments.c
    rows = await db.execute(select(a.sha2, a.content_type, a.content).where(a.sha2.in_(wanted)))
    return [Part(row.sha2, row.content_type, bytes(row.content)) for row in rows]


def statement_result(body: Any, parts: Sequence[Part] | None) -> Response:
    """JSON, or with ``attachments=true`` multipart/mixed: the JSON then each part."""
    if parts is None:
        return Response(dumps(body), media_type="application/json")
    boundary = uuid.uuid4().hex
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
        dumps(body),
        b"\r\n",
    ]
    for part in parts:
        chunks.append(
            f"--{boundary}\r\nContent-Type: {part.content_type}\r\n"
            "Content-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {part.sha2}\r\n\r\n".encode()
        )
        chunks.append(part.content)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(b"".join(chunks), media_type=f"multipart/mixed; boundary={boundary}")
