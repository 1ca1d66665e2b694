"""Testing lms-graph and its plugins: a pytest plugin.

Enable it with one line in a ``conftest.py``::

    pytest_plugins = ["lms_graph.testing"]

(or ``pytest -p lms_graph.testing``). It is never loaded on its own: installing
lms-graph does not change any other pytest run. It needs the ``testing`` extra
(``pip install 'lms-graph[testing]'``: pytest, pytest-asyncio, httpx).

Fixtures (a test asks for the ones it needs; the rest follow):

``lms_backend``
    ``"sqlite"`` then ``"postgresql"``: a test using the database runs once on each
    (test IDs ``[sqlite]``, ``[postgresql]``).
``lms_postgres_url``
    The PostgreSQL server of ``LMS_TEST_POSTGRES_URL``
    (``postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB``, a user allowed to CREATE
    DATABASE; when DB does not exist, the server's ``postgres`` database is used).
    Unset, or the server unreachable, the PostgreSQL variant of each test skips with a
    message saying how to enable it; ``LMS_TEST_REQUIRE_POSTGRES=1`` (CI) makes that a
    failure.
``lms_plugins``
    The plugin allow-list (``LMS_PLUGINS``), session-scoped: ``None`` (the default)
    loads every installed plugin, as the service does. Override it to choose::

        @pytest.fixture(scope="session")
        def lms_plugins() -> tuple[str, ...]:
            return ("self_paced", "attendance")

``lms_database_url``
    A database migrated as ``lms-graph db upgrade`` does (the core's branch and every
    loaded plugin's): a temporary SQLite file, or a new PostgreSQL database created on
    that server and dropped afterwards. One per test module and backend.
``lms_settings``, ``lms``
    The service's ``Settings`` and the ``LMS`` service on that database, every table
    emptied before each test.
``lms_app``, ``lms_client``
    The real ASGI app, and an ``httpx.AsyncClient`` calling it in process.
``lms_graphql``
    ``await lms_graphql(query, variables, token=...)``: the response body (``data``,
    ``errors``); ``.data(...)`` asserts there are no errors and returns ``data``;
    ``.error(...)`` asserts there is one and returns the first.
``lms_users``
    ``await lms_users.admin()``, ``.instructor(course)`` (a course's primary key or
    GraphQL ID), ``.learner()``: each a new ``Person`` (``id``, ``global_id``, ``name``,
    ``email``, ``token``); ``lms_users.token(user)`` signs a bearer token for any user.
``lms_sql``
    Counts the SQL statements the service sends during a block, on every engine::

        with lms_sql.count() as counter:
            await lms_graphql.data(PAGE, {"course": course_id}, token=admin.token)
        assert counter.count == 4, counter  # the message lists the statements

    (``counter.statements`` is the list; BEGIN and SQLite's pragmas count too.)
``lms_cli``
    ``lms_cli("schema")``: runs the ``lms-graph`` command in a new process on the
    test's database, secret key and allow-list; its standard output.

For suites sharing one database per run, override ``lms_database_url`` with a
session-scoped fixture built from ``new_database`` and ``migrate``, as lms-graph's
own suite does.

PYTEST_DONT_REWRITE: a conftest may import from this package before enabling it (pytest
would warn that it cannot rewrite it); its assertions carry their own messages.
"""

from lms_graph.testing._command import Command
from lms_graph.testing._databases import (
    BACKENDS,
    SECRET_KEY,
    empty_database,
    merged_metadata,
    migrate,
    new_database,
    settings_for,
)
from lms_graph.testing._fixtures import (
    lms,
    lms_app,
    lms_backend,
    lms_cli,
    lms_client,
    lms_database_url,
    lms_graphql,
    lms_plugins,
    lms_postgres_url,
    lms_settings,
    lms_sql,
    lms_users,
)
from lms_graph.testing._http import GraphQLClient
from lms_graph.testing._postgres import (
    NOT_CONFIGURED,
    PostgresUnavailable,
    create_postgres_database,
    drop_postgres_database,
    postgres_admin,
    skip_or_fail,
)
from lms_graph.testing._sql import SQLStatements, StatementCounter
from lms_graph.testing._users import Person, Users

__all__ = [
    "BACKENDS",
    "NOT_CONFIGURED",
    "SECRET_KEY",
    "Command",
    "GraphQLClient",
    "Person",
    "PostgresUnavailable",
    "SQLStatements",
    "StatementCounter",
    "Users",
    "create_postgres_database",
    "drop_postgres_database",
    "empty_database",
    "lms",
    "lms_app",
    "lms_backend",
    "lms_cli",
    "lms_client",
    "lms_database_url",
    "lms_graphql",
    "lms_plugins",
    "lms_postgres_url",
    "lms_settings",
    "lms_sql",
    "lms_users",
    "merged_metadata",
    "migrate",
    "new_database",
    "postgres_admin",
    "settings_for",
    "skip_or_fail",
]
