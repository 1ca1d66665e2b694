"""The mixed load's clients: learners writing progress, xAPI statements and SCORM
commits; admins reading the dashboard and running mass actions.

Each client holds one keep-alive HTTP/1.1 connection (raw asyncio streams, as in
``bench/load.py``) and sends its own script of requests back to back until the
phase's deadline or the phase's request budget, each request bounded by a client-side
timeout. A request fails when it times out, its connection fails, its status is not
2xx, or its GraphQL answer carries ``errors``; the connection is then opened afresh.
What each successful write was is kept, so that the run can check it was stored.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import dataclasses
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from bench import mixed_seed
from bench.load import LOOPBACK
from bench.mixed_seed import World
from bench.queries import LMS_QUERY, PAGE
from lms_graph.ids import decode_id, to_global_id

START = "startCourse"
COMPLETE = "completeChapter"
ANSWER = "answerQuiz"
XAPI = "xAPI statement"
SCORM = "SCORM commit"
DASHBOARD = "dashboard"
MASS_ACTIONS = "massActions"
RUN_ACTION = "runAction"
KINDS = (START, COMPLETE, ANSWER, XAPI, SCORM, DASHBOARD, MASS_ACTIONS, RUN_ACTION)

CHAPTER_COMPLETED = "chapter_completed"
QUIZ_ANSWERED = "quiz_answered"
"""The history lines completeChapter and answerQuiz write (one each), as mass actions
write one named after the action for each learner it was OK for."""
SCORM_COMMIT = "scorm_commit"
MASS_ACTION_KEYS = ("mark_complete", "reset_progress")

LEARNER_CYCLE = (COMPLETE, XAPI, ANSWER, SCORM, COMPLETE, XAPI, ANSWER, SCORM, START)
"""A learner client's requests, each client starting at its own place in the cycle."""

_START = """mutation Start($course: ID!) {
  startCourse(courseId: $course) { id state progress }
}"""
_COMPLETE = """mutation Complete($enrollment: ID!, $chapter: ID!) {
  completeChapter(enrollmentId: $enrollment, chapterId: $chapter) { id state progress }
}"""
# Only the quiz's first question is ever answered: the quiz, so the attempt, stays open
# and every completeChapter and answerQuiz of the run is valid.
_ANSWER = """mutation Answer($enrollment: ID!, $question: ID!, $choice: Int!) {
  answerQuiz(enrollmentId: $enrollment, questionId: $question, choice: $choice) {
    id state progress
  }
}"""
_MASS_ACTIONS = """query MassActions($course: ID!) {
  course(id: $course) { massActions { key label } }
}"""
_RUN_ACTION = """mutation Run($input: RunActionInput!) {
  runAction(input: $input) { action outcomes { status enrollmentId } }
}"""
_CREDENTIAL = """mutation Credential($user: ID!) {
  createXapiCredential(userId: $user, label: "bench") { credential { key } secret }
}"""
_EXPERIENCED = {
    "id": "http://adlnet.gov/expapi/verbs/experienced",
    "display": {"en-US": "experienced"},
}


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """One request of a script, and the row its success must leave in the database:
    a history line ``record`` (or a SCORM commit) of ``enrollment_id``, or a statement."""

    kind: str
    path: str
    payload: Any
    headers: dict[str, str]
    record: str | None = None
    enrollment_id: int | None = None
    statement_id: str | None = None

    @property
    def graphql(self) -> bool:
        return self.path == "/graphql"


@dataclasses.dataclass(slots=True)
class KindTally:
    sent: int = 0
    latencies: list[float] = dataclasses.field(default_factory=list)
    """Seconds of each successful request."""
    errors: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    samples: dict[str, str] = dataclasses.field(default_factory=dict)
    """The first message seen for each kind of error."""


