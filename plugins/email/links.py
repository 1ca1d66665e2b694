"""The signed unsubscribe link of reminder mails.

``/mail/unsubscribe?user=<user pk>&sig=<HMAC>``: the signature (HMAC-SHA256 of the
user's ID with the service's ``LMS_SECRET_KEY``) proves the link came from a mail to
that user, so nobody can turn off someone else's reminders by guessing IDs. It does not
expire: an unsubscribe link must keep working for as long as the mails it came in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from lms_graph_plugins.email.config import MailConfig

PATH = "/mail/unsubscribe"
_PURPOSE = b"lms-graph mail unsubscribe\x00"


def signature(secret_key: str, user_id: int) -> str:
    digest = hmac.new(secret_key.encode(), _PURPOSE + str(user_id).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:24]).decode().rstrip("=")


def valid(secret_key: str, user_id: int, given: str) -> bool:
    return hmac.compare_digest(
        signature(secret_key, user_id).encode(), given.encode("utf-8", "replace")
    )


def unsubscribe_url(config: MailConfig, secret_key: str, user_id: int) -> str:
    return f"{config.public_url}{PATH}?user={user_id}&sig={signature(secret_key, user_id)}"
