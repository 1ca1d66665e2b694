"""Check that a virtual environment holds the versions of ``requirements.lock``.

Run by the environment's own interpreter (``make install``, ``make example``)::

    .venv/bin/python scripts/check_lock.py requirements.lock [--exact] [--own NAME ...]

Every installed distribution but the packaging tools and the ``--own`` ones (the packages
being developed) must be in the lock at its locked version: nothing was installed unpinned.
With ``--exact``, every locked one must also be installed. Exit status 1 lists the
differences.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

TOOLS = frozenset({"pip", "setuptools", "wheel"})


def canonical(name: str) -> str:
    """A distribution name as PyPI compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    """``name==version`` lines of a lock file, by canonical name."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if match:
            pins[canonical(match[1])] = match[2]
    return pins


def installed(own: frozenset[str]) -> dict[str, str]:
    """Installed distributions by canonical name, less the tools and the ``own`` ones."""
    found = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    return {name: v for name, v in found.items() if name not in TOOLS | own}


def differences(pins: dict[str, str], have: dict[str, str], *, exact: bool) -> list[str]:
    """One line per package installed off the lock (or, ``exact``, locked but missing)."""
    lines = [
        f"{name} {version} installed, locked {pins.get(name, 'not at all')}"
        for name, version in sorted(have.items())
        if pins.get(name) != version
    ]
    if exact:
        missing = sorted(pins.keys() - have.keys())
        lines += [f"{name}=={pins[name]} locked, not installed" for name in missing]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", type=Path)
    parser.add_argument("--exact", action="store_true", help="every locked package installed")
    parser.add_argument("--own", nargs="*", default=[], help="the packages being developed")
    args = parser.parse_args()
    own = frozenset(canonical(name) for name in args.own)
    problems = differences(locked(args.lock), installed(own), exact=args.exact)
    for line in problems:
        print(f"{args.lock}: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