@dataclasses.dataclass(slots=True)
class Tally:
    """What one phase sent and got back, and the writes the server said it made."""

    kinds: collections.defaultdict[str, KindTally] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(KindTally)
    )
    statements_ok: set[str] = dataclasses.field(default_factory=set)
    statements_failed: set[str] = dataclasses.field(default_factory=set)
    started_ok: set[int] = dataclasses.field(default_factory=set)
    """Enrollments a startCourse succeeded for."""
    done: collections.Counter[tuple[str, int]] = dataclasses.field(
        default_factory=collections.Counter
    )
    """Writes answered as done, by record and enrollment: completeChapter and answerQuiz
    (history lines), SCORM commits, and each learner a mass action reports as OK."""
    budget: int = 0
    """Requests the phase may still send."""

    def ok(self, kind: str) -> int:
        tally = self.kinds[kind]
        return tally.sent - sum(tally.errors.values())

    def fail(self, call: Call, label: str, message: str) -> None:
        tally = self.kinds[call.kind]
        tally.errors[label] += 1
        tally.samples.setdefault(label, message[:200])
        if call.statement_id is not None:
            self.statements_failed.add(call.statement_id)

    def succeed(self, call: Call, seconds: float, answer: Any) -> None:
        self.kinds[call.kind].latencies.append(seconds)
        if call.statement_id is not None:
            self.statements_ok.add(call.statement_id)
        if call.kind == START and call.enrollment_id is not None:
            self.started_ok.add(call.enrollment_id)
        if call.record is not None and call.enrollment_id is not None:
            self.done[(call.record, call.enrollment_id)] += 1
        if call.kind == RUN_ACTION:
            run = answer["data"]["runAction"]
            for outcome in run["outcomes"]:
                if outcome["status"] == "OK":
                    enrollment = decode_id(outcome["enrollmentId"], "Enrollment")
                    self.done[(run["action"], enrollment)] += 1


# --- HTTP -----------------------------------------------------------------------------------


class Connection:
    """One keep-alive connection to a loopback server, opened when first needed."""

    def __init__(self, host: str, port: int) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the bench only loads loopback servers, not {host}")
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, call: Call) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        body = json.dumps(call.payload).encode()
        lines = [
            f"POST {call.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            "Accept: application/json",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in call.headers.items()),
            "",
            "",
        ]
        writer.write("\r\n".join(lines).encode() + body)
        await writer.drain()
        status, headers, answer = await _read_response(reader)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, answer

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, headers, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, headers, b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    if status in (204, 304) or 100 <= status < 200:
        return status, headers, b""
    raise ValueError("a response without a length")


def _failure(call: Call, status: int, raw: bytes) -> tuple[tuple[str, str] | None, Any]:
    """(error label and message, or None when the request succeeded; the parsed answer)."""
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        return (f"HTTP {status}", raw[:200].decode(errors="replace")), None
    if call.graphql:
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if 200 <= status < 300 and not errors and isinstance(answer, dict):
            return None, answer
        first = (errors or [{}])[0]
        code = (first.get("extensions") or {}).get("code", "no code")
        where = "GraphQL" if status == 200 else f"HTTP {status}"
        return (f"{where} {code}", str(first.get("message", raw[:200]))), answer
    if 200 <= status < 300:
        return None, answer
    code = answer.get("code", "") if isinstance(answer, dict) else ""
    message = answer.get("error", "") if isinstance(answer, dict) else str(answer)
    return (f"HTTP {status} {code}".rstrip(), str(message)), answer


async def send(connection: Connection, call: Call, limit: float, tally: Tally) -> Any:
    """Send one request and count it; its parsed answer when it succeeded, else None."""
    tally.kinds[call.kind].sent += 1
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            status, raw = await connection.send(call)
    except TimeoutError:
        connection.close()  # a late answer would be read as the next request's
        tally.fail(call, "client timeout", f"no answer within {limit:g} s")
        return None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        connection.close()
        tally.fail(call, f"connection error ({type(exc).__name__})", str(exc))
        return None
    seconds = time.perf_counter() - started
    failure, answer = _failure(call, status, raw)
    if failure is not None:
        tally.fail(call, *failure)
        return None
    tally.succeed(call, seconds, answer)
    return answer


async def client(
    host: str, port: int, script: Iterator[Call], deadline: float, limit: float, tally: Tally
) -> None:
    """Send ``script`` until ``deadline`` or until the phase's budget is spent."""
    connection = Connection(host, port)
    try:
        while time.perf_counter() < deadline and tally.budget > 0:
            tally.budget -= 1
            await send(connection, next(script), limit, tally)
    finally:
        connection.close()


