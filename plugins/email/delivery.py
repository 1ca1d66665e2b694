"""The loops each serving process runs: delivering due mail, and sweeping for reminders.

Delivery wakes when a transaction of this process queued mail (``lms_notify``), when a
retry it scheduled falls due, and every ``LMS_MAIL_POLL_SECONDS`` for mail queued by
other processes. Each pass claims a batch, sends it over one connection, and records
each mail's outcome as soon as it is known: a crash sends again at most the mail in
flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Iterator
from typing import TypeVar
from weakref import WeakKeyDictionary

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lms_graph import LMS
from lms_graph_plugins.email import outbox
from lms_graph_plugins.email.compose import as_bytes, compose
from lms_graph_plugins.email.config import MailConfig, config_for
from lms_graph_plugins.email.sweep import sweep
from lms_graph_plugins.email.transport import Permanent, Sender, Temporary, Unreachable, opened

logger = logging.getLogger(__name__)

BACKLOG_EVERY = dt.timedelta(seconds=15)
"""How often the backlog gauge is read again (one indexed count)."""


@dataclasses.dataclass(slots=True)
class _Process:
    """What this process knows about one service's mail."""

    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    backlog: outbox.Backlog | None = None
    backlog_at: dt.datetime | None = None
    certificates: bool | None = None


_processes: WeakKeyDictionary[LMS, _Process] = WeakKeyDictionary()


def process(lms: LMS) -> _Process:
    found = _processes.get(lms)
    if found is None:
        found = _processes[lms] = _Process()
    return found


def wake(lms: LMS) -> None:
    """Have this process's loop look for due mail now."""
    process(lms).wake.set()


@dataclasses.dataclass(slots=True)
class Pass:
    """What one delivery pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    soonest_retry: dt.datetime | None = None
    unreachable: bool = False
    """The relay could not be reached: the pass stops until the retry."""

    def retry(self, count: int, at: dt.datetime | None) -> None:
        self.retrying += count
        self.soonest_retry = _soonest(self.soonest_retry, at)


async def deliver_due(lms: LMS, config: MailConfig) -> Pass:
    """Send every mail due now, batch after batch, until none is left (or the relay
    cannot be reached)."""
    done = Pass()
    while not done.unreachable and await outbox.anything_due(lms, outbox.now()):
        batch = await outbox.claim(lms, config, outbox.now())
        if not batch:
            break  # another process took them
        async with opened(config) as sender:
            await _send(lms, config, sender, batch, done)
    if done.sent or done.retrying or done.failed:
        logger.info(
            "mail: %d sent, %d to be retried, %d failed (%s)",
            done.sent,
            done.retrying,
            done.failed,
            config.describe(),
        )
    return done


async def _send(
    lms: LMS, config: MailConfig, sender: Sender, batch: list[outbox.Claimed], done: Pass
) -> None:
    """Hand each mail of ``batch`` over and record its outcome at once."""
    for index, mail in enumerate(batch):
        try:
            message = as_bytes(compose(mail, config, lms.settings.secret_key))
            await sender.send(message, config.sender.addr_spec, mail.recipient)
        except Unreachable as error:  # nothing can go now: the rest waits for its retry
            rest = batch[index:]
            done.retry(
                len(rest), await outbox.mark_retry(lms, config, rest, str(error), outbox.now())
            )
            done.unreachable = True
            return
        except Temporary as error:
            done.retry(1, await outbox.mark_retry(lms, config, [mail], str(error), outbox.now()))
        except (Permanent, ValueError) as error:
            # ValueError: an address or header the email package refuses.
            await outbox.mark_failed(lms, mail, str(error) or type(error).__name__)
            done.failed += 1
        else:
            await outbox.mark_sent(lms, mail, outbox.now())
            done.sent += 1


def _soonest(current: dt.datetime | None, other: dt.datetime | None) -> dt.datetime | None:
    if current is None:
        return other
    return current if other is None else min(current, other)


async def refresh_backlog(lms: LMS, *, force: bool = False) -> outbox.Backlog:
    state = process(lms)
    at = outbox.now()
    if (
        force
        or state.backlog is None
        or state.backlog_at is None
        or at - state.backlog_at >= BACKLOG_EVERY
    ):
        async with lms.db.reader() as conn:
            state.backlog = await outbox.backlog(conn)
        state.backlog_at = at
        _gauge.latest = state.backlog
    assert state.backlog is not None
    return state.backlog


STOP_GRACE_SECONDS = 10.0
"""At shutdown, how long a pass under way may take to finish."""

T = TypeVar("T")


async def finish(work: Awaitable[T]) -> T:
    """Run ``work`` to its end even when the loop is cancelled meanwhile (the app shuts
    down): stopped half-way, it would leave a database connection mid-statement (and the
    mail in flight claimed until its lease ends). The cancellation goes on once the work
    is done, or after ``STOP_GRACE_SECONDS``, when it is stopped after all."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if not done:
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: it is the cancellation that matters now
        raise


async def deliver_forever(lms: LMS) -> None:
    """The delivery loop (``lms_register_background``): until the app stops."""
    config = config_for(lms)
    state = process(lms)
    retry_at: dt.datetime | None = None
    while True:
        state.wake.clear()
        try:
            done = await finish(deliver_due(lms, config))
            retry_at = _soonest(retry_at, done.soonest_retry)
            await finish(refresh_backlog(lms))
        except Exception:
            logger.exception("mail delivery failed; trying again in %g s", config.poll_seconds)
        wait = config.poll_seconds
        if retry_at is not None:  # a retry this process scheduled falls due before the poll
            wait = min(wait, max((retry_at - outbox.now()).total_seconds(), 0.0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.wake.wait(), timeout=wait)
        if retry_at is not None and outbox.now() >= retry_at:
            retry_at = None


async def sweep_forever(lms: LMS) -> None:
    """The reminder and certificate sweep (``lms_register_background``): until the app stops.
    The first sweep comes one interval after start (processes restarted together do
    not all sweep at once)."""
    config = config_for(lms)
    state = process(lms)
    while True:
        await asyncio.sleep(config.sweep_seconds)
        try:
            if state.certificates is None:
                state.certificates = any(
                    source.branch == "certificates" for source in lms.migration_sources()
                )
            at = outbox.now()
            if await finish(sweep(lms, config, at, certificates_table=state.certificates)):
                state.wake.set()
        except Exception:
            logger.exception("mail sweep failed; trying again in %g s", config.sweep_seconds)


class _BacklogGauge(Collector):
    """``lms_mail_outbox{state}``: mails not sent yet, as this process last counted them
    (every ``BACKLOG_EVERY`` while its delivery loop runs); nothing before it first did."""

    def __init__(self) -> None:
        self.latest: outbox.Backlog | None = None

    def collect(self) -> Iterator[Metric]:
        latest = self.latest
        if latest is None:
            return
        gauge = GaugeMetricFamily(
            "lms_mail_outbox",
            "Mails not sent yet, by state (queued, sending, failed).",
            labels=["state"],
        )
        gauge.add_metric(["queued"], latest.queued)
        gauge.add_metric(["sending"], latest.sending)
        gauge.add_metric(["failed"], latest.failed)
        yield gauge
        if latest.oldest_queued_at is not None:
            age = GaugeMetricFamily(
                "lms_mail_outbox_oldest_seconds",
                "Age of the oldest mail waiting to be sent.",
            )
            age.add_metric([], max((outbox.now() - latest.oldest_queued_at).total_seconds(), 0))
            yield age


_gauge = _BacklogGauge()


def backlog_gauge() -> Collector:
    return _gauge
