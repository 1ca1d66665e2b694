"""Handing messages to the relay (aiosmtplib), or to a folder of ``.eml`` files.

Failures are sorted in two: ``Permanent`` (the relay answered 5xx for this mail: it
will never take it) and ``Temporary`` (anything else: refused or lost connections,
timeouts, 4xx answers, a relay that refuses to log in), which are retried later.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import aiosmtplib

from lms_graph_plugins.email.config import MailConfig, SMTPServer


class Temporary(Exception):
    """This mail may go through later."""


class Unreachable(Temporary):
    """No mail can go through now: the relay cannot be reached or refuses the session."""


class Permanent(Exception):
    """The relay refused this mail for good."""


class Sender(Protocol):
    async def send(self, message: bytes, sender: str, recipient: str) -> None:
        """Hand one message over, or raise ``Temporary`` or ``Permanent``."""


def _reply(code: int, text: str) -> str:
    return f"{code} {' '.join(text.split())}"[:500]


def _refusal(error: aiosmtplib.SMTPException) -> Exception:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        text = "; ".join(_reply(refused.code, refused.message) for refused in error.recipients)
        return Permanent(text) if all(code >= 500 for code in codes) else Temporary(text)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        text = _reply(error.code, error.message)
        return Permanent(text) if 500 <= error.code < 600 else Temporary(text)
    return Temporary(" ".join(str(error).split()) or type(error).__name__)


class SMTPSender:
    """One connection to the relay, opened on first use and opened again after it broke."""

    def __init__(self, server: SMTPServer, timeout: float) -> None:
        self.server = server
        self.timeout = timeout
        self.client: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        server = self.server
        client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            use_tls=server.tls,
            start_tls=server.starttls,
            timeout=self.timeout,
        )
        try:
            await client.connect()
            if server.username is not None:
                await client.login(server.username, server.password or "")
        except (aiosmtplib.SMTPException, OSError) as error:
            with contextlib.suppress(Exception):
                client.close()
            # Whatever the relay answered, nothing was said about a mail: try again later.
            raise Unreachable(f"cannot reach the relay at {server}: {_describe(error)}") from None
        return client

    async def send(self, message: bytes, sender: str, recipient: str) -> None:
        if self.client is None or not self.client.is_connected:
            self.client = await self._connect()
        try:
            await self.client.sendmail(sender, [recipient], message)
        except aiosmtplib.SMTPException as error:
            if not isinstance(
                error, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused
            ):
                self.close()  # disconnected or timed out: the next mail opens a new one
            raise _refusal(error) from None
        except (OSError, ValueError) as error:
            self.close()
            if isinstance(error, ValueError):  # an address aiosmtplib will not send to
                raise Permanent(str(error)) from None
            raise Temporary(_describe(error)) from None

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None

    async def quit(self) -> None:
        if self.client is not None and self.client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.quit(), self.timeout)
        self.close()


def _describe(error: BaseException) -> str:
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return _reply(error.code, error.message)
    return " ".join(str(error).split()) or type(error).__name__


class FolderSender:
    """Writes each message to ``<folder>/<Message-ID>.eml`` (written whole, then renamed
    into place: a reader never sees half a file, and a second attempt replaces the first)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: bytes, sender: str, recipient: str) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: bytes) -> None:
        found = re.search(rb"^Message-ID: <([0-9a-f]+)@", message, re.MULTILINE | re.IGNORECASE)
        name = found.group(1).decode() if found else f"{time.time_ns()}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{name}.eml"
            partial = path.with_suffix(".eml.partial")
            partial.write_bytes(message)
            os.replace(partial, path)
        except OSError as error:
            raise Unreachable(f"cannot write to {self.folder}: {error.strerror}") from None


@contextlib.asynccontextmanager
async def opened(config: MailConfig) -> AsyncIterator[Sender]:
    """A sender for one batch of mails; its connection is closed afterwards."""
    if config.smtp is not None:
        smtp = SMTPSender(config.smtp, config.smtp_timeout)
        try:
            yield smtp
        finally:
            await smtp.quit()
    elif config.folder is not None:
        yield FolderSender(config.folder)
    else:  # pragma: no cover - the loop does not run without either
        raise RuntimeError("no mail transport is configured")