# --- scripts --------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _basic(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def learner_script(world: World, number: int, rest_auth: dict[str, str]) -> Iterator[Call]:
    """Learner client ``number``, acting as ``world.learners[number]`` on its own
    enrollments; ``rest_auth`` is its credential for /xapi and /scorm (Basic or bearer)."""
    learner = world.learners[number]
    auth = _bearer(learner.token)
    chapters = world.chapters[learner.self_paced_course]
    question = world.questions[learner.self_paced_course][0]
    xapi_chapters = world.chapters[world.courses[mixed_seed.XAPI]]
    kinds = itertools.islice(itertools.cycle(LEARNER_CYCLE), number % len(LEARNER_CYCLE), None)
    for step, kind in enumerate(kinds):
        if kind == START:
            yield Call(
                kind,
                "/graphql",
                {
                    "query": _START,
                    "variables": {"course": to_global_id("Course", learner.self_paced_course)},
                },
                auth,
                enrollment_id=learner.self_paced,
            )
        elif kind == COMPLETE:
            chapter = chapters[(number + step) % len(chapters)]
            variables: dict[str, Any] = {
                "enrollment": to_global_id("Enrollment", learner.self_paced),
                "chapter": to_global_id("Chapter", chapter),
            }
            yield Call(
                kind,
                "/graphql",
                {"query": _COMPLETE, "variables": variables},
                auth,
                record=CHAPTER_COMPLETED,
                enrollment_id=learner.self_paced,
            )
        elif kind == ANSWER:
            variables = {
                "enrollment": to_global_id("Enrollment", learner.self_paced),
                "question": to_global_id("Question", question),
                "choice": step % 2,
            }
            yield Call(
                kind,
                "/graphql",
                {"query": _ANSWER, "variables": variables},
                auth,
                record=QUIZ_ANSWERED,
                enrollment_id=learner.self_paced,
            )
        elif kind == XAPI:
            statement_id = str(uuid.uuid4())
            chapter = xapi_chapters[step % len(xapi_chapters)]
            statement = {
                "id": statement_id,
                "actor": {"objectType": "Agent", "mbox": f"mailto:{learner.email}"},
                "verb": _EXPERIENCED,
                "object": {"objectType": "Activity", "id": f"urn:lms-graph:chapter:{chapter}"},
            }
            headers = {**rest_auth, "X-Experience-API-Version": "1.0.3"}
            yield Call(kind, "/xapi/statements", statement, headers, statement_id=statement_id)
        else:
            commit = {
                "cmi.core.lesson_status": "incomplete",
                "cmi.core.score.raw": step % 100,
                "cmi.core.score.min": 0,
                "cmi.core.score.max": 100,
                "cmi.suspend_data": f"page={step}",
            }
            path = f"/scorm/runtime/{to_global_id('Enrollment', learner.scorm)}"
            yield Call(
                kind, path, commit, rest_auth, record=SCORM_COMMIT, enrollment_id=learner.scorm
            )


def admin_script(world: World, number: int) -> Iterator[Call]:
    """Admin client ``number``: the dashboard of either self-paced course, a course's
    mass actions, then ``mark_complete`` and ``reset_progress`` on its own passive
    learners of that course (course after course)."""
    auth = _bearer(world.admin_token)
    dashboards = [world.courses[title] for title in mixed_seed.SELF_PACED]
    courses = list(world.courses.values())
    for cycle in itertools.count(number):
        course = courses[cycle % len(courses)]
        passive = world.passive[course]
        mine = passive[number * 10 : (number + 1) * 10] or passive[:10]
        targets = [to_global_id("Enrollment", pk) for pk in mine]
        for step, kind in enumerate((DASHBOARD, MASS_ACTIONS, RUN_ACTION, DASHBOARD, RUN_ACTION)):
            if kind == DASHBOARD:
                variables = {
                    "course": to_global_id("Course", dashboards[(cycle + step) % 2]),
                    "first": PAGE,
                }
                yield Call(kind, "/graphql", {"query": LMS_QUERY, "variables": variables}, auth)
            elif kind == MASS_ACTIONS:
                variables = {"course": to_global_id("Course", course)}
                yield Call(kind, "/graphql", {"query": _MASS_ACTIONS, "variables": variables}, auth)
            else:
                action = MASS_ACTION_KEYS[0] if step == 2 else MASS_ACTION_KEYS[1]
                variables = {"input": {"action": action, "enrollmentIds": targets}}
                yield Call(kind, "/graphql", {"query": _RUN_ACTION, "variables": variables}, auth)


async def credentials(host: str, port: int, world: World, numbers: list[int]) -> dict[int, str]:
    """Basic credentials from ``createXapiCredential`` (asked by the admin) for the
    learner clients ``numbers``: Authorization headers by client number."""
    tally = Tally()
    headers: dict[int, str] = {}
    pending = list(numbers)

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            while pending:
                number = pending.pop()
                user = to_global_id("User", world.learners[number].user_id)
                call = Call(
                    "createXapiCredential",
                    "/graphql",
                    {"query": _CREDENTIAL, "variables": {"user": user}},
                    _bearer(world.admin_token),
                )
                answer = await send(connection, call, 30.0, tally)
                if answer is None:
                    samples = tally.kinds["createXapiCredential"].samples
                    raise SystemExit(f"createXapiCredential failed: {samples}")
                made = answer["data"]["createXapiCredential"]
                headers[number] = _basic(made["credential"]["key"], made["secret"])["Authorization"]
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(4)))
    return headers
