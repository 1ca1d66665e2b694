"""Seats: placing learners in a session, freeing seats, promoting the waitlist.

Every function works on a batch in a constant number of statements and runs in the
caller's transaction (``Tx``). Capacity holds under concurrent writers: the session
rows are locked (``SELECT ... FOR UPDATE`` on PostgreSQL, in ID order so two runs
never wait on each other crosswise; SQLite serialises writers with ``BEGIN
IMMEDIATE``) before their seats are counted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, insert, not_, select, update

from lms_graph import HistoryLine, Note, Tx, ids_param, notify, record_history, refresh_learners
from lms_graph_plugins.ilt.tables import ACTIVE, TAKING, SeatStatus, seats, sessions, users


class Learner(Protocol):
    """What placing needs of a learner (a ``MenuLearner`` has it)."""

    @property
    def enrollment_id(self) -> int: ...
    @property
    def attempt_id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def course_id(self) -> int: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """A session row, as the services see it."""

    id: int
    course_id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    time_zone: str
    capacity: int
    waitlist: bool

    @property
    def label(self) -> str:
        """``Title (2026-12-01 09:00 Europe/Paris)``: what history lines and messages show."""
        try:
            local = self.starts_at.astimezone(ZoneInfo(self.time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            local = self.starts_at
        return f"{self.title} ({local:%Y-%m-%d %H:%M} {self.time_zone})"


SESSION_COLUMNS = (
    sessions.c.id,
    sessions.c.course_id,
    sessions.c.title,
    sessions.c.starts_at,
    sessions.c.ends_at,
    sessions.c.time_zone,
    sessions.c.capacity,
    sessions.c.waitlist,
)


def _session(row: Any) -> Session:
    return Session(**{name: row._mapping[name] for name in Session.__slots__})


class Placement(enum.Enum):
    SEATED = "seated"
    WAITLISTED = "waitlisted"
    FULL = "full"
    CLASH = "clash"
    ALREADY = "already"
    OTHER_COURSE = "other_course"


PLACED = frozenset({Placement.SEATED, Placement.WAITLISTED})


@dataclasses.dataclass(frozen=True, slots=True)
class Promoted:
    """A learner given a freed seat from a session's waitlist."""

    enrollment_id: int
    name: str
    session_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class Placed:
    """What became of one learner, the session they left (a move) if any, and who got
    the seat they left there from its waitlist."""

    placement: Placement
    left: Session | None = None
    successor: Promoted | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Released:
    """What ``release`` freed: the seat or place each attempt held, and who got each
    freed seat from the waitlist (both by the attempt ID of the learner who left)."""

    held: dict[int, Active]
    successors: dict[int, Promoted]


# Statements built once (SQLAlchemy then reuses their compiled form), their IDs bound as
# one parameter however many there are; those with other varying values are built where
# they run, with ``ids_param`` too.
_LOCK_SESSIONS = (
    select(*SESSION_COLUMNS)
    .where(ids_param(sessions.c.id, "session_ids"))
    .order_by(sessions.c.id)
    .with_for_update()
)
_TAKEN = (
    select(seats.c.session_id, func.count())
    .where(ids_param(seats.c.session_id, "session_ids"), seats.c.status.in_(TAKING))
    .group_by(seats.c.session_id)
)
_ACTIVE_SEATS = (
    select(
        seats.c.id.label("seat_id"),
        seats.c.attempt_id,
        seats.c.enrollment_id,
        seats.c.user_id,
        seats.c.status,
        *SESSION_COLUMNS,
    )
    .join(sessions, sessions.c.id == seats.c.session_id)
    .where(ids_param(seats.c.attempt_id, "attempt_ids"), seats.c.status.in_(ACTIVE))
)
_DELETE_SEATS = delete(seats).where(ids_param(seats.c.id, "seat_ids"))
_WAITING = (
    select(seats.c.id, seats.c.session_id, seats.c.enrollment_id, seats.c.user_id, users.c.name)
    .join(users, users.c.id == seats.c.user_id)
    .where(
        ids_param(seats.c.session_id, "session_ids"),
        seats.c.status == SeatStatus.WAITLISTED.value,
    )
    .order_by(seats.c.created_at, seats.c.id)
)


