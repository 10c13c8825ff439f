"""The ``aos`` command line: thin commands that parse, call one service, and format."""
