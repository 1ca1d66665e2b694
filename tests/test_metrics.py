"""``/metrics`` (CONTRACT section 11): Prometheus figures the operator can scrape.

Read over HTTP from the real app and parsed with prometheus_client's own parser.
"""

from __future__ import annotations

import pytest
from httpx import ASGITransport, AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from lms_graph.app import create_app
from lms_graph.core import LMS
from lms_graph.metrics import count_retry
from lms_graph.settings import Settings
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, World, gid
from tests.test_deadline import SLOW_CREATE, SlowPlugin

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

CREATE_USER = """
mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }
"""


async def scrape(http: AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_errors_and_latency_are_counted(
    client: AsyncClient, gql: GraphQLClient, world: World
) -> None:
    admin = await world.admin()
    await gql.data("{ viewer { name } }", token=admin.token)
    await gql.data("query Count { users { totalCount } }", token=admin.token)
    await gql.data(
        CREATE_USER, {"input": {"name": "New", "email": "new@example.com"}}, token=admin.token
    )
    refused = await gql.error("{ users(first: 1000) { totalCount } }", token=admin.token)
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    anonymous = await gql.error("{ users { totalCount } }")
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"
    typo = await gql.error("{ viewer { nmae } }", token=admin.token)
    assert typo["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    malformed = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    missing = await client.get("/nowhere/12345")
    assert missing.status_code == 404

    samples = await scrape(client)
    requests = "lms_http_requests_total"
    assert value(samples, requests, route="/graphql", operation="query", status="200") == 5
    assert value(samples, requests, route="/graphql", operation="mutation", status="200") == 1
    assert value(samples, requests, route="/graphql", operation="none", status="400") == 1
    assert value(samples, requests, route="unmatched", operation="GET", status="404") == 1
    errors = "lms_errors_total"
    for code in ("BAD_USER_INPUT", "UNAUTHENTICATED", "GRAPHQL_VALIDATION_FAILED", "400"):
        assert value(samples, errors, route="/graphql", code=code) == 1, code
    assert value(samples, errors, route="unmatched", code="404") == 1
    assert sum(v for (name, _), v in samples.items() if name == errors) == 5
    latency = "lms_http_request_duration_seconds"
    assert value(samples, f"{latency}_count", route="/graphql", operation="query") == 5
    assert value(samples, f"{latency}_sum", route="/graphql", operation="query") > 0
    assert value(samples, f"{latency}_bucket", route="/graphql", operation="mutation", le="+Inf")
    # The scrape before this one counts too, as a route of its own.
    again = await scrape(client)
    assert value(again, requests, route="/metrics", operation="GET", status="200") == 1


async def test_pool_use_is_read_when_scraped(
    client: AsyncClient, gql: GraphQLClient, world: World, lms: LMS
) -> None:
    admin = await world.admin()
    await gql.data("{ viewer { name } }", token=admin.token)
    engines = ["write"] if lms.db.read_engine is lms.db.engine else ["write", "read"]
    idle = await scrape(client)
    async with lms.db.reader():
        busy = await scrape(client)
    reader = engines[-1]
    for engine in engines:
        assert value(idle, "lms_db_pool_checked_out", engine=engine) == 0
        assert value(idle, "lms_db_pool_size", engine=engine) >= 1
    assert value(busy, "lms_db_pool_checked_out", engine=reader) == 1
    checkouts = sum(value(busy, "lms_db_pool_checkouts_total", engine=e) for e in engines)
    assert checkouts >= 2  # the request's read connection, the reader above
    assert sum(value(busy, "lms_db_pool_wait_seconds_total", engine=e) for e in engines) > 0


async def test_retries_are_counted_by_reason(client: AsyncClient) -> None:
    before = await scrape(client)
    count_retry("deadlock")
    count_retry("deadlock")
    count_retry("serialization")
    count_retry("a reason; with user@example.com")
    after = await scrape(client)
    name = "lms_transaction_retries_total"
    for reason, added in (("deadlock", 2), ("serialization", 1), ("OTHER", 1)):
        grown = value(after, name, reason=reason) - value(before, name, reason=reason)
        assert grown == added, reason


async def test_timeouts_are_counted_with_their_code(lms: LMS, world: World) -> None:
    admin = await world.admin()
    service = LMS(lms.settings.replace(request_timeout=0.3), plugins=[SlowPlugin()])
    app = create_app(lms=service)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        stopped = await http.post(
            "/graphql",
            json={
                "query": SLOW_CREATE,
                "variables": {
                    "email": "slow@example.com",
                    "s": 2,
                    "inStatement": False,
                    "afterCommit": False,
                },
            },
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        assert stopped.status_code == 503
        assert (await http.get("/slow/wait", params={"seconds": 2})).status_code == 503
        samples = await scrape(http)
    await service.close()
    requests = "lms_http_requests_total"
    assert value(samples, requests, route="/graphql", operation="mutation", status="503") == 1
    assert value(samples, requests, route="/slow/wait", operation="GET", status="503") == 1
    assert value(samples, "lms_errors_total", route="/graphql", code="TIMEOUT") == 1
    assert value(samples, "lms_errors_total", route="/slow/wait", code="TIMEOUT") == 1


async def test_no_user_data_leaves(client: AsyncClient, gql: GraphQLClient, world: World) -> None:
    admin = await world.admin("Zebulon Quartermaine")
    learner = await world.user("Xanthippe Secret", email="xanthippe.secret@example.com")
    course = await world.course("Confidential Course Title")
    await world.assign(course, [learner], admin)
    query = "query LookUpXanthippe($id: ID!) { node(id: $id) { ... on User { name email } } }"
    found = await gql.data(query, {"id": learner.id}, token=admin.token)
    assert found["node"]["email"] == "xanthippe.secret@example.com"
    course_id = gid("Course", course.id)
    export = f"/exports/quiz/courses/{course_id}.xlsx"
    await client.get(export, headers={"Authorization": f"Bearer {admin.token}"})
    await client.get("/users/xanthippe.secret@example.com/profile")
    text = (await client.get("/metrics")).text
    assert "/exports/quiz/courses/{id}.xlsx" in text
    for secret in (
        "xanthippe",
        "Xanthippe",
        "Zebulon",
        "Confidential",
        "@example.com",
        "LookUpXanthippe",
        learner.id,
        course_id,
        export,
        admin.token,
    ):
        assert secret not in text, secret


@pytest.mark.parametrize(
    ("env", "flag", "served"),
    [
        ("production", None, False),
        ("production", True, True),
        ("development", None, True),
        ("development", False, False),
    ],
)
async def test_served_outside_production_or_when_asked(
    lms: LMS, env: str, flag: bool | None, served: bool
) -> None:
    url = lms.db.url.render_as_string(hide_password=False)
    service = LMS(make_settings(url, env=env, metrics=flag))
    app = create_app(lms=service)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        response = await http.get("/metrics")
    await service.close()
    assert response.status_code == (200 if served else 404)
    if served:
        assert "lms_http_requests" in response.text


def test_lms_metrics_is_a_yes_no_setting() -> None:
    base = {"LMS_SECRET_KEY": "k" * 40}
    assert Settings.from_env(base).metrics_enabled
    assert not Settings.from_env({**base, "LMS_METRICS": "0"}).metrics_enabled
    production = {**base, "LMS_ENV": "production"}
    assert not Settings.from_env(production).metrics_enabled
    assert Settings.from_env({**production, "LMS_METRICS": "1"}).metrics_enabled
    with pytest.raises(SystemExit, match="LMS_METRICS"):
        Settings.from_env({**base, "LMS_METRICS": "sometimes"})
