"""Checks on SPARQL text that comes from outside (``/sparql``), before any parser sees it.

Two engines read such a query: rdflib (to find SERVICE and LOAD targets, and for
the kNN rewrite) and Oxigraph (to run it). Where they read the same text
differently, a check by one is no check for the other: Oxigraph ends a comment
at a carriage return, rdflib only at a line feed; codepoint escapes
(``\\u0053ERVICE``) may spell a keyword for one of them. So the text is first
made unambiguous, and both are handed exactly that text:

1. size: at most :data:`MAX_QUERY_CHARS` characters;
2. codepoint escapes (``\\uXXXX``, ``\\UXXXXXXXX``) are decoded once, as SPARQL 1.1
   §19.2 says they are before parsing; text that still holds one is refused (it
   would be decoded a second time);
3. a carriage return not followed by a line feed is refused;
4. nesting of ``{ ( [`` deeper than :data:`MAX_DEPTH` is refused (deeply nested
   groups overflow the parser's stack), counted outside strings, IRIs and comments;
5. text that names SERVICE (or, in an update, LOAD) is parsed by rdflib, bounded
   to :data:`MAX_CHECKED_CHARS`, and every target's host must be allowed.

The word test in step 5 is sound once escapes are decoded: the grammar has no other
way to write those keywords.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import cast
from urllib.parse import urlparse

from kgart.errors import QueryError
from kgart.rdf import PREFIXES

MAX_QUERY_CHARS = 1_000_000
MAX_CHECKED_CHARS = 32_768
# rdflib's SPARQL parser (pyparsing) is not safe to run from several threads at once: under a
# threaded server it failed valid queries now and then. Every rdflib parse in kgart takes this.
RDFLIB_PARSER = threading.Lock()
MAX_DEPTH = 100

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_LONE_CR = re.compile(r"\r(?!\n)")
_TOKENS = re.compile(r'''
    "{3}(?:[^"\\]|\\.|"(?!""))*"{3}
  | '{3}(?:[^'\\]|\\.|'(?!''))*'{3}
  | "(?:[^"\\\n\r]|\\.)*"
  | '(?:[^'\\\n\r]|\\.)*'
  | <[^<>"{}|^`\\\x00-\x20]*>
  | \#[^\n\r]*
  | [?$][A-Za-z0-9_\u00B7\u00C0-\uFFFF]+
  | [A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7]*:[\w.\-\u00B7%\\]*
  | :[\w.\-\u00B7%\\]*
  | [A-Za-z]+
  | [{(\[]
  | [})\]]
''', re.VERBOSE | re.DOTALL)


class RefusedQuery(QueryError):
    """A query or update kgart will not run (too large, too deep, ambiguous, or reaching out)."""


class ForbiddenService(RefusedQuery):
    """SERVICE or LOAD names a host that is not allowed."""


def checked_query(text: str, allowed_hosts: Iterable[str] = (), *, update: bool = False) -> str:
    """The text to run, once it has passed every check above.

    :raises RefusedQuery: saying which check failed (never a parser's internals).
    :raises ForbiddenService: for a SERVICE or LOAD target whose host is not allowed.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise RefusedQuery(f"the {'update' if update else 'query'} is longer than {MAX_QUERY_CHARS:,} characters")
    text = _decode_escapes(text)
    if _LONE_CR.search(text):
        raise RefusedQuery("a carriage return without a line feed is not accepted in a query; "
                           "end lines with \\n or \\r\\n")
    shallow_enough(text)
    lowered = text.lower()
    if "service" in lowered or (update and "load" in lowered):
        targets = _targets(text, update)
        keywords = keyword_count(text, {"service", "load"} if update else {"service"})
        if len(targets) < keywords:
            raise RefusedQuery("the query names SERVICE (or LOAD) in a way kgart cannot check; write the target "
                               "as an IRI")
        for target in targets:
            host = urlparse(target).hostname
            if host is None or host not in set(allowed_hosts):
                hosts = ", ".join(sorted(allowed_hosts)) or "none"
                what = "SERVICE" if not update or "service" in lowered else "LOAD"
                raise ForbiddenService(f"{what} <{target[:200]}> is not allowed; allowed hosts: {hosts}")
    return text


def _decode_escapes(text: str) -> str:
    def char(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise RefusedQuery(f"{m.group(0)} is not a valid codepoint escape")
        return chr(code)

    decoded = _ESCAPE.sub(char, text)
    if _ESCAPE.search(decoded):
        raise RefusedQuery("codepoint escapes that spell further escapes are not accepted")
    return decoded


def shallow_enough(text: str) -> str:
    """The text, when it nests no deeper than :data:`MAX_DEPTH` (the embedded store checks
    every query text it is handed: a deeper one would crash the process in Oxigraph's parser).

    :raises RefusedQuery: when it nests deeper.
    """
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise RefusedQuery(f"the query nests {{ ( [ {depth} deep; at most {MAX_DEPTH} is accepted")
    return text


def nesting_depth(text: str) -> int:
    """How deep ``{ ( [`` nest outside strings, IRIs and comments.

    >>> nesting_depth('SELECT * WHERE { { ?s ?p "}}}{{{" } FILTER((1)) }')
    3
    """
    depth = deepest = 0
    for m in _TOKENS.finditer(text):
        token = m.group(0)
        if token in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "})]":
            depth = max(0, depth - 1)
    return deepest


def keyword_count(text: str, words: set[str]) -> int:
    """How often the keywords occur as keywords (not in strings, IRIs, comments, names).

    >>> keyword_count('SELECT ?service WHERE { SERVICE <x:y> { ?s ex:service "service" } } # service', {"service"})
    1
    """
    return sum(1 for m in _TOKENS.finditer(text) if m.group(0).lower() in words)


def _targets(text: str, update: bool) -> list[str]:
    """Every SERVICE endpoint (and, in updates, LOAD source) as rdflib parses the text."""
    if len(text) > MAX_CHECKED_CHARS:
        limit = f"{MAX_CHECKED_CHARS:,}"
        raise RefusedQuery(f"a query that uses SERVICE (or an update with LOAD) may be at most {limit} characters")  # not SPARQL: a message  # noqa: E501
    from rdflib.plugins.sparql import algebra, parser

    try:
        with RDFLIB_PARSER:
            parsed: object = (algebra.translateUpdate(parser.parseUpdate(text), initNs=PREFIXES) if update
                              else algebra.translateQuery(parser.parseQuery(text), initNs=PREFIXES).algebra)
    except Exception as e:  # pyparsing and rdflib raise several kinds  # noqa: BLE001
        raise RefusedQuery(f"SPARQL syntax error: {_first_line(e)}") from None
    found: list[str] = []
    stack: list[object] = [parsed]
    while stack:
        node = stack.pop()
        name = getattr(node, "name", None)
        if name == "ServiceGraphPattern":
            found.append(_term_text(node.get("term")))  # type: ignore[attr-defined]
        elif name == "Load":
            found.append(_term_text(node.get("iri")))  # type: ignore[attr-defined]
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif hasattr(node, "algebra"):
            stack.append(node.algebra)
        elif hasattr(node, "asList") and not isinstance(node, str):
            stack.extend(list(cast(Iterable[object], node)))  # pyparsing results
    return found


def _term_text(term: object) -> str:
    """A SERVICE/LOAD target as text: rdflib's translation has expanded prefixed names already
    (a variable stays its name, which no allowed host matches)."""
    return str(term)


def _first_line(error: Exception) -> str:
    return str(error).split("\n")[0][:200]


__all__ = ["MAX_DEPTH", "ForbiddenService", "RefusedQuery", "checked_query", "nesting_depth"]
