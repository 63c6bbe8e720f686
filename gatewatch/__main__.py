"""``python -m gatewatch``: the command line, as the ``gatewatch`` script runs it."""

from gatewatch.cli.main import main

main()
