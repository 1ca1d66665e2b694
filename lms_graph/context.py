"""The per-request context every resolver receives as ``info.context``."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request

from lms_graph.auth import Viewer
from lms_graph.core import LMS
from lms_graph.db import RequestConnection
from lms_graph.errors import LMSError, Unauthenticated
from lms_graph.loaders import Loaders
from lms_graph.records import UserRecord


@dataclasses.dataclass(slots=True)
class Context:
    lms: LMS
    request: Request | None
    db: RequestConnection
    viewer: Viewer
    loaders: Loaders
    auth_error: LMSError | None = None
    """Set when a token was sent but refused: every field needing a user raises it."""
    json_output: bool = False
    """Whether the answer is encoded by the HTTP endpoint (orjson), which can embed JSON
    that PostgreSQL built, on PostgreSQL with ``sql_rendering`` on."""
    render_sql: bool = False
    """Whether a page of learners may have PostgreSQL build its JSON: ``json_output``, and
    the executor is one that embeds it (set by ``FastExecutionContext``, in a query)."""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Room for plugins' per-request state."""

    def require_user(self) -> UserRecord:
        if self.auth_error is not None:
            raise self.auth_error
        if self.viewer.user is None:
            raise Unauthenticated()
        return self.viewer.user

    def fresh_loaders(self) -> Loaders:
        """Forget what this request loaded so far (after a write), and return new loaders."""
        self.loaders = Loaders(self.db)
        return self.loaders
