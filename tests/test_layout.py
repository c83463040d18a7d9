"""The architecture as docs/architecture.md draws it, checked: one-way imports, one pyoxigraph user,
one namespace in site-packages, and Python's vocabulary terms declared in ontology/kgart.ttl."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import rdflib

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"kgart": "kgart", "loaders": "kgart.loaders", "embeddings": "kgart.embeddings", "web": "kgart.web"}


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_adapter_and_the_embedded_store_import_pyoxigraph() -> None:
    users = [p.relative_to(ROOT).as_posix() for folder in LAYERS for p in python_files(folder)
             if any(m.split(".")[0] == "pyoxigraph" for m in imported_modules(p))]
    assert users == ["kgart/oxigraph_adapter.py", "kgart/store.py"]


def test_core_never_reaches_into_outer_layers() -> None:
    # The CLI (cli.py and its cli_*.py parts) is the one exception: it sits on top of every layer, like the web app,
    # and imports them inside the commands that need them.
    outer = ("kgart.loaders", "kgart.embeddings", "kgart.web")
    offenders = [(p.name, m) for p in python_files("kgart") if not p.name.startswith("cli")
                 for m in imported_modules(p) if m.startswith(outer)]
    assert offenders == []


def test_loaders_do_not_import_embeddings_or_web() -> None:
    offenders = [(p.name, m) for p in python_files("loaders") for m in imported_modules(p)
                 if m.startswith(("kgart.embeddings", "kgart.web"))]
    assert offenders == []


def test_errors_is_a_leaf() -> None:
    assert not any(m.startswith("kgart") for m in imported_modules(ROOT / "kgart" / "errors.py"))


def test_one_namespace_in_site_packages(tmp_path: Path) -> None:
    # Outside the checkout (whose root pytest puts on sys.path), only kgart.* exists.
    probe = ("import importlib.util as u; "
             "print([n for n in ('loaders', 'web', 'embeddings', 'ontology') if u.find_spec(n)]); "
             f"print(all(u.find_spec(n) for n in {list(LAYERS.values())!r}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, check=True)
    assert out.stdout.split() == ["[]", "True"]


def test_vocabulary_in_code_is_declared_in_the_ontology() -> None:
    graph = rdflib.Graph().parse(ROOT / "ontology" / "kgart.ttl", format="turtle")
    ns = "https://w3id.org/kgart/ns#"
    declared = {str(s)[len(ns):] for s in graph.subjects() if str(s).startswith(ns)}
    used: set[str] = set()
    for folder in LAYERS:
        for path in python_files(folder):
            text = path.read_text(encoding="utf-8")
            used.update(re.findall(r"\bKGART\.([A-Za-z_]\w*)", text))
            used.update(re.findall(r"\bKGART\[\"(\w+)\"\]", text))
    assert used, "no kgart terms found in code"
    assert sorted(used - declared) == []


def test_ontology_ships_with_the_package() -> None:
    from importlib import resources

    assert resources.files("kgart.ontology").joinpath("kgart.ttl").is_file()


def test_json_ld_context_reads_artworks_as_the_loaders_write_them() -> None:
    """A record written with ontology/context.jsonld gives the loaders' artwork triples."""
    import json
    from importlib import resources

    from kgart.loaders.artwork import Artwork, artwork_triples

    from kgart.rdf import IRI
    from kgart.store import parse_rdf

    context = json.loads(resources.files("kgart.ontology").joinpath("context.jsonld").read_text())
    record = {"@context": context["@context"], "id": "https://w3id.org/kgart/artwork/x/1",
              "type": "VisualArtwork", "identifier": "1", "title": {"en": "The Sea", "nl": "De zee"},
              "creator": "https://w3id.org/kgart/person/x/turner", "earliestYear": 1835,
              "subject": "http://iconclass.org/25H", "url": "https://example.org/1"}
    parsed = set(parse_rdf(json.dumps(record).encode(), "application/ld+json"))
    a = Artwork(iri=IRI(record["id"]), record_id="1", titles=[("The Sea", "en"), ("De zee", "nl")],
                earliest=1835, subjects=[IRI("http://iconclass.org/25H")], url="https://example.org/1")
    expected = set(artwork_triples(a))
    creator = ("https://w3id.org/kgart/artwork/x/1", "https://schema.org/creator",
               "https://w3id.org/kgart/person/x/turner")
    assert expected <= parsed
    assert creator in {(str(s), str(p), str(o)) for s, p, o in parsed}


def test_every_setting_is_documented_in_the_readme() -> None:
    from kgart.settings import SETTINGS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in readme]
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    from kgart.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [name for name in main.commands if f"kgart {name}" not in readme] == []
