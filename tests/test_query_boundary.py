"""No module but the boundary (kgart/sparql_template.py) writes values into SPARQL text.

The check reads every module's syntax tree: a string that looks like SPARQL (a query
form or a graph-pattern keyword) must not be an f-string with interpolated values,
a ``%``-format or a ``.format()`` call; values go in as bindings. It fails the build
the moment someone pastes a value into query text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("kgart", "loaders", "embeddings", "web", "bench")
BOUNDARY = {"kgart/sparql_template.py"}
SPARQL = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE|INSERT|DELETE|WHERE|GRAPH|FILTER|VALUES|OPTIONAL|"
                    r"PREFIX|BIND|SERVICE|LOAD|DROP|MOVE|CLEAR)\b|\?[a-z]\w* [a-z]+:|[<\"]\{|\$[a-z]\w*")


def _looks_like_sparql(text: str) -> bool:
    return bool(SPARQL.search(text))


PRAGMA = "# not SPARQL:"  # on a line that formats SQL or a message, with the reason after it


def _constant(node: ast.AST) -> bool:
    """Text known when the code is written: literals, CONSTANTS, kgart's fixed PREFIX lines."""
    return (isinstance(node, (ast.Constant, ast.BinOp))
            or isinstance(node, ast.Name) and node.id.lstrip("_").isupper()
            or isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sparql_prefixes")


def pasted_values(source: str) -> list[tuple[int, str]]:
    """(line, excerpt) of every value formatted into SPARQL-like text in one module's source."""
    exempt = {number for number, line in enumerate(source.splitlines(), start=1) if PRAGMA in line}
    return [(line, text) for line, text in _pasted(source) if line not in exempt]


def _pasted(source: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
            constant = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if _looks_like_sparql(constant):
                found.append((node.lineno, constant[:80]))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                and isinstance(node.left.value, str) and _looks_like_sparql(node.left.value):
            found.append((node.lineno, node.left.value[:80]))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
                and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str) \
                and _looks_like_sparql(node.func.value.value):
            found.append((node.lineno, node.func.value.value[:80]))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            sides = [node.left, node.right]
            texts = [s.value for s in sides if isinstance(s, ast.Constant) and isinstance(s.value, str)]
            others = [s for s in sides if not _constant(s)]
            if texts and others and any(_looks_like_sparql(t) for t in texts):
                found.append((node.lineno, texts[0][:80]))
    return found


def test_no_module_pastes_values_into_query_text() -> None:
    offenders = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in BOUNDARY:
                continue
            offenders += [f"{name}:{line}: {text!r}" for line, text in pasted_values(path.read_text(encoding="utf-8"))]
    assert offenders == [], "values formatted into SPARQL text; bind them instead:\n" + "\n".join(offenders)


@pytest.mark.parametrize("source", [
    'store.select(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")',
    'q = f\'ASK {{ ?s ?p "{text}" }}\'',
    'q = "SELECT * WHERE { <%s> ?p ?o }" % iri',
    'q = "SELECT * WHERE {{ <{}> ?p ?o }}".format(iri)',
    'q = "SELECT * WHERE { <" + iri + "> ?p ?o }"',
    'store.update(f"DROP GRAPH <{graph}>")',
    'q = f"FILTER(lang(?l) = \\"{lang}\\")"',
    'q = "SELECT * WHERE { <" + iri + "> ?p ?o }"  # not SPARQL',
])
def test_the_check_fails_when_a_value_is_pasted(source: str) -> None:
    assert pasted_values(source), source


@pytest.mark.parametrize("source", [
    'store.select("SELECT ?p ?o WHERE { $s ?p ?o }", {"s": IRI(iri)})',
    'print(f"{graph}: {count} triples")',
    'raise QueryError(f"SPARQL syntax error: {e}")',
])
def test_bound_values_and_messages_pass(source: str) -> None:
    assert pasted_values(source) == []