async def lock_sessions(tx: Tx, session_ids: Iterable[int]) -> dict[int, Session]:
    """The sessions, locked against concurrent seat changes until the transaction ends."""
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    rows = await tx.db.execute(_LOCK_SESSIONS, {"session_ids": ids})
    return {row.id: _session(row) for row in rows}


async def lock_for_placing(tx: Tx, session_id: int, attempt_ids: Collection[int]) -> Session | None:
    """Lock the target session together with the sessions these attempts hold now, all
    in ID order, so that two runs moving learners between the same sessions in
    opposite directions queue instead of deadlocking. None: no such session."""
    held = await active_seats(tx, attempt_ids)
    locked = await lock_sessions(tx, {session_id, *(a.session.id for a in held.values())})
    return locked.get(session_id)


async def taken_seats(db: Any, session_ids: Collection[int]) -> dict[int, int]:
    """Seats occupied per session (enrolled, attended, incomplete; not no-shows)."""
    if not session_ids:
        return {}
    rows = await db.execute(_TAKEN, {"session_ids": list(session_ids)})
    return dict(rows.all())


@dataclasses.dataclass(frozen=True, slots=True)
class Active:
    """A learner's current seat or waitlist place."""

    seat_id: int
    attempt_id: int
    enrollment_id: int
    user_id: int
    status: str
    session: Session


async def active_seats(tx: Tx, attempt_ids: Collection[int]) -> dict[int, Active]:
    """The seat or waitlist place each attempt holds now, by attempt ID."""
    if not attempt_ids:
        return {}
    rows = await tx.db.execute(_ACTIVE_SEATS, {"attempt_ids": list(attempt_ids)})
    return {
        row.attempt_id: Active(
            row.seat_id, row.attempt_id, row.enrollment_id, row.user_id, row.status, _session(row)
        )
        for row in rows
    }


async def _clashing_users(
    tx: Tx, session: Session, user_ids: Collection[int], leaving: Collection[int]
) -> set[int]:
    """Users holding a seat in another session that overlaps this one in time; seats of
    the attempts in ``leaving`` (about to be given up) do not count."""
    if not user_ids:
        return set()
    rows = await tx.db.execute(
        select(seats.c.user_id)
        .join(sessions, sessions.c.id == seats.c.session_id)
        .where(
            ids_param(seats.c.user_id, "user_ids"),
            seats.c.status == SeatStatus.ENROLLED.value,
            not_(ids_param(seats.c.attempt_id, "leaving")),
            sessions.c.id != session.id,
            sessions.c.starts_at < session.ends_at,
            sessions.c.ends_at > session.starts_at,
        )
        .distinct(),
        {"user_ids": list(user_ids), "leaving": list(leaving)},
    )
    return set(rows.scalars())


