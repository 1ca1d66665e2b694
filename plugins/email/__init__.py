"""E-mail: notifications, certificates and due-date reminders delivered by SMTP.

Never lost, never twice: each mail is written to the ``mail_outbox`` table in the
transaction that decides it (``lms_on_notified``, with the notification it carries), or
found later by a sweep with a unique key (reminders, certificates). A delivery loop in
every serving process (``lms_register_background``) claims due mails, hands them to the relay
(``LMS_SMTP_URL``) and records each outcome; temporary failures are retried with backoff
for a day, permanent ones (5xx) stop at once. Without ``LMS_SMTP_URL`` (or
``LMS_MAIL_DIR``) nothing is queued: notifications are stored as always, and the
service says so at start.

What it adds, through the public hooks only:

- tables ``mail_outbox``, ``mail_preferences``, ``mail_course_settings`` (branch
  ``email``);
- ``User.mails`` and ``Query.mailOutbox`` (admins), ``User.mailReminders`` with
  ``Mutation.setMailReminders``, ``Course.reminderDays`` with
  ``Mutation.setCourseReminderDays``;
- ``GET``/``POST /mail/unsubscribe`` (signed links, one-click);
- the ``lms_mail_outbox{state}`` gauge in ``/metrics``;
- ``lms-graph mail retry`` queues failed mails again (``requeue_failed``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.routing import BaseRoute

from lms_graph import (
    LMS,
    GraphQLExtension,
    MigrationSource,
    NotificationMessage,
    hookimpl,
    register_collector,
)
from lms_graph_plugins.email.config import config_for
from lms_graph_plugins.email.delivery import backlog_gauge, deliver_forever, sweep_forever, wake
from lms_graph_plugins.email.graphql import extension
from lms_graph_plugins.email.http import routes
from lms_graph_plugins.email.notifications import queue_notifications
from lms_graph_plugins.email.outbox import requeue_failed
from lms_graph_plugins.email.tables import metadata

logger = logging.getLogger(__name__)

register_collector(backlog_gauge())

__all__ = ["requeue_failed"]


@hookimpl
def lms_register_migrations() -> MigrationSource:
    return MigrationSource(
        branch="email",
        versions=Path(__file__).parent / "migrations" / "versions",
        metadata=metadata,
    )


@hookimpl
def lms_register_graphql() -> GraphQLExtension:
    return extension()


@hookimpl
def lms_register_routes(lms: LMS) -> Iterable[BaseRoute]:
    return routes(lms)


@hookimpl
def lms_register_background(lms: LMS) -> Iterable[Callable[[], Awaitable[None]]]:
    config = config_for(lms)  # a wrong setting stops start-up here
    if not config.enabled:
        logger.warning(
            "E-mail is off: LMS_SMTP_URL is not set. Notifications are stored, not mailed."
        )
        return []
    logger.info("E-mail is sent %s, from %s", config.describe(), config.sender)

    async def deliver() -> None:
        await deliver_forever(lms)

    async def sweep() -> None:
        await sweep_forever(lms)

    return [deliver, sweep]


@hookimpl
async def lms_on_notified(
    lms: LMS, db: AsyncConnection, notifications: Sequence[NotificationMessage]
) -> None:
    config = config_for(lms)
    if config.enabled:
        await queue_notifications(db, config, notifications)


@hookimpl
def lms_notify(lms: LMS) -> None:
    """Mail was queued by a transaction of this process that has now committed: send it."""
    if config_for(lms).enabled:
        wake(lms)
