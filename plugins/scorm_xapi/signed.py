"""Signed statements (xAPI 1.0.3, Data 2.6).

A signature is an attachment with usageType ``.../attachments/signature`` and
contentType ``application/octet-stream`` whose part is a JWS in compact form, signed with
RS256, RS384 or RS512, whose payload is the statement as it was signed (without its
``attachments``). This LRS checks that form, the algorithm and that the payload is the
statement (compared as xAPI compares statements). When the JWS header carries the
signer's key (``x5c``: an X.509 certificate chain, the first one used; or ``jwk``) the
RSA signature is verified against it (``rsa.py``); without one there is no key to check
it with (xAPI 1.0.3 makes ``x5c`` optional) and trusting the signer is the reader's
business. Anything else about a signature is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from lms_graph import BadInput
from lms_graph_plugins.scorm_xapi.attachments import SIGNATURE, Part
from lms_graph_plugins.scorm_xapi.rsa import BadKey, header_key, verify
from lms_graph_plugins.scorm_xapi.statements import normalized, signature

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
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise BadInput("A statement's signature uses RS256, RS384 or RS512.")
    signed_bytes = _segment(pieces[2])
    try:
        key = header_key(header)
    except BadKey as error:
        raise BadInput(f"The signature's key cannot be read: {error}.") from None
    if key is not None and not verify(
        str(algorithm), key, f"{pieces[0]}.{pieces[1]}".encode(), signed_bytes
    ):
        raise BadInput("The statement's signature does not verify with the key it names.")
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