async def place(
    tx: Tx,
    session: Session,
    learners: Sequence[Learner],
    *,
    allow_clash: bool = False,
    waitlist: bool = False,
    action: str,
    note: str | None = None,
) -> dict[int, Placed]:
    """Seat learners in ``session`` in the order given (moving those seated elsewhere);
    when it is full, the rest go on its waitlist if ``waitlist``, else are FULL.

    ``session`` must have been locked by ``lock_for_placing`` in this transaction.
    Writes the seats, a history line per placed learner, promotes the waitlists of
    the sessions left, and has the core recompute the placed learners' state.
    """
    attempt_ids = [learner.attempt_id for learner in learners]
    current = await active_seats(tx, attempt_ids)
    clashing = (
        set()
        if allow_clash
        else await _clashing_users(
            tx, session, {learner.user_id for learner in learners}, attempt_ids
        )
    )
    free = session.capacity - (await taken_seats(tx.db, [session.id])).get(session.id, 0)
    decided: dict[int, Placed] = {}
    for learner in learners:
        held = current.get(learner.attempt_id)
        if learner.course_id != session.course_id:
            decided[learner.enrollment_id] = Placed(Placement.OTHER_COURSE)
        elif (
            held is not None
            and held.session.id == session.id
            and (held.status == SeatStatus.ENROLLED.value or free <= 0)
        ):
            decided[learner.enrollment_id] = Placed(Placement.ALREADY)
        elif learner.user_id in clashing:
            decided[learner.enrollment_id] = Placed(Placement.CLASH)
        elif free > 0:
            free -= 1
            left = held.session if held and held.status == SeatStatus.ENROLLED.value else None
            decided[learner.enrollment_id] = Placed(Placement.SEATED, left)
        elif waitlist:
            left = held.session if held and held.status == SeatStatus.ENROLLED.value else None
            decided[learner.enrollment_id] = Placed(Placement.WAITLISTED, left)
        else:
            decided[learner.enrollment_id] = Placed(Placement.FULL)
    placed = [learner for learner in learners if decided[learner.enrollment_id].placement in PLACED]
    if not placed:
        return decided
    given_up = [current[learner.attempt_id] for learner in placed if learner.attempt_id in current]
    if given_up:
        await tx.db.execute(_DELETE_SEATS, {"seat_ids": [held.seat_id for held in given_up]})
    await tx.db.execute(
        insert(seats),
        [
            {
                "session_id": session.id,
                "enrollment_id": learner.enrollment_id,
                "attempt_id": learner.attempt_id,
                "user_id": learner.user_id,
                "status": (
                    SeatStatus.ENROLLED.value
                    if decided[learner.enrollment_id].placement is Placement.SEATED
                    else SeatStatus.WAITLISTED.value
                ),
                "created_at": tx.now,
                "updated_at": tx.now,
            }
            for learner in placed
        ],
    )
    await record_history(
        tx,
        [
            HistoryLine(
                learner.enrollment_id,
                action,
                _placed_summary(session, decided[learner.enrollment_id]),
                note=note,
                details={"sessionId": session.id},
            )
            for learner in placed
        ],
    )
    leavers = [
        (held.enrollment_id, held.session.id)
        for held in given_up
        if held.status == SeatStatus.ENROLLED.value and held.session.id != session.id
    ]
    successors = hand_over(leavers, await promote(tx, {session_id for _, session_id in leavers}))
    for enrollment_id, successor in successors.items():
        decided[enrollment_id] = dataclasses.replace(decided[enrollment_id], successor=successor)
    await refresh_learners(tx.lms, tx.db, [learner.enrollment_id for learner in placed])
    return decided


def _placed_summary(session: Session, placed: Placed) -> str:
    if placed.placement is Placement.WAITLISTED:
        joined = f"Joined the waitlist of {session.label}."
        return f"Left {placed.left.label}. {joined}" if placed.left else joined
    if placed.left is not None:
        return f"Moved from {placed.left.label} to {session.label}."
    return f"Enrolled in {session.label}."


async def release(
    tx: Tx,
    attempt_ids: Collection[int],
    *,
    mark: SeatStatus | None = None,
    action: str | None = None,
    note: str | None = None,
) -> Released:
    """Free the seats (and waitlist places) these attempts hold: deleted, or kept with
    the status ``mark`` (a no-show). Promotes the waitlists of the freed sessions.

    With ``action``, writes a history line per learner freed and recomputes their
    state. Returns what each attempt held and who got the seats freed.
    """
    held = await active_seats(tx, attempt_ids)
    if not held:
        return Released(held, {})
    seat_ids = [active.seat_id for active in held.values()]
    if mark is None:
        await tx.db.execute(_DELETE_SEATS, {"seat_ids": seat_ids})
    else:
        await tx.db.execute(
            update(seats)
            .where(ids_param(seats.c.id, "seat_ids"))
            .values(status=mark.value, updated_at=tx.now),
            {"seat_ids": seat_ids},
        )
    if action is not None:
        await record_history(
            tx,
            [
                HistoryLine(
                    active.enrollment_id,
                    action,
                    _released_summary(active, mark),
                    note=note,
                    details={"sessionId": active.session.id},
                )
                for active in held.values()
            ],
        )
    leavers = [
        (attempt_id, held[attempt_id].session.id)
        for attempt_id in dict.fromkeys(attempt_ids)
        if attempt_id in held and held[attempt_id].status == SeatStatus.ENROLLED.value
    ]
    promoted = await promote(tx, {session_id for _, session_id in leavers})
    if action is not None:
        await refresh_learners(tx.lms, tx.db, [active.enrollment_id for active in held.values()])
    return Released(held, hand_over(leavers, promoted))


