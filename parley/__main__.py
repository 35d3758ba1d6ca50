"""``python -m parley``: the ``parley`` command line."""

from parley.cli import main

main()
