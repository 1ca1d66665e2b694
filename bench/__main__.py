"""``make bench``: the benchmarks, printed as figures (never run by the test suite).

python -m bench [OPTIONS]             the dashboard query beside PostGraphile (bench/dashboard.py)
python -m bench dashboard [OPTIONS]   the same
python -m bench actions [OPTIONS]     the mass actions benchmark (bench/actions.py)
python -m bench imports [OPTIONS]     the CSV import benchmark (bench/imports.py)
python -m bench documents [OPTIONS]   what hostile GraphQL documents cost (bench/documents.py)
python -m bench load [OPTIONS]        mixed traffic at 50 and 200 clients (bench/mixed.py)
python -m bench all                   every benchmark but load, with its default options
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from bench import actions, dashboard, documents, imports, mixed

BENCHMARKS: dict[str, Callable[[list[str]], Coroutine[Any, Any, None]]] = {
    "dashboard": dashboard.main,
    "actions": actions.main,
    "imports": imports.main,
    "documents": documents.main,
    "load": mixed.main,
}


def main() -> int:
    argv = sys.argv[1:]
    which = "dashboard"
    if argv and not argv[0].startswith("-"):
        which = argv.pop(0)
    if which == "all":
        if argv:
            print("`python -m bench all` takes no options: run one benchmark to pass some.")
            return 2
        for name, benchmark in BENCHMARKS.items():
            if name != "load":  # minutes of hundreds of clients: only when asked for
                asyncio.run(benchmark([]))
        return 0
    if which not in BENCHMARKS:
        print(f"Unknown benchmark {which!r}: choose from {', '.join(BENCHMARKS)} or all.")
        return 2
    asyncio.run(BENCHMARKS[which](argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
