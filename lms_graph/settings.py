"""Settings, read once from the environment (``LMS_*``) into an immutable value."""

from __future__ import annotations

import dataclasses
import math
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_DATABASE_FILE = "lms_graph.db"
SECRET_KEY_FILE = ".lms_secret_key"


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATABASE_FILE}"
    secret_key: str = ""
    env: str = "development"
    plugins: tuple[str, ...] | None = None
    """Allow-list of plugin entry-point names; ``None`` loads every installed plugin."""
    token_ttl_seconds: int = 12 * 3600
    max_page_size: int = 100
    max_query_depth: int = 10
    max_aliases: int = 15
    max_query_tokens: int = 2000
    max_query_nodes: int = 50_000
    max_query_length: int = 32_768
    """Characters of a GraphQL document (variables not counted)."""
    max_selections: int = 500
    """Selections of a document, each fragment counted wherever it is spread."""
    max_field_pairs: int = 2000
    """Pairs of fields answering to one place of the response (``viewer`` 3 times: 3)."""
    max_operations: int = 20
    """Operations in one document (a request runs one of them)."""
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    max_import_rows: int = 200_000
    max_action_targets: int = 10_000
    sql_echo: bool = False
    admin_ui: bool | None = None
    """Serve the reference dashboard at ``/admin/``; ``None``: on except in production."""
    request_timeout: float = 30.0
    """Seconds a request may run before it is stopped (503 ``TIMEOUT``); 0: no deadline."""
    metrics: bool | None = None
    """Serve ``/metrics`` (Prometheus); ``None``: on except in production."""
    sql_rendering: bool = True
    """On PostgreSQL, let the database build the JSON of a page of learners
    (``lms_graph/schema/rendering.py``); off: every value goes through the executor."""

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def admin_ui_enabled(self) -> bool:
        return not self.production if self.admin_ui is None else self.admin_ui

    @property
    def metrics_enabled(self) -> bool:
        return not self.production if self.metrics is None else self.metrics

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        database_url = env.get("LMS_DATABASE_URL") or defaults.database_url
        plugins_raw = env.get("LMS_PLUGINS")
        plugins = (
            tuple(name.strip() for name in plugins_raw.split(",") if name.strip())
            if plugins_raw is not None
            else None
        )
        settings = cls(
            database_url=database_url,
            secret_key=env.get("LMS_SECRET_KEY", ""),
            env=env.get("LMS_ENV", defaults.env),
            plugins=plugins,
            token_ttl_seconds=_int(env, "LMS_TOKEN_TTL", defaults.token_ttl_seconds),
            max_page_size=_int(env, "LMS_MAX_PAGE_SIZE", defaults.max_page_size),
            max_query_depth=_int(env, "LMS_MAX_QUERY_DEPTH", defaults.max_query_depth),
            max_aliases=_int(env, "LMS_MAX_ALIASES", defaults.max_aliases),
            max_query_tokens=_int(env, "LMS_MAX_QUERY_TOKENS", defaults.max_query_tokens),
            max_query_nodes=_int(env, "LMS_MAX_QUERY_NODES", defaults.max_query_nodes),
            max_query_length=_int(env, "LMS_MAX_QUERY_LENGTH", defaults.max_query_length),
            max_selections=_int(env, "LMS_MAX_SELECTIONS", defaults.max_selections),
            max_field_pairs=_int(env, "LMS_MAX_FIELD_PAIRS", defaults.max_field_pairs),
            max_operations=_int(env, "LMS_MAX_OPERATIONS", defaults.max_operations),
            max_body_bytes=_int(env, "LMS_MAX_BODY_BYTES", defaults.max_body_bytes),
            max_upload_bytes=_int(env, "LMS_MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
            max_import_rows=_int(env, "LMS_MAX_IMPORT_ROWS", defaults.max_import_rows),
            max_action_targets=_int(env, "LMS_MAX_ACTION_TARGETS", defaults.max_action_targets),
            sql_echo=env.get("LMS_SQL_ECHO", "") not in ("", "0", "false"),
            admin_ui=_flag(env, "LMS_ADMIN_UI"),
            request_timeout=_seconds(env, "LMS_REQUEST_TIMEOUT", defaults.request_timeout),
            metrics=_flag(env, "LMS_METRICS"),
            sql_rendering=env.get("LMS_SQL_RENDERING", "1") not in ("0", "false"),
        )
        if not settings.secret_key:
            settings = settings.replace(secret_key=_stored_secret_key(settings))
        return settings


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A duration in seconds, fractions allowed; 0 or more and finite."""
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise SystemExit(f"{name} must be a number of seconds (0 or more), not {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    """A yes/no setting; unset or empty: ``None`` (the default applies)."""
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be 1 or 0 (true or false), not {raw!r}")


def _stored_secret_key(settings: Settings) -> str:
    """Generate a signing key once and keep it beside the SQLite file (or in the cwd)."""
    if settings.production:
        raise SystemExit("LMS_SECRET_KEY must be set when LMS_ENV=production")
    folder = Path.cwd()
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            folder = Path(database).resolve().parent
    path = folder / SECRET_KEY_FILE
    key = secrets.token_urlsafe(48)
    try:
        # Created readable by its owner only, and only once: a process that loses the
        # race to create it reads the winner's key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the creator may still be writing it
            if stored := path.read_text().strip():
                return stored
            time.sleep(0.02)
        raise SystemExit(f"{path} is empty: delete it, or set LMS_SECRET_KEY") from None
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key
