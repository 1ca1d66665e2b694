"""Signed statements (xAPI 1.0.3, Data 2.6).

A signature is an attachment with usageType ``.../attachments/signature`` and
contentType ``application/octet-stream`` whose part is a JWS in compact form, signed with
RS256, RS384 or RS512, whose payload is the statement as it was signed (without its
``attachments``). This LRS checks that form, the algorithm and that the payload is the
statement (compared as xAPI compares statements); it cannot check the RSA signature
itself without the signer's key, which xAPI 1.0.3 leaves to the consumer (an ``x5c``
certificate chain is optional). Anything else about a signature is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from lms_graph import BadInput
from plugins.scorm_xapi.attachments import SIGNATURE, Part
from plugins.scorm_xapi.statements import normalized, signature

ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})


def _segment(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadInput("The statement's signature is not a JWS (bad base64url).") from None


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise BadInput(f"The signature's {what} is not valid JSON.") from None
    if not isinstance(value, dict):
        raise BadInput(f"The signature's {what} is not a JSON object.")
    return value


def check_signature(statement: Mapping[str, Any], jws: bytes) -> None:
    try:
        pieces = jws.decode("ascii").strip().split(".")
    except UnicodeDecodeError:
        raise BadInput("The statement's signature is not a JWS in compact form.") from None
    if len(pieces) != 3 or not all(pieces):
        raise BadInput("The statement's signature is not a JWS in compact form.")
    header = _json_object(_segment(pieces[0]), "header")
    if header.get("alg") not in ALGORITHMS:
        raise BadInput("A statement's signature uses RS256, RS384 or RS512.")
    _segment(pieces[2])
    payload = _json_object(_segment(pieces[1]), "payload")
    signed = {k: v for k, v in payload.items() if k != "attachments"}
    sent = {k: v for k, v in statement.items() if k != "attachments"}
    same_id = str(signed.get("id", sent.get("id", ""))).lower() == str(sent.get("id", "")).lower()
    if not same_id or signature(normalized(signed)) != signature(normalized(sent)):
        raise BadInput("The signature's payload is not the statement it is attached to.")


def check_signatures(batch: Sequence[Mapping[str, Any]], parts: Mapping[str, Part]) -> None:
    for index, statement in enumerate(batch):
        for attachment in statement.get("attachments") or []:
            if attachment.get("usageType") != SIGNATURE:
                continue
            if str(attachment.get("contentType", "")).lower() != "application/octet-stream":
                raise BadInput(
                    f"statements[{index}]: a signature attachment's contentType is "
                    "application/octet-stream."
                )
            part = parts.get(str(attachment.get("sha2", "")).lower())
            if part is None:
                raise BadInput(f"statements[{index}]: the signature was not sent as a part.")
            check_signature(statement, part.content)
