"""Learning from the graph on a tiny store: `kgart eval split`, `kgart train encoder` and
`kgart train ranker` with the real MiniLM, and the evaluation refusing the records they learned from."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from kgart.loaders import load_collection, load_iconclass

from kgart.cli import main
from kgart.evaluation import GoldItem
from kgart.ranker import FEATURES, LinearRanker
from kgart.splits import LeakError, TrainedOn, every_second, refuse_leaks, seeded_sample
from kgart.store import Store
from tests.collection_fixtures import RKD_COLUMNS
from tests.conftest import run_kgart

# Titles a cataloguer might write for five concepts of the Iconclass slice.
TITLES = {
    "11H(JEROME)362": ["St Jerome in his study", "Saint Jerome reading in his cell", "Jerome at his desk with a skull",
                       "The penitent Jerome in his study"],
    "11H(JEROME)36": ["St Jerome in the wilderness", "Jerome praying in a rocky landscape", "Hermit in the desert",
                      "Jerome beating his breast with a stone"],
    "73D82(CROWN OF THORNS)": ["The crown of thorns", "Angel holding the crown of thorns", "Crown of thorns on a table",
                               "Still life with the crown of thorns"],
    "31D111": ["A sleeping baby", "Infant in a cradle", "Mother changing a baby's nappy", "Baby with a rattle"],
    "11k1": ["The Holy Trinity", "Trinity with angels", "Throne of grace", "The Trinity adored by saints"],
}


def _rkd_table(path: Path) -> Path:
    rows = []
    number = 1000
    for round_ in range(4):
        for code, titles in TITLES.items():
            for title in titles:
                number += 1
                rows.append({**dict.fromkeys(RKD_COLUMNS, ""), "Title": f"{title} ({round_ + 1})",
                             "Details URL": f"https://rkd.nl/explore/images/{number}", "Iconclass code": code,
                             "Artist": "Anon", "Earliest Date": "1600", "Latest Date": "1650"})
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=RKD_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from kgart.embeddings.job import embed

    from tests.iconclass_slice import write_iconclass_slice

    root = tmp_path_factory.mktemp("training")
    slice_dir = write_iconclass_slice(root / "slice")
    table = _rkd_table(root / "rkd.csv")
    store = Store(root / "store")
    load_iconclass(store, data_dir=slice_dir)
    load_collection(store, "rkd", table)
    embed(store, kinds=["iconclass", "artwork"])
    store.close()
    return root / "store", table


def test_splits_are_seeded_and_refuse_what_was_trained_on() -> None:
    items = [GoldItem(str(n), f"t{n}", "", ("1",), source_id=f"r{n}") for n in range(10)]
    assert [i.id for i in every_second(items, 1)] == ["0", "2", "4", "6", "8"]
    assert seeded_sample(items, 4, 7) == seeded_sample(items, 4, 7)
    assert seeded_sample(items, 4, 7) != seeded_sample(items, 4, 8)
    model = TrainedOn("trained:x", frozenset({"r1", "r2"}), frozenset({"r3"}))
    refuse_leaks(items[3:], [model])
    with pytest.raises(LeakError, match="2 of the 10 records .* training data for trained:x"):
        refuse_leaks(items, [model])
    assert TrainedOn.from_json(model.as_json() | {"name": "trained:x"}) == model


def test_a_linear_ranker_explains_its_score() -> None:
    ranker = LinearRanker("iconclass", "m", {"vector": 2.0, "depth": -1.0})
    features = {name: np.ones(3, np.float32) for name in FEATURES}
    features["depth"] = np.array([0.0, 0.5, 1.0], np.float32)
    total, parts = ranker.score(features)
    assert set(parts) == {"vector", "depth"}
    assert np.allclose(total, np.sum(list(parts.values()), axis=0)) and np.allclose(total, [2.0, 1.5, 1.0])
    assert LinearRanker.from_json(json.loads(json.dumps(ranker.as_json()))) == ranker


def test_a_scheme_with_offsets_moves_only_them_not_the_shared_map() -> None:
    """A large catalogue of one scheme learns its concepts' offsets; the map every query goes
    through is left to the other schemes and the labels, unless asked otherwise."""
    from kgart.embeddings.projection import Examples, ProjectionParameters, learn_projection

    rng = np.random.default_rng(0)
    concepts = {"big": rng.normal(size=(6, 8)).astype(np.float32), "small": rng.normal(size=(5, 8)).astype(np.float32)}
    examples = Examples()
    for n in range(40):
        examples.add(f"big {n}", "big", [n % 6], "record-big")
    examples.counts["record-big"] = 40
    anchors = rng.normal(size=(40, 8)).astype(np.float32)
    params = ProjectionParameters(epochs=3, batch_size=8, offset_min_records=10)
    alone, _, _ = learn_projection(anchors, examples, concepts, params)
    assert np.array_equal(alone.weight, np.eye(8, dtype=np.float32))  # only big's examples: the map stays
    assert np.abs(alone.offsets["big"]).sum() > 0 and "small" not in alone.offsets
    moved, _, _ = learn_projection(anchors, examples, concepts,
                                   ProjectionParameters(epochs=3, batch_size=8, offset_min_records=10,
                                                        offset_schemes_move_map=True))
    assert not np.allclose(moved.weight, np.eye(8))
    for n in range(10):
        examples.add(f"small {n}", "small", [n % 5], "record-small")
    both, _, _ = learn_projection(np.concatenate([anchors, rng.normal(size=(10, 8)).astype(np.float32)]),
                                  examples, concepts, params)
    assert not np.allclose(both.weight, np.eye(8)) and "small" not in both.offsets  # small's 10 records move it
    labelled = examples.subset(range(40))
    for n in range(8):
        labelled.add(f"label {n}", "big", [n % 6], "label")
    with_labels, _, _ = learn_projection(np.concatenate([anchors, rng.normal(size=(8, 8)).astype(np.float32)]),
                                         labelled, concepts, params)
    assert not np.allclose(with_labels.weight, np.eye(8))  # labels move the map even in a scheme with offsets


def test_the_epoch_is_chosen_for_every_scheme_alike() -> None:
    """Dev figures per scheme, and their mean over schemes: 9 examples of one scheme do not
    outvote 1 of another."""
    from kgart.embeddings.projection import Examples, ranks, scheme_mean

    concepts = {"a": np.eye(4, dtype=np.float32), "b": np.eye(4, dtype=np.float32)}
    examples = Examples()
    for n in range(9):
        examples.add(f"a {n}", "a", [0], "record-a")
    examples.add("b", "b", [3], "record-b")
    anchors = np.array([[1, 0, 0, 0]] * 9 + [[1, 0, 0, 0]], dtype=np.float32)  # a's right, b's wrong
    figures = ranks(anchors, examples, concepts)
    assert (figures["dev_r1"], figures["dev_r1_a"], figures["dev_r1_b"], figures["dev_r10_b"]) == (90.0, 100.0, 0.0,
                                                                                                   100.0)
    assert scheme_mean(figures) == pytest.approx(((100 + 100) + (0 + 100)) / 2)
    assert scheme_mean({"dev_r1": 50.0, "dev_r10": 70.0}) == 120.0  # no per-scheme figures: the overall ones


@pytest.mark.slow
def test_train_encoder_and_ranker_then_eval_refuses_their_training_records(tiny: tuple[Path, Path],
                                                                           tmp_path: Path) -> None:
    location, table = tiny
    held, trained_half = tmp_path / "held.jsonl", tmp_path / "trained-half.jsonl"
    assert "40 of 80 records held out" in run_kgart(["eval", "split", "--input", str(table), "--half", "2",
                                                     "--out", str(held)])
    run_kgart(["eval", "split", "--input", str(table), "--half", "1", "--out", str(trained_half)])
    held_ids = {json.loads(line)["source_id"] for line in held.read_text(encoding="utf-8").splitlines()}

    out = run_kgart(["--store", str(location), "train", "encoder", "--name", "tiny", "--hold-out", str(held),
                     "--pairs", "120", "--batch", "8", "--offset-records", "10", "--seed", "3"])
    folder = location / "models" / "tiny"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    split = json.loads((folder / "split.json").read_text(encoding="utf-8"))
    assert manifest["model_id"].startswith("kgart-trained/tiny/") and manifest["counts"]["held_out_found"] == 40
    assert set(split["trained_on"]) and not set(split["trained_on"]) & held_ids
    assert set(split["held_out"]) == held_ids
    assert manifest["method"] == "projection" and "dev examples after training" in out
    assert manifest["device"] in ("cpu", "cuda") and f"training on {manifest['device']}" in out
    reused = re.search(r"([\d,]+) training texts' vectors from the store", out)
    assert reused and int(reused.group(1).replace(",", "")) >= 32  # the records' artwork vectors, not encoded again
    assert manifest["figures"]["kept_epoch"] in range(1, 7) and len(manifest["figures"]["dev_by_epoch"]) == 6
    assert all("dev_r1" in figures and "dev_r10" in figures for figures in manifest["figures"]["dev_by_epoch"])
    assert manifest["figures"]["after"]["dev_examples"] > 0 and manifest["counts"]["examples"]["record-iconclass"] == 32
    assert len(list((folder / "onnx").glob("encoder-*.onnx"))) == 1  # its export goes with it, not in the user cache
    store = Store(location, read_only=True)
    assert store.ask("""ASK { GRAPH <https://w3id.org/kgart/graph/models> { ?m a kgart:TrainedModel ;
        kgart:model ?id ; prov:wasGeneratedBy ?run . ?run prov:endedAtTime ?t ; kgart:parameter ?p } }""")
    store.close()

    out = run_kgart(["--store", str(location), "embed", "--model", "trained:tiny", "--kind", "iconclass",
                     "--kind", "artwork"])
    assert "kgart-trained/tiny/" in out
    _projected_vectors_are_the_encoders(location, manifest["model_id"])
    out = run_kgart(["--store", str(location), "eval", "suggest", "--input", str(held), "--titled", "--fields", "title",
                     "--no-ablation", "--compare", "trained:tiny"])
    assert "untrained: configured blend" in out and "trained:tiny: blend" in out and "(40 items)" in out

    refused = CliRunner().invoke(main, ["--store", str(location), "eval", "suggest", "--input", str(trained_half),
                                        "--compare", "trained:tiny"], env={"KGART_USAGE_COUNTS": ""})
    assert refused.exit_code != 0 and "training data for trained:tiny" in refused.output

    # The encoder learned from every coded record (40 are too few to keep some out): a ranker
    # fitted on them would trust its vectors too much, so the hand-set blend stays.
    out = run_kgart(["--store", str(location), "train", "ranker", "--name", "tiny", "--seed", "1"])
    assert "kept 0 of its coded records" in out and not (folder / "ranker-iconclass.json").exists()

    # A ranker over the configured model's vectors learns from the same records.
    out = run_kgart(["--store", str(location), "train", "ranker", "--name", "tiny-blend", "--hold-out", str(held),
                     "--seed", "1"])
    assert "iconclass: ranker from 32 records (" in out and "cross-validated R@1" in out
    ranker = json.loads((location / "models" / "tiny-blend" / "ranker-iconclass.json").read_text(encoding="utf-8"))
    assert set(ranker["weights"]) == set(FEATURES) and ranker["figures"]["makers"] == 1.0
    out = run_kgart(["--store", str(location), "eval", "suggest", "--input", str(held), "--fields", "title,maker",
                     "--no-ablation", "--compare", "trained:tiny-blend"])
    assert "trained:tiny-blend: learned ranker" in out and "makers: 40 of the 40 gold items have a maker" in out
    assert "trained:tiny-blend: learned ranker against untrained: configured blend, item by item:\n  R@1 " in out
    explained = CliRunner().invoke(main, ["--store", str(location), "suggest", "--title", "Saint Jerome in his study",
                                          "--explain"],
                                   env={"KGART_USAGE_COUNTS": "", "KGART_MODEL": "trained:tiny-blend"})
    assert explained.exit_code == 0, explained.output
    used = [name for name, weight in ranker["weights"].items() if weight]
    assert used and all(f"{name} " in explained.output for name in used)
    refused = CliRunner().invoke(main, ["--store", str(location), "eval", "suggest", "--input", str(trained_half),
                                        "--compare", "trained:tiny-blend"], env={"KGART_USAGE_COUNTS": ""})
    assert refused.exit_code != 0 and "training data for trained:tiny-blend" in refused.output


@pytest.mark.slow
def test_a_projection_trains_where_it_is_told(tiny: tuple[Path, Path]) -> None:
    """--device is the projection's too (it used to train on the CPU whatever was asked)."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: --device cuda would train on it")
    location, _ = tiny
    refused = CliRunner().invoke(main, ["--store", str(location), "train", "encoder", "--name", "on-gpu",
                                        "--device", "cuda"], env={"KGART_USAGE_COUNTS": ""})
    assert refused.exit_code != 0 and "no CUDA device is available" in refused.output
    assert not (location / "models" / "on-gpu").exists()