def _released_summary(active: Active, mark: SeatStatus | None) -> str:
    if mark is SeatStatus.NO_SHOW:
        return f"Marked as a no-show in {active.session.label}; the seat is free again."
    if active.status == SeatStatus.WAITLISTED.value:
        return f"Removed from the waitlist of {active.session.label}."
    return f"Removed from {active.session.label}."


async def promote(tx: Tx, session_ids: Collection[int]) -> list[Promoted]:
    """Give the free seats of these sessions to their waitlists, first come first
    served; tell each promoted learner. Returns the learners promoted, in queue order."""
    if not session_ids:
        return []
    locked = await lock_sessions(tx, session_ids)
    taken = await taken_seats(tx.db, list(locked))
    waiting = await tx.db.execute(_WAITING, {"session_ids": list(locked)})
    queues: dict[int, list[Any]] = defaultdict(list)
    for row in waiting:
        queues[row.session_id].append(row)
    chosen = [
        row
        for session_id, queue in queues.items()
        for row in queue[: max(0, locked[session_id].capacity - taken.get(session_id, 0))]
    ]
    if not chosen:
        return []
    await tx.db.execute(
        update(seats)
        .where(ids_param(seats.c.id, "seat_ids"))
        .values(status=SeatStatus.ENROLLED.value, updated_at=tx.now),
        {"seat_ids": [row.id for row in chosen]},
    )
    await notify(
        tx,
        [
            Note(
                row.user_id,
                "ilt_seat_confirmed",
                f"You have a seat in {locked[row.session_id].label}",
                "A seat became free and is now yours: you were next on the waitlist.",
            )
            for row in chosen
        ],
    )
    await record_history(
        tx,
        [
            HistoryLine(
                row.enrollment_id,
                "ilt_waitlist_promoted",
                f"Given a seat in {locked[row.session_id].label} from its waitlist.",
                details={"sessionId": row.session_id},
            )
            for row in chosen
        ],
    )
    await refresh_learners(tx.lms, tx.db, [row.enrollment_id for row in chosen])
    return [Promoted(row.enrollment_id, row.name, row.session_id) for row in chosen]


def hand_over(
    leavers: Sequence[tuple[int, int]], promoted: Sequence[Promoted]
) -> dict[int, Promoted]:
    """Who got whose seat: ``leavers`` are ``(key, session ID)`` of the learners who
    freed a seat, in order; each is paired with the next learner promoted into that
    session (first freed, first given). Leavers whose seat nobody took are left out."""
    queues: dict[int, deque[Promoted]] = defaultdict(deque)
    for one in promoted:
        queues[one.session_id].append(one)
    successors: dict[int, Promoted] = {}
    for key, session_id in leavers:
        if queues[session_id]:
            successors[key] = queues[session_id].popleft()
    return successors


async def seat_sessions(tx: Tx, attempt_ids: Collection[int], session_id: int) -> Mapping[int, int]:
    """The seat each attempt has (had) in ``session_id``, attended or still enrolled:
    ``{attempt_id: seat_id}``."""
    if not attempt_ids:
        return {}
    rows = await tx.db.execute(
        select(seats.c.attempt_id, seats.c.id).where(
            ids_param(seats.c.attempt_id, "attempt_ids"),
            seats.c.session_id == session_id,
            seats.c.status.in_(TAKING),
        ),
        {"attempt_ids": list(attempt_ids)},
    )
    return dict(rows.all())
