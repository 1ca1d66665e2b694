"""Errors a person can act on, each with a stable machine code."""

from __future__ import annotations

from typing import Any


class LMSError(Exception):
    """A refusal: the request was understood and declined. Nothing was changed."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extensions = extensions


class BadInput(LMSError):
    code = "BAD_USER_INPUT"


class NotFound(LMSError):
    code = "NOT_FOUND"


class Forbidden(LMSError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.", **kw: Any) -> None:
        super().__init__(message, **kw)


class Unauthenticated(LMSError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Sign in first: send a valid bearer token.") -> None:
        super().__init__(message)


class Conflict(LMSError):
    code = "CONFLICT"


class PluginError(Exception):
    """A plugin's hook raised. Logged with the plugin's name; its text never reaches a client."""

    def __init__(self, plugin: str, hook: str) -> None:
        super().__init__(f"plugin {plugin!r} failed in hook {hook}")
        self.plugin = plugin
        self.hook = hook


class StartupError(Exception):
    """The plugin set cannot work together (e.g. two plugins claim one key)."""
