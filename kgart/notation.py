"""Iconclass notations as values: parsing, validation, canonical form and IRI.

This module knows the *syntax* of a notation only; whether a notation exists
in Iconclass, its labels and its place in the tree come from
:mod:`kgart.iconclass`, which reads the loaded Iconclass graph.

The grammar, as Iconclass uses it::

    notation := part (":" part)*                     compound, e.g. 61B:31A2212(+1)
    part     := stem [ "(" name ")" tail ] [ "(+" key ")" ]
    stem     := digits [ letter [letter] digits ]    11H, 11HH, 25F23, 83, 140
    tail     := digits                               11H(JEROME)362
    key      := digits                               31D111(+89)

A name may contain anything but unbalanced brackets (``71Y1(Prov. 20:1)``,
``61F(KLOSTER MAULBRONN (Maulbronn))``); ``(...)`` is the placeholder that
Iconclass itself uses for "with NAME".
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import quote

from kgart.errors import NotationError
from kgart.rdf import ICONCLASS_BASE, IRI

PLACEHOLDER = "..."


@dataclass(frozen=True, slots=True)
class NotationPart:
    """One non-compound notation, split into its grammatical pieces."""

    stem: str
    name: str | None = None
    tail: str = ""
    key: str | None = None

    @property
    def base(self) -> str:
        """The notation without its key: what keys roll up to."""
        if self.name is None:
            return self.stem
        return f"{self.stem}({self.name}){self.tail}"

    @property
    def template(self) -> str | None:
        """The ``(...)`` form a named notation instantiates, e.g. ``11H(...)362``."""
        if self.name is None or self.name == PLACEHOLDER:
            return None
        return f"{self.stem}({PLACEHOLDER}){self.tail}"

    def with_key(self, key: str | None) -> NotationPart:
        return NotationPart(self.stem, self.name, self.tail, key)

    def __str__(self) -> str:
        return self.base if self.key is None else f"{self.base}(+{self.key})"


@dataclass(frozen=True, slots=True)
class Notation:
    """A parsed, syntactically valid Iconclass notation (possibly compound).

    >>> n = Notation.parse("25F23(LION)(+12)")
    >>> n.part.base, n.part.key
    ('25F23(LION)', '12')
    >>> n.iri
    <http://iconclass.org/25F23%28LION%29%28%2B12%29>
    >>> str(Notation.parse("61B:31A2212(+1)").parts[1])
    '31A2212(+1)'
    """

    parts: tuple[NotationPart, ...]

    @classmethod
    def parse(cls, text: str) -> Notation:
        """Parse strictly: the text must be exactly one notation.

        :raises NotationError: naming the part and position at fault.
        """
        return parse_notation(text)

    @property
    def is_compound(self) -> bool:
        return len(self.parts) > 1

    @property
    def part(self) -> NotationPart:
        """The only part of a non-compound notation (the first of a compound)."""
        return self.parts[0]

    @property
    def iri(self) -> IRI:
        return notation_iri(str(self))

    def __str__(self) -> str:
        return ":".join(str(p) for p in self.parts)


@dataclass(frozen=True, slots=True)
class LenientParse:
    """What the lenient parser recovered, and every change it made to get there."""

    notation: Notation
    original: str
    changes: tuple[str, ...]


def notation_iri(notation: str) -> IRI:
    """The IRI iconclass.org uses: the notation percent-encoded whole.

    >>> notation_iri("11H(JEROME)362")
    <http://iconclass.org/11H%28JEROME%29362>
    >>> notation_iri("73D82(CROWN OF THORNS)")
    <http://iconclass.org/73D82%28CROWN%20OF%20THORNS%29>
    """
    return IRI(ICONCLASS_BASE + quote(notation, safe=""))


def notation_from_iri(iri: str) -> str | None:
    """The notation an iconclass.org IRI stands for, or ``None`` for other IRIs."""
    from urllib.parse import unquote

    for base in (ICONCLASS_BASE, "https://iconclass.org/"):
        if iri.startswith(base) and len(iri) > len(base):
            return unquote(iri[len(base):])
    return None


def parse_notation(text: str) -> Notation:
    """Parse one notation strictly.

    >>> str(parse_notation("11HH(MARY MAGDALENE)36"))
    '11HH(MARY MAGDALENE)36'
    >>> parse_notation("73D8x")
    Traceback (most recent call last):
    ...
    kgart.errors.NotationError: invalid Iconclass notation '73D8x' at position 4: unexpected 'x' ...

    :raises NotationError: when the text is not a notation.
    """
    if not isinstance(text, str):
        raise NotationError(repr(text), "a notation must be text")
    if text == "":
        raise NotationError(text, "empty notation")
    parts: list[NotationPart] = []
    start = 0
    for end in _compound_boundaries(text):
        parts.append(_parse_part(text, start, end))
        start = end + 1
    parts.append(_parse_part(text, start, len(text)))
    return Notation(tuple(parts))


def _compound_boundaries(text: str) -> list[int]:
    """Positions of the ``:`` that join parts (colons inside names don't count)."""
    depth = 0
    found = []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == ":" and depth == 0:
            found.append(i)
    return found


def _digits(text: str, i: int, end: int) -> int:
    while i < end and text[i].isascii() and text[i].isdigit():
        i += 1
    return i


def _closing_bracket(text: str, open_at: int, end: int) -> int:
    depth = 0
    for i in range(open_at, end):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise NotationError(text, "unbalanced '(' : the bracket is never closed",
                        part="name", position=open_at)


def _parse_part(text: str, start: int, end: int) -> NotationPart:
    if start == end:
        raise NotationError(text, "empty part in a compound notation", position=start)
    i = _digits(text, start, end)
    if i == start:
        raise NotationError(text, f"expected a digit (the division 0-9), found {text[start]!r}",
                            part="division", position=start)
    if i < end and text[i].isalpha():
        letter = text[i]
        if not ("A" <= letter <= "Z"):
            hint = " (notations use capital letters)" if letter.isascii() else ""
            raise NotationError(text, f"letter {letter!r} is not allowed here{hint}",
                                part="letter", position=i)
        i += 1
        if i < end and text[i].isalpha():
            if text[i] != letter:
                raise NotationError(
                    text, f"a second letter must double the first ({letter}{letter}), "
                    f"found {letter}{text[i]}", part="letter", position=i)
            i += 1
            if i < end and text[i].isalpha():
                raise NotationError(text, "at most two letters may follow the digits",
                                    part="letter", position=i)
        i = _digits(text, i, end)
    stem = text[start:i]
    name: str | None = None
    tail = ""
    key: str | None = None
    if i < end and text[i] == "(" and not text.startswith("(+", i):
        close = _closing_bracket(text, i, end)
        name = text[i + 1:close]
        if not name.strip():
            raise NotationError(text, "empty name in brackets '()'", part="name", position=i)
        if name != name.strip() or "  " in name:
            raise NotationError(text, "stray spaces in the bracketed name",
                                part="name", position=i + 1)
        i = close + 1
        tail_end = _digits(text, i, end)
        tail = text[i:tail_end]
        i = tail_end
    if text.startswith("(+", i):
        close = text.find(")", i, end)
        if close < 0:
            raise NotationError(text, "unclosed key '(+'", part="key", position=i)
        key = text[i + 2:close]
        if not key or not key.isascii() or not key.isdigit():
            raise NotationError(text, f"a key holds digits only, found {key!r}",
                                part="key", position=i + 2)
        i = close + 1
    if i < end:
        after = text[start:i]
        if text[i] == "(" and (name is not None or key is not None):
            reason = (f"unexpected bracket after {after!r}: a part has at most one name "
                      "and one key, the name first")
        else:
            reason = (f"unexpected {text[i]!r} after {after!r} "
                      "(expected a digit, '(' or ':')")
        raise NotationError(text, reason, position=i)
    return NotationPart(stem, name, tail, key)


_WHITESPACE = re.compile(r"\s+")
# A space before a bracket that opens a key or an upper-case name belongs to the
# notation ("73D82  (CROWN OF THORNS)"); a lower-case bracket is label text
# ("92D2228 (story of) Dike").
_SPACE_BEFORE_BRACKET = re.compile(r"(?<=[0-9A-Z)]) \((?=\+|[^a-z()]*[A-Z][^a-z()]*\))")
_SPACES_IN_KEY = re.compile(r"\(\+\s*(\d+)\s*\)")
_SPACED_COLON = re.compile(r"(?<=[0-9A-Z)])\s*:\s*(?=\d)")
_LOWER_STEM = re.compile(r"^(\d+)([a-z])(\2?)(?=[\d(: ]|$)")


def parse_lenient(text: str) -> LenientParse:
    """Recover a notation from the messy forms collections contain.

    Handles HTML entities, stray and doubled spaces, a label written after the
    notation, spaces inside keys, lower-case letters. Every change is reported.

    >>> r = parse_lenient("44G56 pirate, corsair, buccaneer")
    >>> str(r.notation), r.changes
    ('44G56', ("dropped text after the notation: 'pirate, corsair, buccaneer'",))
    >>> str(parse_lenient("95A(PYRAMUS &amp; THISBE)24").notation)
    '95A(PYRAMUS & THISBE)24'

    :raises NotationError: when no notation can be recovered.
    """
    if not isinstance(text, str):
        raise NotationError(repr(text), "a notation must be text")
    changes: list[str] = []
    s = text
    unescaped = html.unescape(s)
    if unescaped != s:
        changes.append("decoded HTML entities")
        s = unescaped
    collapsed = _WHITESPACE.sub(" ", s).strip()
    if collapsed != s:
        changes.append("removed stray whitespace")
        s = collapsed
    if not s:
        raise NotationError(text, "empty notation")
    joined = _SPACED_COLON.sub(":", _SPACES_IN_KEY.sub(r"(+\1)", _SPACE_BEFORE_BRACKET.sub("(", s)))
    if joined != s:
        changes.append("removed spaces inside the notation")
        s = joined
    lowered = _LOWER_STEM.match(s)
    if lowered:
        s = lowered.group(1) + lowered.group(2).upper() + lowered.group(3).upper() + s[lowered.end():]
        changes.append("upper-cased the letters of the notation")
    token, rest = _split_label(s)
    notation = parse_notation(token)
    if rest:
        changes.append(f"dropped text after the notation: {rest!r}")
    return LenientParse(notation, text, tuple(changes))


def _split_label(s: str) -> tuple[str, str]:
    """Split at the first space outside brackets: notation, then label text."""
    depth = 0
    for i, ch in enumerate(s):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == " " and depth == 0:
            return s[:i], s[i + 1:].strip(" ·-–—:;,|")
    return s, ""


def split_codes(value: str, separators: str = ",;") -> list[str]:
    """Split a cell holding several codes at separators outside brackets.

    >>> split_codes("73D82(CROWN OF THORNS), 83(OVID, Metamorphoses), 25F")
    ['73D82(CROWN OF THORNS)', '83(OVID, Metamorphoses)', '25F']
    >>> split_codes("48C513(+2) portrait, self-portrait of painter; 25F")
    ['48C513(+2) portrait, self-portrait of painter', '25F']
    """
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch in separators and depth <= 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    merged: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if merged and not part[0].isdigit():
            merged[-1] = f"{merged[-1]}, {part}"  # label text after a code held a comma
        else:
            merged.append(part)
    return merged
