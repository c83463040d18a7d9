"""Errors kgart raises on purpose.

A leaf module: it imports nothing of kgart, so every layer (store, loaders,
CLI, web) can raise and catch these without import cycles. The CLI turns
them into one line on stderr; the web layer maps them to HTTP statuses.
"""

from __future__ import annotations


class KgartError(Exception):
    """Base class: a user-facing problem with a message worth printing as is."""


class ConfigError(KgartError):
    """A setting has a value kgart cannot use."""


class StoreError(KgartError):
    """The store could not be opened, read or written."""


class StoreLockedError(StoreError):
    """Another process holds the store open for writing."""


class QueryError(KgartError):
    """A SPARQL query or update was rejected (syntax or evaluation)."""


class NotationError(KgartError, ValueError):
    """An Iconclass notation is malformed or unknown.

    ``part`` names the piece of the notation at fault, ``position`` its
    character offset when the notation is malformed.
    """

    def __init__(self, notation: str, reason: str, *, part: str | None = None,
                 position: int | None = None) -> None:
        self.notation = notation
        self.reason = reason
        self.part = part
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"invalid Iconclass notation {notation!r}{where}: {reason}")


class NotReadyError(KgartError):
    """Something the server is still preparing (vectors being computed): try again later."""

    def __init__(self, message: str, done: int = 0, total: int = 0, retry_after: int = 30) -> None:
        super().__init__(message)
        self.done, self.total, self.retry_after = done, total, retry_after

    @property
    def percent(self) -> float:
        return round(100.0 * self.done / self.total, 1) if self.total else 0.0


class DataSourceError(KgartError):
    """Input data (a file, a record, a field) could not be read.

    The message names the file and, where known, the line or record.
    """

    def __init__(self, message: str, *, path: str | None = None,
                 line: int | None = None) -> None:
        self.path = path
        self.line = line
        location = ""
        if path is not None:
            location = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{location}{message}")


class InvalidTermError(QueryError, ValueError):
    """A value meant for a query (an IRI, a language tag, a literal) is not a valid RDF term."""
