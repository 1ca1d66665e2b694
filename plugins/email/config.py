"""The e-mail settings, read from the environment once per service (``LMS``).

``LMS_SMTP_URL`` turns delivery on: ``smtp://[user:password@]host[:port]`` (plain, port
25), ``smtp+starttls://…`` (STARTTLS required, port 587), ``smtps://…`` (TLS from the
first byte, port 465). Without it, ``LMS_MAIL_DIR`` writes each mail as an ``.eml`` file
into a folder instead (development, ``make demo``); with neither, nothing is mailed and
nothing is queued. The other settings tune the delivery loop (tests make it fast).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit
from weakref import WeakKeyDictionary

from lms_graph import LMS, StartupError

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_SENDER = "lms-graph <lms-graph@localhost>"


@dataclasses.dataclass(frozen=True, slots=True)
class SMTPServer:
    host: str
    port: int
    tls: bool
    """TLS from the first byte (``smtps``)."""
    starttls: bool
    """Upgrade with STARTTLS, and refuse to go on without it (``smtp+starttls``)."""
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        scheme = "smtps" if self.tls else "smtp+starttls" if self.starttls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"  # never the password


@dataclasses.dataclass(frozen=True, slots=True)
class MailConfig:
    smtp: SMTPServer | None = None
    folder: Path | None = None
    sender: Address = dataclasses.field(
        default_factory=lambda: Address("lms-graph", "lms-graph", "localhost")
    )
    public_url: str = DEFAULT_PUBLIC_URL
    reminder_days: int = 3
    poll_seconds: float = 5.0
    """How often a loop looks for due mail queued by other processes (its own process's
    mail is sent at once)."""
    retry_seconds: float = 10.0
    """The wait before the first retry; it doubles for each retry after, up to an hour."""
    give_up_seconds: float = 24 * 3600.0
    lease_seconds: float = 600.0
    """How long a claimed mail is left to its sender before another process may take it
    (the sender crashed or hung)."""
    sweep_seconds: float = 300.0
    """How often reminders and certificate mails are looked for."""
    smtp_timeout: float = 30.0
    batch: int = 20
    """Mails claimed (and sent over one connection) at a time."""

    @property
    def enabled(self) -> bool:
        return self.smtp is not None or self.folder is not None

    @property
    def domain(self) -> str:
        return self.sender.domain or "localhost"

    def describe(self) -> str:
        if self.smtp is not None:
            return f"through {self.smtp}"
        if self.folder is not None:
            return f"as .eml files into {self.folder}"
        return "nowhere"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], production: bool = False) -> MailConfig:
        smtp_url = environ.get("LMS_SMTP_URL", "").strip()
        folder = environ.get("LMS_MAIL_DIR", "").strip()
        sender_raw = environ.get("LMS_MAIL_FROM", "").strip()
        public_raw = environ.get("LMS_PUBLIC_URL", "").strip()
        smtp = parse_smtp_url(smtp_url) if smtp_url else None
        if smtp is not None and production:
            missing = [
                name
                for name, value in (("LMS_MAIL_FROM", sender_raw), ("LMS_PUBLIC_URL", public_raw))
                if not value
            ]
            if missing:
                raise StartupError(f"LMS_SMTP_URL is set: set {' and '.join(missing)} too")
        defaults = cls()
        return cls(
            smtp=smtp,
            folder=Path(folder).resolve() if folder and smtp is None else None,
            sender=parse_sender(sender_raw or DEFAULT_SENDER),
            public_url=_public_url(public_raw or DEFAULT_PUBLIC_URL),
            reminder_days=_whole(environ, "LMS_REMINDER_DAYS", defaults.reminder_days, 0, 365),
            poll_seconds=_number(environ, "LMS_MAIL_POLL_SECONDS", defaults.poll_seconds, 0.05),
            retry_seconds=_number(environ, "LMS_MAIL_RETRY_SECONDS", defaults.retry_seconds, 0.05),
            lease_seconds=_number(environ, "LMS_MAIL_LEASE_SECONDS", defaults.lease_seconds, 1),
            sweep_seconds=_number(environ, "LMS_MAIL_SWEEP_SECONDS", defaults.sweep_seconds, 0.05),
            batch=_whole(environ, "LMS_MAIL_BATCH", defaults.batch, 1, 1000),
        )


def parse_smtp_url(raw: str) -> SMTPServer:
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise StartupError(
            f"LMS_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, not {raw!r}"
        )
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise StartupError("LMS_SMTP_URL has a port that is not a number") from None
    if not parts.hostname:
        raise StartupError("LMS_SMTP_URL names no host (smtp://host:port)")
    return SMTPServer(
        host=parts.hostname,
        port=port,
        tls=scheme == "smtps",
        starttls=scheme == "smtp+starttls",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def parse_sender(raw: str) -> Address:
    name, address = parseaddr(raw)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c in raw for c in "\r\n"):
        raise StartupError(f"LMS_MAIL_FROM must be an address (Name <name@domain>), not {raw!r}")
    return Address(name, local, domain)


def _public_url(raw: str) -> str:
    parts = urlsplit(raw)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or not raw.isascii()
        or any(not char.isprintable() or char.isspace() for char in raw)
    ):
        raise StartupError(f"LMS_PUBLIC_URL must be an http(s):// address, not {raw!r}")
    return raw.rstrip("/")


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    least: float,
    most: float = math.inf,
) -> float:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not least <= value <= most:
        bounds = f"between {least:g} and {most:g}" if most < math.inf else f"{least:g} or more"
        raise StartupError(f"{name} must be a number {bounds}, not {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, least: int, most: int) -> int:
    value = _number(env, name, default, least, most)
    if value != int(value):
        raise StartupError(f"{name} must be a whole number, not {value:g}")
    return int(value)


_configs: WeakKeyDictionary[LMS, MailConfig] = WeakKeyDictionary()


def config_for(lms: LMS) -> MailConfig:
    """This service's settings, read from the environment the first time they are asked."""
    found = _configs.get(lms)
    if found is None:
        found = _configs[lms] = MailConfig.from_env(os.environ, lms.settings.production)
    return found
