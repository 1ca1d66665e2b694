"""RSASSA-PKCS1-v1_5 verification (RS256/384/512, RFC 7518 section 3.3) and the RSA public
key of an X.509 certificate (DER) or a JWK, in plain Python: what a signed statement's
JWS header (``x5c`` or ``jwk``) lets the LRS check without a cryptography library."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

_DIGEST_INFO = {
    "RS256": (hashlib.sha256, bytes.fromhex("3031300d060960864801650304020105000420")),
    "RS384": (hashlib.sha384, bytes.fromhex("3041300d060960864801650304020205000430")),
    "RS512": (hashlib.sha512, bytes.fromhex("3051300d060960864801650304020305000440")),
}
_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")  # OID 1.2.840.113549.1.1.1
MAX_BITS = 8192


class BadKey(ValueError):
    """The header's key cannot be read."""


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at ``at``."""
    if at + 2 > len(data):
        raise BadKey("truncated DER")
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or at + count > len(data):
            raise BadKey("bad DER length")
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise BadKey("truncated DER")
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found = []
    while start < end:
        tag, value, after = _tlv(data, start)
        found.append((tag, value, after))
        start = after
    return found


def _rsa_key(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Search a DER tree for a SubjectPublicKeyInfo of rsaEncryption; its (n, e)."""
    for tag, value, after in _children(data, start, end):
        if tag != 0x30:  # only SEQUENCEs lead to the key
            continue
        inner = _children(data, value, after)
        if (
            len(inner) == 2
            and inner[0][0] == 0x30
            and inner[1][0] == 0x03
            and _RSA_ENCRYPTION in data[inner[0][1] : inner[0][2]]
        ):
            bits = data[inner[1][1] : inner[1][2]]
            if not bits or bits[0] != 0:
                raise BadKey("bad public key bits")
            key = bits[1:]
            _, seq, seq_end = _tlv(key, 0)
            numbers = _children(key, seq, seq_end)
            if len(numbers) != 2 or any(tag != 0x02 for tag, _, _ in numbers):
                raise BadKey("bad RSA public key")
            n, e = (int.from_bytes(key[a:b], "big") for _, a, b in numbers)
            return n, e
        deeper = _rsa_key(data, value, after)
        if deeper is not None:
            return deeper
    return None


def _b64url_int(value: Any) -> int:
    if not isinstance(value, str):
        raise BadKey("a JWK number is not a string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise BadKey("a JWK number is not base64url") from None
    return int.from_bytes(raw, "big")


def header_key(header: Mapping[str, Any]) -> tuple[int, int] | None:
    """The RSA key a JWS header carries (``x5c``: the first certificate; ``jwk``), if any."""
    chain = header.get("x5c")
    if chain is not None:
        if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
            raise BadKey("x5c must be a list of base64 certificates")
        try:
            der = base64.b64decode(chain[0], validate=True)
        except (binascii.Error, ValueError):
            raise BadKey("x5c[0] is not base64") from None
        _, start, end = _tlv(der, 0)
        key = _rsa_key(der, start, end)
        if key is None:
            raise BadKey("x5c[0] holds no RSA public key")
        return _checked(key)
    jwk = header.get("jwk")
    if jwk is not None:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
            raise BadKey("jwk must be an RSA key")
        return _checked((_b64url_int(jwk.get("n")), _b64url_int(jwk.get("e"))))
    return None


def _checked(key: tuple[int, int]) -> tuple[int, int]:
    n, e = key
    if n.bit_length() < 512 or n.bit_length() > MAX_BITS or e < 3 or e % 2 == 0:
        raise BadKey("unusable RSA key")
    return n, e


def verify(algorithm: str, key: tuple[int, int], signing_input: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the RSASSA-PKCS1-v1_5 signature of ``signing_input``."""
    hasher, prefix = _DIGEST_INFO[algorithm]
    n, e = key
    size = (n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    value = int.from_bytes(signature, "big")
    if value >= n:
        return False
    encoded = pow(value, e, n).to_bytes(size, "big")
    digest = prefix + hasher(signing_input).digest()
    padding = size - len(digest) - 3
    if padding < 8:
        return False
    expected = b"\x00\x01" + b"\xff" * padding + b"\x00" + digest
    return hmac.compare_digest(encoded, expected)
