"""The web console: server-rendered pages over the service layer, mounted by the API at ``/console``."""

from autonomos.console.app import create_console

__all__ = ["create_console"]
