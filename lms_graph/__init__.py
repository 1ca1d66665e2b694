"""lms-graph: the learner-management GraphQL service.

The public surface for plugin authors, in three modules:

- ``lms_graph`` (here): what a course type or plugin needs: ``hookimpl`` (and what an
  implementation declares: ``for_course_types``, ``ignores_facts``, ``facts_in_sql``), the value
  types and records, errors, ``Tx``/``write``/``emit_event``, ``notify``,
  ``record_history``, IDs, ``Viewer``, ``LMS``, ``ActionContext``, download links,
  the table conventions (``NAMING_CONVENTION``, ``UTCDateTime``);
- ``lms_graph.fields``: what a fast field declares (``batched``, ``from_parent``,
  ``RESOLVE``, ``ids_param``);
- ``lms_graph.types``: the core's GraphQL types a plugin extends or returns
  (``Course``, ``Enrollment``, ``User``, ...).

Nothing deeper is public. Every name is loaded on first use (PEP 562), so
``import lms_graph`` stays cheap: no GraphQL, web server or database driver is
imported until a name that needs one is read.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    __version__: str

    from lms_graph.auth import Viewer
    from lms_graph.core import LMS
    from lms_graph.downloads import download_viewer
    from lms_graph.downloads import sign as sign_download
    from lms_graph.errors import BadInput, Conflict, Forbidden, LMSError, NotFound, StartupError
    from lms_graph.hook_scope import facts_in_sql, for_course_types, ignores_facts
    from lms_graph.hookspecs import hookimpl
    from lms_graph.ids import decode_id, to_global_id
    from lms_graph.metrics import register_collector
    from lms_graph.models import NAMING_CONVENTION, UTCDateTime
    from lms_graph.records import ChapterRecord, CourseRecord, EnrollmentRecord, UserRecord
    from lms_graph.schema.base import Node
    from lms_graph.services.actions import ActionContext
    from lms_graph.services.journal import HistoryLine, Note, notify, record_history
    from lms_graph.services.progress import refresh_learners
    from lms_graph.services.tx import Tx, emit_event, write
    from lms_graph.sql import ids_param
    from lms_graph.values import (
        ActionDefinition,
        ActionKind,
        ActionParam,
        AssignmentType,
        ChapterKind,
        CourseKind,
        CourseType,
        Event,
        GraphQLExtension,
        LearnerProgress,
        LearnerRef,
        LearnerState,
        LearnerStatus,
        MenuLearner,
        MigrationSource,
        NotificationMessage,
        Outcome,
        OutcomeStatus,
        SQLExecutor,
    )

__all__ = [
    "LMS",
    "NAMING_CONVENTION",
    "ActionContext",
    "ActionDefinition",
    "ActionKind",
    "ActionParam",
    "AssignmentType",
    "BadInput",
    "ChapterKind",
    "ChapterRecord",
    "Conflict",
    "CourseKind",
    "CourseRecord",
    "CourseType",
    "EnrollmentRecord",
    "Event",
    "Forbidden",
    "GraphQLExtension",
    "HistoryLine",
    "LMSError",
    "LearnerProgress",
    "LearnerRef",
    "LearnerState",
    "LearnerStatus",
    "MenuLearner",
    "MigrationSource",
    "Node",
    "NotFound",
    "Note",
    "NotificationMessage",
    "Outcome",
    "OutcomeStatus",
    "SQLExecutor",
    "StartupError",
    "Tx",
    "UTCDateTime",
    "UserRecord",
    "Viewer",
    "decode_id",
    "download_viewer",
    "emit_event",
    "facts_in_sql",
    "for_course_types",
    "hookimpl",
    "ids_param",
    "ignores_facts",
    "notify",
    "record_history",
    "refresh_learners",
    "register_collector",
    "sign_download",
    "to_global_id",
    "write",
]

_EXPORTS: dict[str, tuple[str, str]] = {
    "Viewer": ("lms_graph.auth", "Viewer"),
    "LMS": ("lms_graph.core", "LMS"),
    "download_viewer": ("lms_graph.downloads", "download_viewer"),
    "sign_download": ("lms_graph.downloads", "sign"),
    "BadInput": ("lms_graph.errors", "BadInput"),
    "Conflict": ("lms_graph.errors", "Conflict"),
    "Forbidden": ("lms_graph.errors", "Forbidden"),
    "LMSError": ("lms_graph.errors", "LMSError"),
    "NotFound": ("lms_graph.errors", "NotFound"),
    "StartupError": ("lms_graph.errors", "StartupError"),
    "facts_in_sql": ("lms_graph.hook_scope", "facts_in_sql"),
    "for_course_types": ("lms_graph.hook_scope", "for_course_types"),
    "ignores_facts": ("lms_graph.hook_scope", "ignores_facts"),
    "hookimpl": ("lms_graph.hookspecs", "hookimpl"),
    "decode_id": ("lms_graph.ids", "decode_id"),
    "to_global_id": ("lms_graph.ids", "to_global_id"),
    "register_collector": ("lms_graph.metrics", "register_collector"),
    "NAMING_CONVENTION": ("lms_graph.models", "NAMING_CONVENTION"),
    "UTCDateTime": ("lms_graph.models", "UTCDateTime"),
    "ChapterRecord": ("lms_graph.records", "ChapterRecord"),
    "CourseRecord": ("lms_graph.records", "CourseRecord"),
    "EnrollmentRecord": ("lms_graph.records", "EnrollmentRecord"),
    "UserRecord": ("lms_graph.records", "UserRecord"),
    "Node": ("lms_graph.schema.base", "Node"),
    "ActionContext": ("lms_graph.services.actions", "ActionContext"),
    "HistoryLine": ("lms_graph.services.journal", "HistoryLine"),
    "Note": ("lms_graph.services.journal", "Note"),
    "notify": ("lms_graph.services.journal", "notify"),
    "record_history": ("lms_graph.services.journal", "record_history"),
    "refresh_learners": ("lms_graph.services.progress", "refresh_learners"),
    "Tx": ("lms_graph.services.tx", "Tx"),
    "emit_event": ("lms_graph.services.tx", "emit_event"),
    "write": ("lms_graph.services.tx", "write"),
    "ids_param": ("lms_graph.sql", "ids_param"),
    "ActionDefinition": ("lms_graph.values", "ActionDefinition"),
    "ActionKind": ("lms_graph.values", "ActionKind"),
    "ActionParam": ("lms_graph.values", "ActionParam"),
    "AssignmentType": ("lms_graph.values", "AssignmentType"),
    "ChapterKind": ("lms_graph.values", "ChapterKind"),
    "CourseKind": ("lms_graph.values", "CourseKind"),
    "CourseType": ("lms_graph.values", "CourseType"),
    "Event": ("lms_graph.values", "Event"),
    "GraphQLExtension": ("lms_graph.values", "GraphQLExtension"),
    "LearnerProgress": ("lms_graph.values", "LearnerProgress"),
    "LearnerRef": ("lms_graph.values", "LearnerRef"),
    "LearnerState": ("lms_graph.values", "LearnerState"),
    "LearnerStatus": ("lms_graph.values", "LearnerStatus"),
    "MenuLearner": ("lms_graph.values", "MenuLearner"),
    "MigrationSource": ("lms_graph.values", "MigrationSource"),
    "NotificationMessage": ("lms_graph.values", "NotificationMessage"),
    "Outcome": ("lms_graph.values", "Outcome"),
    "OutcomeStatus": ("lms_graph.values", "OutcomeStatus"),
    "SQLExecutor": ("lms_graph.values", "SQLExecutor"),
}
"""Each public name: the module that defines it, and its name there."""

_MOVED: dict[str, str] = {
    "RESOLVE": "lms_graph.fields",
    "batched": "lms_graph.fields",
    "from_parent": "lms_graph.fields",
}
"""Names this module exported before they moved to a submodule: still served, with a
``DeprecationWarning`` naming the new place."""

_DISTRIBUTION = "lms-graph"
_UNKNOWN_VERSION = "0+unknown"
"""``__version__`` of a source tree that was never installed."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(_DISTRIBUTION)
    except PackageNotFoundError:
        return _UNKNOWN_VERSION


def __getattr__(name: str) -> object:
    """Load a public name on first use (PEP 562), then keep it in the module."""
    if name in _MOVED:
        new_place = _MOVED[name]
        warnings.warn(
            f"lms_graph.{name} is deprecated: import it from {new_place}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_place), name)
    value: object
    if name == "__version__":
        value = _version()
    elif name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attribute)
    else:
        raise AttributeError(f"module 'lms_graph' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "__version__"})
