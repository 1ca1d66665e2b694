"""What the plugin adds to the schema.

- ``User.mails`` (admins): the user's mails, newest first, each with its notification
  (if it carries one) and its ``delivery { state attempts lastError sentAt }``;
- ``Query.mailOutbox`` (admins): how many mails wait, are being sent, or failed;
- ``User.mailReminders`` and ``Mutation.setMailReminders`` (the user themself);
- ``Course.reminderDays`` and ``Mutation.setCourseReminderDays`` (the course's managers).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import strawberry
from sqlalchemy import bindparam, func, select
from strawberry.dataloader import DataLoader

from lms_graph import (
    BadInput,
    CourseRecord,
    GraphQLExtension,
    UserRecord,
    decode_id,
    ids_param,
)
from lms_graph.types import Notification
from lms_graph_plugins.email import outbox
from lms_graph_plugins.email.config import config_for
from lms_graph_plugins.email.preferences import (
    course_days,
    reminders_off,
    set_course_reminder_days,
    set_reminders,
)
from lms_graph_plugins.email.tables import MailState, mail_outbox

MAX_MAILS = 100

MailDeliveryState = strawberry.enum(
    MailState,
    name="MailDeliveryState",
    description=(
        "QUEUED: waiting for its (next) attempt; SENDING: handed to the relay now; "
        "SENT: the relay took it; FAILED: refused for good, or not sent within a day "
        "(lms-graph mail retry queues it again)."
    ),
)


@strawberry.type(description="How a mail's delivery went.")
class MailDelivery:
    state: MailDeliveryState  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Attempts made (or under way).")
    last_error: str | None = strawberry.field(
        description="What the relay (or the connection) said on the last failed attempt."
    )
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None = strawberry.field(
        description="When it is tried again (QUEUED only)."
    )


@strawberry.type(description="One e-mail to one user.")
class Mail:
    notification_pk: strawberry.Private[int | None]
    kind: str = strawberry.field(
        description="notification, certificate, reminder_before or reminder_after."
    )
    recipient: str
    subject: str
    message_id: str = strawberry.field(description="Its Message-ID header, the same on retries.")
    created_at: dt.datetime
    delivery: MailDelivery

    @strawberry.field(description="The notification it carries, if any.")
    async def notification(self, info: strawberry.Info) -> Notification | None:
        if self.notification_pk is None:
            return None
        return await info.context.loaders.notifications.load(self.notification_pk)


def _mail(row: Any) -> Mail:
    return Mail(
        notification_pk=row.notification_id,
        kind=row.kind,
        recipient=row.recipient,
        subject=row.subject,
        message_id=row.message_id,
        created_at=row.created_at,
        delivery=MailDelivery(
            state=MailState(row.state),
            attempts=row.attempts,
            last_error=row.last_error,
            sent_at=row.sent_at,
            next_attempt_at=row.next_attempt_at if row.state == MailState.QUEUED else None,
        ),
    )


_RANKED = (
    select(
        mail_outbox.c.id,
        mail_outbox.c.user_id,
        mail_outbox.c.notification_id,
        mail_outbox.c.kind,
        mail_outbox.c.recipient,
        mail_outbox.c.subject,
        mail_outbox.c.message_id,
        mail_outbox.c.created_at,
        mail_outbox.c.state,
        mail_outbox.c.attempts,
        mail_outbox.c.last_error,
        mail_outbox.c.sent_at,
        mail_outbox.c.next_attempt_at,
        func.row_number()
        .over(partition_by=mail_outbox.c.user_id, order_by=mail_outbox.c.id.desc())
        .label("rank"),
    )
    .where(ids_param(mail_outbox.c.user_id, "ids"))
    .subquery()
)
_RECENT = (
    select(_RANKED)
    .where(_RANKED.c.rank <= bindparam("first"))
    .order_by(_RANKED.c.user_id, _RANKED.c.id.desc())
)
"""The latest ``first`` mails of each user of a page: one statement for the page."""


def _loader(info: strawberry.Info, name: str, load: Any) -> DataLoader[int, Any]:
    return info.context.loaders.get(name, load)


@strawberry.type
class UserMail:
    @strawberry.field(
        description=(
            f"The user's e-mails, newest first (at most {MAX_MAILS}), with how each was "
            "delivered. Admins only: empty for anyone else."
        )
    )
    async def mails(
        self, root: strawberry.Parent[UserRecord], info: strawberry.Info, first: int = 20
    ) -> list[Mail]:
        if not info.context.viewer.is_admin:
            return []
        if not 1 <= first <= MAX_MAILS:
            raise BadInput(f"first must be between 1 and {MAX_MAILS}.")
        db = info.context.db

        async def load(user_ids: list[int]) -> list[list[Mail]]:
            found: dict[int, list[Mail]] = defaultdict(list)
            for row in await db.execute(_RECENT, {"ids": user_ids, "first": first}):
                found[row.user_id].append(_mail(row))
            return [found[user_id] for user_id in user_ids]

        return await _loader(info, f"email.mails.{first}", load).load(root.id)

    @strawberry.field(
        description=(
            "Whether the user gets due-date reminders by e-mail (the user and admins; null "
            "for anyone else)."
        )
    )
    async def mail_reminders(
        self, root: strawberry.Parent[UserRecord], info: strawberry.Info
    ) -> bool | None:
        viewer = info.context.viewer
        if not (viewer.is_admin or (viewer.user is not None and viewer.user.id == root.id)):
            return None
        db = info.context.db

        async def load(user_ids: list[int]) -> list[bool]:
            off = await reminders_off(db, user_ids)
            return [user_id not in off for user_id in user_ids]

        return await _loader(info, "email.reminders", load).load(root.id)


@strawberry.type
class CourseMail:
    @strawberry.field(
        description=(
            "Days before the due date that learners are reminded by e-mail (0: no reminder "
            "before it); LMS_REMINDER_DAYS unless set for the course."
        )
    )
    async def reminder_days(
        self, root: strawberry.Parent[CourseRecord], info: strawberry.Info
    ) -> int:
        db = info.context.db
        default = config_for(info.context.lms).reminder_days

        async def load(course_ids: list[int]) -> list[int]:
            found = await course_days(db, course_ids)
            return [found.get(course_id, default) for course_id in course_ids]

        return await _loader(info, "email.course_days", load).load(root.id)


@strawberry.type(description="Mails not sent yet.")
class MailOutbox:
    queued: int = strawberry.field(description="Waiting for their first attempt or a retry.")
    sending: int = strawberry.field(description="Being handed to the relay now.")
    failed: int = strawberry.field(description="Refused for good, or not sent within a day.")
    oldest_queued_at: dt.datetime | None = strawberry.field(
        description="When the oldest mail still waiting (queued or sending) was queued."
    )


@strawberry.type
class MailQuery:
    @strawberry.field(description="The e-mail outbox's backlog. Admins only.")
    async def mail_outbox(self, info: strawberry.Info) -> MailOutbox:
        info.context.require_user()
        info.context.viewer.require_admin()
        backlog = await outbox.backlog(info.context.db)
        return MailOutbox(
            queued=backlog.queued,
            sending=backlog.sending,
            failed=backlog.failed,
            oldest_queued_at=backlog.oldest_queued_at,
        )


@strawberry.type
class MailMutation:
    @strawberry.mutation(
        description=(
            "Turn the viewer's due-date reminder e-mails on or off (what the unsubscribe "
            "link of a reminder does). Returns the new setting."
        )
    )
    async def set_mail_reminders(self, info: strawberry.Info, enabled: bool) -> bool:
        user = info.context.require_user()
        await set_reminders(info.context.lms, user.id, enabled)
        info.context.fresh_loaders()
        return enabled

    @strawberry.mutation(
        description=(
            "Days before the due date that the course's learners are reminded by e-mail "
            "(0 to 365; 0: no reminder before it; null: LMS_REMINDER_DAYS). Admins and the "
            "course's instructors. Returns the days now in effect."
        )
    )
    async def set_course_reminder_days(
        self, info: strawberry.Info, course_id: strawberry.ID, days: int | None
    ) -> int:
        ctx = info.context
        ctx.require_user()
        pk = decode_id(course_id, "Course")
        ctx.viewer.require_manager(pk)
        await set_course_reminder_days(ctx.lms, pk, days)
        ctx.fresh_loaders()
        return config_for(ctx.lms).reminder_days if days is None else days


def extension() -> GraphQLExtension:
    return GraphQLExtension(
        query=MailQuery,
        mutation=MailMutation,
        fields={"User": [UserMail], "Course": [CourseMail]},
    )
