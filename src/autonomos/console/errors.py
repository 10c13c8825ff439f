"""What console pages raise besides the service layer's errors: turned into pages by ``app``."""

from __future__ import annotations

from autonomos.errors import AutonomosError


class ConsoleError(AutonomosError):
    """A request the console refuses (never transient)."""

    transient = False


class SignInRequired(ConsoleError):
    """No live session: the browser is sent to the sign-in page."""

    def __init__(self) -> None:
        super().__init__("sign in with an API key")


class ConsoleForbidden(ConsoleError):
    """The session's role may not do this, or the form is forged or stale (403)."""
