"""The review loop's commands: users, annotations export/import, suggest --propose, eval review
(and the simulation's no-leak protocol)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import rdflib
from click.testing import CliRunner
from rdflib.compare import isomorphic

from kgart.cli import main
from kgart.evaluation import GoldItem
from kgart.rdf import IRI
from kgart.review_simulation import simulate
from tests.collection_fixtures import write_collections
from tests.iconclass_slice import write_iconclass_slice


def run(runner: CliRunner, store: Path, *args: str) -> Any:
    result = runner.invoke(main, ["--store", str(store), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def embedded_store(runner: CliRunner, tmp_path: Path, collection: str) -> tuple[Path, dict[str, Path]]:
    """The Iconclass slice and one RKD fixture loaded and embedded through the CLI."""
    store = tmp_path / "store"
    files = write_collections(tmp_path / "in")
    run(runner, store, "load", "iconclass", "--data-dir", str(write_iconclass_slice(tmp_path / "ic")))
    run(runner, store, "load", "rkd", str(files[collection]))
    run(runner, store, "embed", "--kind", "iconclass", "--kind", "artwork")
    return store, files


def test_propose_export_import_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    store, files = embedded_store(runner, tmp_path, "rkd_json")
    token = run(runner, store, "users", "add", "ann").stdout.strip().splitlines()[-1]
    assert len(token) > 30 and token not in (store / "users.json").read_text()
    assert run(runner, store, "users", "list").stdout.strip() == "ann\tcurator"
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"id": "193334"}) + "\n"
                     + json.dumps({"id": "https://w3id.org/kgart/artwork/rkd/198783", "title": "crown of thorns"})
                     + "\n" + json.dumps({"id": "no-such-record"}) + "\n")
    result = run(runner, store, "suggest", "--input", str(batch), "--propose", "--creator", "ann", "--k", "3")
    assert "6 proposed annotations by ann; 1 item(s) skipped" in result.output
    exported = tmp_path / "annotations.jsonld"
    run(runner, store, "annotations", "export", "--output", str(exported))
    document = json.loads(exported.read_text())
    assert document["@context"][0] == "http://www.w3.org/ns/anno.jsonld" and len(document["@graph"]) > 6
    turtle = tmp_path / "annotations.ttl"
    run(runner, store, "annotations", "export", "--format", "ttl", "--output", str(turtle))
    # Into a second store with the same collection: the same graph comes back, from either format.
    other = tmp_path / "other"
    run(runner, other, "load", "iconclass", "--data-dir", str(write_iconclass_slice(tmp_path / "ic2")))
    run(runner, other, "load", "rkd", str(files["rkd_json"]))
    assert "6 annotations imported" in run(runner, other, "annotations", "import", str(exported)).output
    again = tmp_path / "again.ttl"
    run(runner, other, "annotations", "export", "--format", "ttl", "--output", str(again))
    assert isomorphic(rdflib.Graph().parse(turtle), rdflib.Graph().parse(again))
    assert "6 annotations imported" in run(runner, other, "annotations", "import", str(turtle)).output
    proposed = run(runner, other, "annotations", "export", "--status", "accepted", "--format", "ttl").stdout
    assert "Annotation" not in proposed  # none accepted yet
    # Accept one proposal: `kgart search "" --target artwork --under CODE` shows the artwork at once.
    from kgart.annotations import Annotations
    from kgart.notation import notation_from_iri
    from kgart.store import Store

    with Store(other) as opened:
        annotations = Annotations(opened)
        decision = next(d for d in annotations.decisions(["https://w3id.org/kgart/artwork/rkd/198783"])
                        if not (notation_from_iri(str(d.concept)) or "").startswith("73D82"))
        annotations.set_status(decision.annotation, "accepted", IRI("https://w3id.org/kgart/users/ann"))
    code = notation_from_iri(str(decision.concept))
    found = run(runner, other, "search", "", "--target", "artwork", "--under", code).stdout
    assert "198783" in found
    assert "conforms" in run(runner, other, "validate", "annotations").stdout


class FakeRetriever:
    """Records what the simulation lets vote: no scored record may ever be a voter."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str]]] = []
        self.priors: list[dict[str, float]] = []

    def use_decisions(self, decisions: Any) -> None:
        self.decisions = decisions

    def use_priors(self, scheme: str, counts: dict[str, float]) -> None:
        self.priors.append(dict(counts))

    def search_concepts(self, query: Any, **kw: Any) -> list[Any]:
        self.calls.append((query.title, kw["exclude"]))
        return []


def test_the_simulation_never_lets_a_record_score_itself() -> None:
    gold = [GoldItem(str(i), f"title {i}", "", (f"C{i}",), source_id=str(i)) for i in range(30)]
    records = {item.id: IRI(f"https://example.org/a/{item.id}") for item in gold}
    fake = FakeRetriever()
    steps, order = simulate(fake, gold, records, {f"C{i}": 1.0 for i in range(30)}, steps=(0, 5, 10),  # type: ignore[arg-type]
                            held_out=10, seed=3)
    assert [s.reviewed for s in steps] == [0, 5, 10] and all(s.scores.n == 10 for s in steps)
    held_out = order[-10:]
    assert sorted(order) == sorted(i.id for i in gold) and order != [i.id for i in gold]  # seeded shuffle
    for title, exclude in fake.calls:
        item = title.split()[-1]
        assert str(records[item]) in exclude  # the record being scored or reviewed never votes for itself
    for identifier in held_out:
        assert all(str(records[identifier]) in exclude for _, exclude in fake.calls)
    # Priors never hold a code of a record not yet reviewed.
    assert fake.priors[0] == {f"C{i}": 0.0 for i in range(30)}
    assert sum(fake.priors[-1].values()) == 10


def test_eval_review_prints_a_curve(tmp_path: Path) -> None:
    runner = CliRunner()
    store, files = embedded_store(runner, tmp_path, "rkd_csv")
    png, order = tmp_path / "curve.png", tmp_path / "order.json"
    result = run(runner, store, "eval", "review", "--input", str(files["rkd_csv"]), "--steps", "0,1",
                 "--plot", str(png), "--order", str(order))
    assert "reviewed" in result.stdout and "held-out records scored at every step" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(order.read_text())["seed"] == 0
