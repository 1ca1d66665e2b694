"""``python -m lms_graph ...``: the ``lms-graph`` command."""

import sys

from lms_graph.cli import main

if __name__ == "__main__":
    sys.exit(main())
