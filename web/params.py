"""Request parameters checked once, the same way on every route."""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest

from kgart.errors import InvalidTermError
from kgart.oxigraph_adapter import checked_language

MAX_WORDS = 64  # words of a query: more cost time and match nothing better
MAX_TEXT = 4_000  # characters of a query text


def language_param(name: str = "lang", default: str = "en") -> str:
    """A BCP 47 language tag (``lang=nl``), or 400."""
    value = request.values.get(name, default) or default
    try:
        return checked_language(value.replace("_", "-"))
    except InvalidTermError as e:
        raise BadRequest(f"{name} must be a language tag such as en or nl") from e


def text_param(name: str, value: str) -> str:
    """A query text within the size and word caps, or 400."""
    if len(value) > MAX_TEXT:
        raise BadRequest(f"{name} is longer than {MAX_TEXT:,} characters")
    if len(value.split()) > MAX_WORDS:
        raise BadRequest(f"{name} has more than {MAX_WORDS} words")
    return value
