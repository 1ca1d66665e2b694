"""``make bench``: every benchmark, printed as figures (never run by the test suite)."""

from __future__ import annotations

import asyncio
import sys

from bench import actions


def main() -> int:
    asyncio.run(actions.main(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
