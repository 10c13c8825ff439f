"""``python -m autonomos.cli``: the same as the ``aos`` command."""

from autonomos.cli.app import main

main()
