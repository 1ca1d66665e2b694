"""The core's GraphQL types a plugin extends, returns or names.

A plugin adds fields to ``Course``, ``Chapter``, ``Enrollment`` and ``User``
(``GraphQLExtension.fields``, keyed by these types' GraphQL names), returns them from
its own fields (``Session.course: Course``), implements ``Node`` for its own objects,
and names ``Notification`` where it shows what the core sent. Import them from here,
never from ``lms_graph.schema``: these names stay, the modules behind them may move::

    from lms_graph.types import Course, User

    @strawberry.field
    def instructor(self, info: strawberry.Info) -> User | None: ...

Importing this module imports the core's schema types (and so strawberry); a plugin
module that only needs the values and hooks imports ``lms_graph``.
"""

from __future__ import annotations

from lms_graph.schema.base import Node
from lms_graph.schema.courses import Chapter, Course
from lms_graph.schema.enrollments import Enrollment
from lms_graph.schema.users import Notification, User

__all__ = ["Chapter", "Course", "Enrollment", "Node", "Notification", "User"]
