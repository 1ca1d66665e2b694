"""The dashboard query, as lms-graph and PostGraphile are asked it (the same fields, page
and order), and how to read the 100 learners out of either answer to compare them."""

from __future__ import annotations

from typing import Any

PAGE = 100

LMS_QUERY = """
query Dashboard($course: ID!, $first: Int!) {
  course(id: $course) {
    learners(first: $first, orderBy: {field: ASSIGNED_AT}) {
      edges {
        node {
          id
          state
          progress
          assignment
          dueDate
          user { id name email employeeId }
          assignedBy { id name }
          certificates { code issuedAt }
        }
      }
    }
  }
}
"""

LMS_QUERY_ACTIONS = LMS_QUERY.replace(
    "certificates { code issuedAt }",
    "certificates { code issuedAt }\n availableActions { key label }",
)

# Active enrollments of the course in assigned-at order (ties by primary key), with the
# current attempt through the ``enrollments_current_attempt`` computed column.
POSTGRAPHILE_QUERY = """
query Dashboard($course: Int!, $first: Int!) {
  enrollments(
    condition: {courseId: $course, unassignedAt: null}
    orderBy: [ASSIGNED_AT_ASC, ROW_ID_ASC]
    first: $first
  ) {
    nodes {
      id
      assignment
      dueDate
      currentAttempt { state progress }
      user { id name email employeeId }
      assignedBy { id name }
      certificates(orderBy: [ATTEMPT_NUMBER_ASC, ISSUED_AT_ASC, ROW_ID_ASC]) {
        nodes { code issuedAt }
      }
    }
  }
}
"""


def lms_learners(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(email, state, progress, certificate codes) of each learner, in page order."""
    edges = answer["data"]["course"]["learners"]["edges"]
    return [
        (
            e["node"]["user"]["email"],
            e["node"]["state"],
            e["node"]["progress"],
            e["node"]["assignment"],
            e["node"]["dueDate"],
            (e["node"]["assignedBy"] or {}).get("name"),
            tuple(c["code"] for c in e["node"]["certificates"]),
        )
        for e in edges
    ]


def postgraphile_learners(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    nodes = answer["data"]["enrollments"]["nodes"]
    return [
        (
            n["user"]["email"],
            n["currentAttempt"]["state"],
            n["currentAttempt"]["progress"],
            n["assignment"],
            n["dueDate"],
            (n["assignedBy"] or {}).get("name"),
            tuple(c["code"] for c in n["certificates"]["nodes"]),
        )
        for n in nodes
    ]
