"""Who may see what: the read-side rules of CONTRACT section 3."""

from __future__ import annotations

from lms_graph.auth import Viewer
from lms_graph.records import EnrollmentRecord, UserRecord


def sees_enrollment(viewer: Viewer, enrollment: EnrollmentRecord) -> bool:
    """The learner themself, admins and the course's instructors."""
    if viewer.user is None:
        return False
    return enrollment.user_id == viewer.user.id or viewer.manages(enrollment.course_id)


def sees_user(viewer: Viewer, user: UserRecord) -> bool:
    """Admins, the user themself, and instructors (who see learners through courses)."""
    if viewer.user is None:
        return False
    return viewer.is_admin or viewer.user.id == user.id or bool(viewer.instructs)
