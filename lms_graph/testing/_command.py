"""The ``lms-graph`` command against a test's database, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lms_graph.settings import Settings


class Command:
    """``lms_cli("schema")``: runs ``lms-graph schema`` in a new process with the test's
    database, secret key and plugin allow-list in its environment (``LMS_*``); its
    standard output. A non-zero exit fails the test with the command's stderr."""

    def __init__(self, settings: Settings) -> None:
        self.environment = {
            "LMS_DATABASE_URL": settings.database_url,
            "LMS_SECRET_KEY": settings.secret_key,
        }
        if settings.plugins is not None:
            self.environment["LMS_PLUGINS"] = ",".join(settings.plugins)

    def __call__(self, *args: str) -> str:
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("LMS_") or name.startswith("LMS_TEST_")
        }
        done = subprocess.run(
            [sys.executable, "-m", "lms_graph", *args],
            env=environment | self.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"lms-graph {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}",
                pytrace=False,
            )
        return done.stdout
