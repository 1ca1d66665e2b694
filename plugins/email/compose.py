"""A queued mail as it leaves: headers, a text part and an HTML part.

Every text a user typed (names, course titles, messages) reaches a header only through
``header_text``, which turns line breaks and other control characters into spaces, and
through the ``email`` package's header classes, which encode anything beyond ASCII
(RFC 2047): no header can be injected. In the bodies it is plain text, HTML-escaped in
the HTML part.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from lms_graph import to_global_id
from lms_graph_plugins.email.config import MailConfig
from lms_graph_plugins.email.links import unsubscribe_url

MAX_SUBJECT = 200
"""Characters of a subject; longer ones are cut (with an ellipsis)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Outgoing:
    """What sending needs of an outbox row."""

    id: int
    user_id: int
    recipient: str
    subject: str
    content: Mapping[str, Any]
    message_id: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Quote:
    """Someone's own words (the administrator's message), kept as they wrote them."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


Block = Paragraph | Quote | Link

_SPACES = re.compile(r"\s+")


def header_text(value: str, limit: int = MAX_SUBJECT) -> str:
    """``value`` on one line: control characters (CR, LF, NUL...) and line or paragraph
    separators become spaces, runs of spaces one; cut at ``limit`` characters."""
    cleaned = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char for char in value
    )
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def _day(iso: str | None) -> str:
    if not iso:
        return ""
    day = dt.date.fromisoformat(iso)
    return f"{day:%A} {day.day} {day:%B %Y}"


def course_url(config: MailConfig, course_id: int) -> str:
    return f"{config.public_url}/courses/{quote(to_global_id('Course', course_id), safe='')}"


def blocks_for(content: Mapping[str, Any], config: MailConfig) -> list[Block]:
    """The body of a mail, from its template name and the values it was queued with."""
    template = content.get("template")
    name = content.get("name") or "there"
    title = content.get("course_title") or ""
    due = _day(content.get("due_date"))
    course_id = content.get("course_id")
    blocks: list[Block] = [Paragraph(f"Hello {name},")]
    if template == "assignment":
        kind = "a required" if content.get("assignment") == "REQUIRED" else "an optional"
        blocks.append(
            Paragraph(
                f"You have been assigned {title} as {kind} course"
                + (f", due on {due}." if due else ".")
            )
        )
        if content.get("body"):
            blocks += [Paragraph("Your administrator wrote:"), Quote(content["body"])]
    elif template == "certificate":
        blocks.append(Paragraph(f"Congratulations: you earned a certificate for {title}."))
        blocks.append(
            Link(
                "Anyone can check it at",
                f"{config.public_url}/certificates/verify/{quote(content['code'], safe='')}",
            )
        )
    elif template == "reminder_before":
        blocks.append(
            Paragraph(f"A reminder: {title} is due on {due}, and it is not complete yet.")
        )
    elif template == "reminder_after":
        blocks.append(Paragraph(f"{title} was due on {due}, and it is not complete yet."))
    else:  # a notification of its own kind: its subject and body
        blocks.append(Paragraph(content.get("subject") or ""))
        if content.get("body"):
            blocks.append(Quote(content["body"]))
    if course_id is not None:
        blocks.append(Link("Open the course", course_url(config, int(course_id))))
    return blocks


def render_text(blocks: Sequence[Block], footer: Sequence[Block] = ()) -> str:
    parts: list[str] = []
    for block in [*blocks, *footer]:
        if isinstance(block, Link):
            parts.append(f"{block.label}: {block.url}")
        elif isinstance(block, Quote):
            parts.append("\n".join(f"> {line}" for line in block.text.splitlines() or [""]))
        else:
            parts.append(block.text)
    return "\n\n".join(parts) + "\n"


def render_html(blocks: Sequence[Block], footer: Sequence[Block] = ()) -> str:
    def one(block: Block, style: str = "") -> str:
        if isinstance(block, Link):
            return (
                f'<p{style}>{html.escape(block.label)}: <a href="{html.escape(block.url)}">'
                f"{html.escape(block.url)}</a></p>"
            )
        if isinstance(block, Quote):
            lines = "<br>".join(html.escape(line) for line in block.text.splitlines())
            return (
                '<blockquote style="margin:0 0 1em;padding-left:1em;border-left:3px solid #ccc">'
                f"{lines}</blockquote>"
            )
        return f"<p{style}>{html.escape(block.text)}</p>"

    small = ' style="color:#666;font-size:smaller"'
    body = "\n".join([*(one(b) for b in blocks), *(one(b, small) for b in footer)])
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family:sans-serif;line-height:1.4">\n{body}\n</body></html>\n'
    )


def compose(mail: Outgoing, config: MailConfig, secret_key: str) -> EmailMessage:
    """The message for ``mail``. Its bytes are the same on every attempt (the Date is
    when it was queued), so a retry after an unknown outcome is the same message, with
    the same Message-ID."""
    blocks = blocks_for(mail.content, config)
    footer: list[Block] = []
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = Address(
        display_name=header_text(mail.content.get("name") or "", 100), addr_spec=mail.recipient
    )
    message["Subject"] = header_text(mail.subject)
    message["Date"] = format_datetime(mail.created_at.astimezone(dt.UTC))
    message["Message-ID"] = mail.message_id
    message["Auto-Submitted"] = "auto-generated"
    if str(mail.content.get("template", "")).startswith("reminder_"):
        url = unsubscribe_url(config, secret_key, mail.user_id)
        message["List-Unsubscribe"] = f"<{url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        footer.append(Link("To stop these reminders", url))
    message.set_content(render_text(blocks, footer), cte="quoted-printable")
    message.add_alternative(render_html(blocks, footer), subtype="html", cte="quoted-printable")
    return message


class _Policy(EmailPolicy):
    """SMTP's policy (CRLF, lines folded at 78), except that the ``List-Unsubscribe``
    headers are written on one line as they are: folded, a URL with no space in it would
    become RFC 2047 encoded words, which mail clients do not read as a link. Their value
    is ASCII this module wrote (the link of a checked ``LMS_PUBLIC_URL``)."""

    def fold(self, name: str, value: str) -> str:
        if name.lower().startswith("list-unsubscribe"):
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower().startswith("list-unsubscribe"):
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


SMTP_POLICY = _Policy(linesep="\r\n")


def as_bytes(message: EmailMessage) -> bytes:
    """The message as it goes over SMTP (CRLF line ends, 7-bit headers)."""
    return message.as_bytes(policy=SMTP_POLICY)


def new_message_id(token: str, config: MailConfig) -> str:
    return f"<{token}@{config.domain}>"
