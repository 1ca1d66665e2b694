"""The wheel as it ships: only names of ours at the top of site-packages.

A distribution that installed a top-level ``plugins`` package would overwrite (or be
overwritten by) any other distribution's ``plugins``, and shadow a user's own.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("lms_graph-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_top_level_names_are_ours(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/", 1)[0] for name in wheel.namelist()}
    dist_info = {name for name in top if name.endswith(".dist-info")}
    assert top - dist_info == {"lms_graph", "lms_graph_plugins"}


def test_wheel_entry_points_name_shipped_modules(wheel: zipfile.ZipFile) -> None:
    (entry_points_file,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points_file).decode())
    plugins = dict(parser["lms_graph"])
    assert set(plugins) == {"certificates", "email", "ilt", "scorm_xapi", "self_paced"}
    names = set(wheel.namelist())
    for name, target in plugins.items():
        assert target == f"lms_graph_plugins.{name}"
        assert f"lms_graph_plugins/{name}/__init__.py" in names


def test_wheel_carries_plugin_data(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "lms_graph_plugins/certificates/fonts/DejaVuSans.ttf" in names
    assert "lms_graph_plugins/ilt/migrations/versions/ilt_0001.py" in names
    assert "lms_graph/py.typed" in names
