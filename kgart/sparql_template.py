"""The one boundary between values and SPARQL text.

kgart's own queries are constant templates; every value that comes from
outside (an IRI, a notation's IRI, a graph name, a language tag, a number) is
a *placeholder* ``$name`` in the template and is handed to the store
separately, as a typed term. :func:`fill` is the only code that writes a value
into query text: each term is first built by Oxigraph's own term constructors
(which refuse IRIs with ``<>"{}|^`\\`` or spaces, and bad language tags) and
then written in N-Triples form, so a value can never end a term early and
become query syntax.

Both stores call :func:`fill`. (pyoxigraph's ``substitutions=`` would bind
variables without text, but it refuses any variable that is not in the
SELECT projection and answered an aggregate over a bound variable with no
rows, so it cannot carry kgart's templates.) ``tests/test_query_boundary.py``
fails the build when any other module formats values into query text.

>>> fill("SELECT ?o WHERE { $s ?p ?o FILTER(lang(?o) = $lang) } LIMIT $n",
...      {"s": IRI("http://iconclass.org/73D"), "lang": Literal("en"), "n": 5})
'SELECT ?o WHERE { <http://iconclass.org/73D> ?p ?o FILTER(lang(?o) = "en") } LIMIT 5'
>>> fill("ASK { $s ?p ?o }", {"s": IRI("http://x> ?p ?o } #")})
Traceback (most recent call last):
kgart.errors.InvalidTermError: not a valid RDF term: 'http://x> ?p ?o } #' (Invalid IRI code point '>')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from kgart.errors import InvalidTermError
from kgart.oxigraph_adapter import term_ntriples
from kgart.rdf import IRI, XSD, BlankNode, Literal, Term


@dataclass(frozen=True)
class Pattern:
    """A constant graph pattern with its own bound values, to be put into a query
    as one value (``$nodes``): how the kind registry says "the nodes of this kind"."""

    text: str
    bindings: Mapping[str, Value] = field(default_factory=dict)

    def filled(self) -> str:
        return fill(self.text, self.bindings)


@dataclass(frozen=True)
class Triples:
    """Ground triples for ``INSERT DATA { GRAPH $g { $data } }`` (and ``DELETE DATA``): each
    term validated and written in N-Triples form, like every other bound value."""

    triples: Sequence[tuple[Term, Term, Term]]

    def written(self) -> str:
        return "\n".join(" ".join(term_ntriples(t) for t in triple) + " ." for triple in self.triples)


Value = Term | int | float | bool | Sequence[Term] | Set[Term] | Pattern | Triples
Bindings = Mapping[str, Value]

PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def fill(template: str, bindings: Bindings) -> str:
    """The template with each ``$name`` replaced by its bound value, written as a term.

    A term is an :class:`~kgart.rdf.IRI` or :class:`~kgart.rdf.Literal`; an ``int``
    or ``float`` is written as a number (``LIMIT $n``); a list or set of terms as
    the terms separated by spaces (``VALUES ?c { $concepts }``). A plain ``str`` is
    refused: whether it is meant as an IRI or a literal must be said.

    :raises InvalidTermError: for a value that is not a valid term.
    :raises ValueError: for a placeholder without a value, or a value without a placeholder
        (a mistake in kgart's code, not in the input).
    """
    names = set(PLACEHOLDER.findall(template))
    missing = names - set(bindings)
    if missing:
        raise ValueError(f"no value bound for ${', $'.join(sorted(missing))}")
    unused = set(bindings) - names
    if unused:
        raise ValueError(f"no placeholder for ${', $'.join(sorted(unused))}")
    written = {name: _write(name, value) for name, value in bindings.items()}
    return PLACEHOLDER.sub(lambda m: written[m.group(1)], template)


def _write(name: str, value: Value) -> str:
    if isinstance(value, Pattern):
        return value.filled()
    if isinstance(value, Triples):
        return value.written()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidTermError(f"${name}: {value} is not a finite number")
        return term_ntriples(Literal(repr(value), datatype=XSD.double))
    if isinstance(value, IRI):
        return term_ntriples(value)
    if isinstance(value, (Literal, BlankNode)):
        return term_ntriples(value)
    if isinstance(value, str):
        raise TypeError(f"${name}: bind IRI(...) or Literal(...), not a plain str")
    if isinstance(value, (Sequence, Set)):
        terms: list[Term] = []
        for term in value:
            if not isinstance(term, (IRI, Literal)):
                raise TypeError(f"${name}: a list of IRI or Literal terms, not {type(term).__name__}")
            terms.append(term)
        return " ".join(term_ntriples(t) for t in terms)
    raise TypeError(f"${name}: cannot bind a {type(value).__name__}")


def iri_list(values: Sequence[str]) -> list[IRI]:
    """Strings as IRIs for a ``VALUES`` placeholder (each is checked when it is written)."""
    return [v if isinstance(v, IRI) else IRI(v) for v in values]


__all__ = ["Bindings", "PLACEHOLDER", "Pattern", "Triples", "Value", "fill", "iri_list"]
