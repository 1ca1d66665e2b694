"""Creating and updating users (administrators only)."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from lms_graph import models as m
from lms_graph.errors import BadInput, Conflict, NotFound
from lms_graph.queries import USER_COLUMNS
from lms_graph.records import UserRecord
from lms_graph.services.tx import Tx

if TYPE_CHECKING:
    from lms_graph.core import LMS

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

UNSET: object = object()

_TAKEN = "Another user has just been given this email or employee ID."


def normalize_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip().lower()
    if not email:
        return None
    if not _EMAIL.match(email) or len(email) > 320:
        raise BadInput(f"{email!r} is not a valid email address.")
    return email


def normalize_employee_id(employee_id: str | None) -> str | None:
    if employee_id is None:
        return None
    employee_id = employee_id.strip()
    if len(employee_id) > 64:
        raise BadInput("An employee ID has at most 64 characters.")
    return employee_id or None


def _normalize_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise BadInput("A user needs a name.")
    if len(name) > 200:
        raise BadInput("A name has at most 200 characters.")
    return name


async def user_by_email(lms: LMS, email: str) -> UserRecord | None:
    """The user with this (normalised) email, read outside a request (CLI, demo)."""
    async with lms.db.reader() as conn:
        row = (
            (await conn.execute(select(*USER_COLUMNS).where(m.User.email == email)))
            .mappings()
            .one_or_none()
        )
    return None if row is None else UserRecord.from_row(row)


async def _check_unique(
    tx: Tx, email: str | None, employee_id: str | None, exclude_id: int | None = None
) -> None:
    clauses = []
    if email is not None:
        clauses.append(m.User.email == email)
    if employee_id is not None:
        clauses.append(m.User.employee_id == employee_id)
    if not clauses:
        return
    query = select(m.User.email, m.User.employee_id).where(or_(*clauses))
    if exclude_id is not None:
        query = query.where(m.User.id != exclude_id)
    for row in (await tx.db.execute(query)).all():
        if email is not None and row.email == email:
            raise Conflict(f"A user with the email {email} already exists.")
        raise Conflict(f"A user with the employee ID {employee_id} already exists.")


async def create_user(
    tx: Tx,
    *,
    name: str,
    email: str | None = None,
    employee_id: str | None = None,
    is_admin: bool = False,
) -> UserRecord:
    tx.viewer.require_admin()
    return await insert_user(tx, name=name, email=email, employee_id=employee_id, is_admin=is_admin)


async def insert_user(
    tx: Tx,
    *,
    name: str,
    email: str | None = None,
    employee_id: str | None = None,
    is_admin: bool = False,
) -> UserRecord:
    """Create a user without a permission check (the CLI and the demo seed use it)."""
    email = normalize_email(email)
    employee_id = normalize_employee_id(employee_id)
    if email is None and employee_id is None:
        raise BadInput("A user needs an email or an employee ID.")
    name = _normalize_name(name)
    await _check_unique(tx, email, employee_id)
    try:
        result = await tx.db.execute(
            insert(m.User)
            .values(
                name=name,
                email=email,
                employee_id=employee_id,
                is_admin=is_admin,
                active=True,
                created_at=tx.now,
            )
            .returning(*USER_COLUMNS)
        )
    except IntegrityError:
        # Another request took the email or employee ID since ``_check_unique``.
        raise Conflict(_TAKEN) from None
    return UserRecord.from_row(result.mappings().one())


@dataclasses.dataclass(slots=True)
class UserChanges:
    """Fields of ``updateUser``; ``UNSET`` leaves a field as it is."""

    email: object = UNSET
    employee_id: object = UNSET
    name: object = UNSET
    active: object = UNSET
    is_admin: object = UNSET


async def update_user(tx: Tx, user_id: int, changes: UserChanges) -> UserRecord:
    tx.viewer.require_admin()
    current = (
        (await tx.db.execute(select(*USER_COLUMNS).where(m.User.id == user_id)))
        .mappings()
        .one_or_none()
    )
    if current is None:
        raise NotFound("No user has this ID.")
    values: dict[str, object] = {}
    if changes.email is not UNSET:
        values["email"] = normalize_email(changes.email)  # type: ignore[arg-type]
    if changes.employee_id is not UNSET:
        values["employee_id"] = normalize_employee_id(changes.employee_id)  # type: ignore[arg-type]
    if changes.name is not UNSET:
        if changes.name is None:
            raise BadInput("A user needs a name.")
        values["name"] = _normalize_name(changes.name)  # type: ignore[arg-type]
    for flag in ("active", "is_admin"):
        value = getattr(changes, flag)
        if value is not UNSET:
            if value is None:
                raise BadInput(f"{flag} cannot be null.")
            values[flag] = bool(value)
    if user_id == tx.viewer.id and (
        values.get("active") is False or values.get("is_admin") is False
    ):
        raise BadInput("You cannot deactivate yourself or take away your own admin rights.")
    email = values.get("email", current["email"])
    employee_id = values.get("employee_id", current["employee_id"])
    if email is None and employee_id is None:
        raise BadInput("A user needs an email or an employee ID.")
    await _check_unique(
        tx,
        values.get("email"),  # type: ignore[arg-type]
        values.get("employee_id"),  # type: ignore[arg-type]
        exclude_id=user_id,
    )
    if values:
        try:
            await tx.db.execute(update(m.User).where(m.User.id == user_id).values(**values))
        except IntegrityError:
            raise Conflict(_TAKEN) from None
    return UserRecord.from_row({**current, **values})
