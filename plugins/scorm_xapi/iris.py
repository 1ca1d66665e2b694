"""Activity IRIs of courses and chapters, and how an xAPI agent names a user.

IRIs are URNs built from primary keys (``urn:lms-graph:course:12``,
``urn:lms-graph:chapter:34``): stable whatever host name the service runs
under, and read back without a lookup table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lms_graph import LMSError, UserRecord, decode_id, to_global_id

PREFIX = "urn:lms-graph:"
ACCOUNT_HOME = "urn:lms-graph:users"
"""``account.homePage`` of agents named by their user ID (``account.name``: the relay ID)."""

_ACTIVITY = re.compile(r"^urn:lms-graph:(course|chapter):([1-9][0-9]{0,9})$")
MAX_ID = 2**31 - 1
"""The largest key of a course or chapter (the core's ``INTEGER`` keys): an IRI naming a
larger one names nothing of ours, as ``decode_id`` has it for IDs."""


def course_iri(course_id: int) -> str:
    return f"{PREFIX}course:{course_id}"


def chapter_iri(chapter_id: int) -> str:
    return f"{PREFIX}chapter:{chapter_id}"


def parse_activity(iri: str) -> tuple[str, int] | None:
    """``("course", 12)`` or ``("chapter", 34)`` for one of ours, else None."""
    match = _ACTIVITY.match(iri)
    if match is None or int(match.group(2)) > MAX_ID:
        return None
    return match.group(1), int(match.group(2))


def agent_of(user_id: int, email: str | None, name: str | None) -> dict[str, Any]:
    """The xAPI Agent of a user: by ``mbox`` when they have an email, else by account."""
    agent: dict[str, Any] = {"objectType": "Agent"}
    if name:
        agent["name"] = name
    if email:
        agent["mbox"] = f"mailto:{email}"
    else:
        agent["account"] = {"homePage": ACCOUNT_HOME, "name": to_global_id("User", user_id)}
    return agent


def agent_email(agent: Mapping[str, Any]) -> str | None:
    mbox = agent.get("mbox")
    if isinstance(mbox, str) and mbox.lower().startswith("mailto:"):
        return mbox[len("mailto:") :].strip().lower()
    return None


def agent_user_id(agent: Mapping[str, Any]) -> int | None:
    """The user an ``account`` agent names, when its homePage is ours."""
    account = agent.get("account")
    if not isinstance(account, Mapping) or account.get("homePage") != ACCOUNT_HOME:
        return None
    try:
        return decode_id(str(account.get("name")), "User")
    except LMSError:
        return None


def is_self(agent: Mapping[str, Any], user: UserRecord) -> bool:
    """Whether an Agent identifies this user (by mbox or by our account)."""
    if agent.get("objectType") == "Group":
        return False
    email = agent_email(agent)
    if email is not None:
        return user.email is not None and email == user.email.lower()
    return agent_user_id(agent) == user.id
