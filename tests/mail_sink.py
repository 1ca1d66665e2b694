"""A real SMTP server for the tests (aiosmtpd, in a thread of the test process).

It keeps every message it accepts; it can refuse (``refuse = "550 ..."``), hold the
next DATA until released, or take its time, to play a relay that is down, strict or slow.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclasses.dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content: str = body.get_content()
        return content.replace("\r\n", "\n")


class MailSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.data_commands = 0
        """DATA commands seen, accepted or not."""
        self.refuse: str | None = None
        self.delay = 0.0
        self.hold: threading.Event | None = None
        """While set to an unset event, the next DATA waits for it (then answers 451)."""
        self.holding = threading.Event()
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.data_commands += 1
            hold, self.hold = self.hold, None
        if hold is not None:
            self.holding.set()
            await asyncio.to_thread(hold.wait)
            return "451 4.3.0 Held, then dropped"
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            return self.refuse
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        with self._lock:
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
            )
        return "250 2.0.0 Accepted"

    def start(self) -> MailSink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    async def wait_for(self, count: int, seconds: float = 15.0) -> list[Received]:
        """Wait (letting the event loop run) until ``count`` messages arrived."""
        deadline = time.monotonic() + seconds
        while self.count() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.count()} of {count} mails arrived in {seconds} s")
            await asyncio.sleep(0.05)
        with self._lock:
            return list(self.received)

    def wait_for_sync(self, count: int, seconds: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while self.count() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.count()} of {count} mails arrived in {seconds} s")
            time.sleep(0.05)
        with self._lock:
            return list(self.received)


def headers_of(received: Received) -> dict[str, Any]:
    message = received.message
    return {name.lower(): str(value) for name, value in message.items()}