@pytest.mark.slow
def test_the_encoder_keeps_records_out_for_the_ranker(tiny: tuple[Path, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """What the encoder kept out is what the ranker over its vectors learns from, and only that."""
    import kgart.ranker_training
    import kgart.splits

    location, table = tiny
    held = tmp_path / "held.jsonl"
    run_kgart(["eval", "split", "--input", str(table), "--half", "2", "--out", str(held)])
    held_ids = {json.loads(line)["source_id"] for line in held.read_text(encoding="utf-8").splitlines()}
    # The real rule keeps records out only from schemes of 300 or more; the tiny store has 80.
    monkeypatch.setattr(kgart.splits, "ranker_share", lambda records, wanted: min(wanted, records // 2))
    monkeypatch.setattr(kgart.ranker_training, "MIN_RECORDS", 10)
    out = run_kgart(["--store", str(location), "train", "encoder", "--name", "kept", "--hold-out", str(held),
                     "--pairs", "120", "--ranker-records", "20", "--seed", "3"])
    assert "kept out for kgart train ranker: 16 iconclass records" in out  # half of the 32 coded
    folder = location / "models" / "kept"
    split = json.loads((folder / "split.json").read_text(encoding="utf-8"))
    kept = set(split["kept_for_ranker"])
    assert len(kept) == 16 and not kept & set(split["trained_on"]) and not kept & held_ids
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["kept_for_ranker"] == {"iconclass": 16} and manifest["counts"]["held_out_found"] == 40

    from kgart.embeddings.job import embed

    calls: list[tuple[int, int]] = []
    with Store(location) as store:
        reports = embed(store, model="trained:kept", kinds=["iconclass", "artwork"],
                        progress=lambda done, total: calls.append((done, total)))
    assert all(r.projected == r.nodes and not r.encoded for r in reports)  # made from MiniLM's vectors
    assert {total for _, total in calls} == {r.nodes for r in reports} and all(d == t for d, t in calls[-1:])
    out = run_kgart(["--store", str(location), "train", "ranker", "--name", "kept", "--seed", "1"])
    assert "iconclass: ranker from " in out
    ranker = json.loads((folder / "ranker-iconclass.json").read_text(encoding="utf-8"))
    assert 10 <= ranker["trained_records"] <= 16
    split = json.loads((folder / "split.json").read_text(encoding="utf-8"))
    assert kept <= set(split["trained_on"]) and set(split["kept_for_ranker"]) == kept
    # The encoder's training ended when it did; the ranker says when it was learned.
    after = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert after["ended"] == manifest["ended"] and after["started"] == manifest["started"]
    assert after["figures"]["ranker_iconclass"]["learned"] >= manifest["ended"]


def _projected_vectors_are_the_encoders(location: Path, model_id: str) -> None:
    """The vectors kgart embed made from the base model's (the map applied, and a concept's
    learned offset added) are what the trained encoder gives, through ONNX Runtime and through
    sentence-transformers alike."""
    from kgart.embeddings.encoders import get_encoder, with_offsets
    from kgart.embeddings.job import stored_vectors
    from kgart.embeddings.texts import read_nodes
    from kgart.embeddings.trained import open_trained
    from sentence_transformers import SentenceTransformer

    store = Store(location, read_only=True)
    encoder = get_encoder("trained:tiny", models=location / "models")
    offsets = open_trained(location / "models", "tiny").concept_offsets("iconclass")
    assert offsets and max(float(np.linalg.norm(o)) for o in offsets.values()) > 0.01
    for kind in ("iconclass", "artwork"):
        nodes = {n.iri: n.text for n in read_nodes(store, kind)}
        iris, matrix, _ = stored_vectors(store, model_id, kind, "text")
        texts = [nodes[iri] for iri in iris[:20]]
        onnx = encoder.encode_texts(texts)
        library = SentenceTransformer(str(location / "models" / "tiny" / "encoder"), device="cpu").encode(
            texts, normalize_embeddings=True)
        assert np.allclose(np.sum(onnx * library, axis=1), 1.0, atol=1e-3)
        expected = with_offsets(onnx, np.stack([offsets[i] for i in iris[:20]])) if kind == "iconclass" else onnx
        assert np.allclose(np.sum(expected * matrix[:20], axis=1), 1.0, atol=1e-3)
        base = get_encoder("minilm").encode_texts(texts)
        assert np.mean(np.sum(base * onnx, axis=1)) < 0.9999  # the map did change them
    store.close()


@pytest.mark.slow
def test_train_encoder_full_fine_tunes_every_layer(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    location, table = tiny
    held = tmp_path / "held.jsonl"
    run_kgart(["eval", "split", "--input", str(table), "--half", "2", "--out", str(held)])
    out = run_kgart(["--store", str(location), "train", "encoder", "--name", "tinyfull", "--method", "full",
                     "--hold-out", str(held), "--pairs", "120", "--batch", "8", "--seed", "3"])
    manifest = json.loads((location / "models" / "tinyfull" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["method"] == "full" and manifest["figures"]["after"]["dev_pairs"] > 0
    assert "dev pairs after training" in out and manifest["counts"]["held_out_found"] == 40
