"""Language codes: iconclass/data's file codes and the BCP 47 tags RDF uses."""

from __future__ import annotations

# iconclass/data names two languages by country code; RDF wants BCP 47 tags.
_FILE_TO_TAG = {"cz": "cs", "jp": "ja"}
_TAG_TO_FILE = {tag: code for code, tag in _FILE_TO_TAG.items()}


def normalize_language(language: str) -> str:
    """The BCP 47 tag for a code a user or a data file may give.

    >>> normalize_language("JP"), normalize_language("nl"), normalize_language("cz")
    ('ja', 'nl', 'cs')
    """
    code = language.strip().lower().replace("_", "-")
    return _FILE_TO_TAG.get(code, code)


def language_tag(code: str) -> str:
    """BCP 47 tag for an iconclass/data language code (``jp`` → ``ja``)."""
    return normalize_language(code)


def file_code(language: str) -> str:
    """The iconclass/data code for a language tag or code (``ja`` → ``jp``)."""
    tag = normalize_language(language)
    return _TAG_TO_FILE.get(tag, tag)


def split_languages(text: str | None) -> list[str] | None:
    """``"en, nl"`` → ``["en", "nl"]``; empty or ``None`` → ``None`` (all)."""
    if not text:
        return None
    return [normalize_language(p) for p in text.split(",") if p.strip()] or None
