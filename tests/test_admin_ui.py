"""The dashboard's static files at /admin/: on in development, off in production
unless LMS_ADMIN_UI says otherwise, with headers that keep it to its own origin.
(The page itself is tested in a browser: tests/browser/.)"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient

from lms_graph.admin import ASSETS
from lms_graph.app import create_app
from lms_graph.settings import Settings
from tests.conftest import BUILTIN_PLUGINS, SECRET


def _settings(tmp_path: Path, **changes: object) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    return Settings(database_url=url, secret_key=SECRET, plugins=BUILTIN_PLUGINS).replace(**changes)


async def _client(settings: Settings) -> AsyncIterator[AsyncClient]:
    app = create_app(settings)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://lms.test") as http:
        yield http
    await app.state.lms.close()


@pytest.fixture
async def dev(tmp_path: Path) -> AsyncIterator[AsyncClient]:
    async for http in _client(_settings(tmp_path)):
        yield http


async def test_dashboard_is_served_in_development(dev: AsyncClient) -> None:
    redirect = await dev.get("/admin")
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/admin/")
    page = await dev.get("/admin/")
    assert page.status_code == 200
    assert '<script type="module" src="app.js">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    module = await dev.get("/admin/learners.js")
    assert module.status_code == 200
    assert "javascript" in module.headers["content-type"]


async def test_python_sources_are_not_served(dev: AsyncClient) -> None:
    assert (await dev.get("/admin/__init__.py")).status_code == 404
    assert (await dev.get("/admin/missing.js")).status_code == 404


@pytest.mark.parametrize(
    ("changes", "served"),
    [
        ({"env": "production"}, False),
        ({"env": "production", "admin_ui": True}, True),
        ({"admin_ui": False}, False),
    ],
)
async def test_setting_turns_the_dashboard_on_and_off(
    tmp_path: Path, changes: dict[str, object], served: bool
) -> None:
    async for http in _client(_settings(tmp_path, **changes)):
        response = await http.get("/admin/")
        assert response.status_code == (200 if served else 404)


@pytest.mark.parametrize(
    ("raw", "value"), [("", None), ("1", True), ("true", True), ("0", False), ("off", False)]
)
def test_lms_admin_ui_setting(raw: str, value: bool | None) -> None:
    settings = Settings.from_env({"LMS_ADMIN_UI": raw, "LMS_SECRET_KEY": SECRET})
    assert settings.admin_ui is value


def test_lms_admin_ui_refuses_other_words() -> None:
    with pytest.raises(SystemExit, match="LMS_ADMIN_UI must be 1 or 0"):
        Settings.from_env({"LMS_ADMIN_UI": "maybe", "LMS_SECRET_KEY": SECRET})


def test_the_page_uses_only_what_any_frontend_may() -> None:
    """The public endpoints only: no other route is fetched, nothing from another host."""
    sources = {path.name: path.read_text() for path in ASSETS.glob("*.js")}
    fetched = {
        url
        for text in sources.values()
        for url in re.findall(r"fetch\(\s*[`\"']([^`\"'?$]+)", text)
    }
    assert fetched == {"/graphql", "/imports/assignments"}
    pages = [
        *sources.values(),
        (ASSETS / "index.html").read_text(),
        (ASSETS / "style.css").read_text(),
    ]
    assert not any(re.search(r"https?://", text) for text in pages)


CODES = (
    "SESSION_FULL",
    "SCHEDULE_CLASH",
    "ALREADY_IN_SESSION",
    "NOT_APPLICABLE",
    "NO_SESSION",
    "NOT_IN_SESSION",
    "BAD_SESSION_ID",
    "BAD_USER_INPUT",
    "STALE",
    "NOT_FOUND",
    "FORBIDDEN",
    "CONFLICT",
    "TRY_AGAIN",
    "TIMEOUT",
)


def test_api_codes_become_words_in_one_module() -> None:
    """wording.js alone turns the API's codes into sentences; no other module writes a
    code, or shows an outcome's or an error's ``code`` (the browser tests check that no
    dialog ever shows one)."""
    sources = {path.name: path.read_text() for path in ASSETS.glob("*.js")}
    codes = re.compile(r"\b(?:" + "|".join(CODES) + r")\b")
    assert [name for name, text in sources.items() if codes.search(text)] == ["wording.js"]
    shown = re.compile(r"\b(?:o|outcome|error)\.code\b(?!\s*[!=]==)")  # compared, never shown
    assert [name for name, text in sources.items() if shown.search(text)] == ["wording.js"]
