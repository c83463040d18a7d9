"""Embeddings: encoders (MiniLM offline, a tiny random open_clip), the job, the vector index."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from kgart.embeddings.encoders import ImageLoadError, OpenClipEncoder, get_encoder, load_image, model_id_for
from kgart.embeddings.index import StaleIndexError, build_index, read_index, write_index
from kgart.embeddings.job import (
    decode_vector,
    embed,
    embeddings_graph,
    index_folder,
    load_index,
    node_vector,
    stored_hashes,
)
from kgart.embeddings.texts import artwork_text, iconclass_text, read_nodes
from kgart.loaders import load_iconclass

from kgart.rdf import graph_iri
from kgart.store import Store
from tests.iconclass_slice import TEXTS
from tests.tiny_clip import register_tiny_clip

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="session")
def minilm():  # noqa: ANN201 - an Encoder
    return get_encoder("minilm")


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> OpenClipEncoder:
    """A small randomly initialised open_clip model: exercises the code path, says nothing of quality."""
    register_tiny_clip(tmp_path_factory.mktemp("clip-config"), "kgart-tiny-test")
    return OpenClipEncoder("kgart-tiny-test", None, device="cpu")


def test_node_texts() -> None:
    assert iconclass_text("crown of thorns", ["thorns", "crown"], "instruments of the Passion") == \
        "crown of thorns. Keywords: thorns, crown. Under: instruments of the Passion"
    assert artwork_text([], "Only a description.") == "Only a description."


def test_minilm_offline_normalised_and_agrees_with_plain(minilm) -> None:  # noqa: ANN001
    texts = ["a ship in a storm", "shipwreck at sea", "portrait of a woman", "St. Jerome in his study"]
    fast = minilm.encode_texts(texts)
    plain = get_encoder("minilm-plain").encode_texts(texts)
    assert fast.shape == (4, 384) and minilm.dimension == 384 and minilm.model_id == MINILM
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert (fast * plain).sum(axis=1).min() > 0.999
    # a property of the real model, not of the code: related texts lie closer
    assert fast[0] @ fast[1] > fast[0] @ fast[2]


def test_model_ids_known_without_loading() -> None:
    assert model_id_for("minilm") == MINILM
    assert model_id_for("clip:ViT-B-32:laion2b_s34b_b79k") == "open_clip/ViT-B-32/laion2b_s34b_b79k"


def test_embed_job_vectors_as_node_properties(slice_dir: Path, minilm) -> None:  # noqa: ANN001
    store = Store()
    load_iconclass(store, data_dir=slice_dir)
    reports = embed(store, kinds=["iconclass"], batch_size=8, encoder=minilm)
    concepts = len(list(read_nodes(store, "iconclass")))
    assert reports[0].encoded == concepts == len(TEXTS["en"]) - 5  # key texts are not concepts
    # every concept has a vector node property, shaped as docs/architecture.md says
    row = store.select("""SELECT ?e ?model ?mod ?dim ?v ?h WHERE { ic:73D kgart:embedding ?e .
        ?e a kgart:Embedding ; kgart:model ?model ; kgart:modality ?mod ; kgart:dimension ?dim ;
        kgart:vector ?v ; kgart:sourceHash ?h }""").rows[0]
    assert (row["model"].value, row["mod"].value, row["dim"].value) == (MINILM, "text", "384")
    assert row["v"].datatype == "https://w3id.org/kgart/ns#float32Vector"
    # the vector read back through SPARQL equals the index's row
    index = load_index(store, MINILM, "iconclass")
    assert np.array_equal(decode_vector(row["v"].value), index.vector("http://iconclass.org/73D"))
    assert index.search(minilm.encode_texts(["the crown of thorns"])[0], k=1)[0][0] == \
        "http://iconclass.org/73D82%28CROWN%20OF%20THORNS%29"
    # nothing changed: nothing encoded
    again = embed(store, kinds=["iconclass"], encoder=minilm)
    assert (again[0].encoded, again[0].current) == (0, concepts)
    # a changed label re-encodes exactly that node
    store.update("""DELETE { GRAPH ?g { ic:73D skos:prefLabel ?l } } INSERT { GRAPH ?g { ic:73D skos:prefLabel
        "the Passion of Christ"@en } } WHERE { GRAPH ?g { ic:73D skos:prefLabel ?l FILTER(lang(?l) = "en") } }""")
    assert embed(store, kinds=["iconclass"], encoder=minilm)[0].encoded == 1
    assert store.count(embeddings_graph(MINILM)) == 7 * concepts


def test_models_coexist(slice_dir: Path, minilm, tiny_clip) -> None:  # noqa: ANN001
    store = Store()
    load_iconclass(store, data_dir=slice_dir)
    embed(store, kinds=["iconclass"], encoder=minilm)
    embed(store, kinds=["iconclass"], encoder=tiny_clip)
    a = node_vector(store, MINILM, "http://iconclass.org/73D")
    b = node_vector(store, tiny_clip.model_id, "http://iconclass.org/73D")
    assert a is not None and b is not None and (a.shape, b.shape) == ((384,), (32,))
    assert len(stored_hashes(store, MINILM, "text")) == len(stored_hashes(store, tiny_clip.model_id, "text"))


def test_killed_job_resumes(tmp_path: Path, slice_dir: Path) -> None:
    location = tmp_path / "store"
    with Store(location) as s:
        load_iconclass(s, data_dir=slice_dir)
    script = textwrap.dedent(f"""
        import os, signal
        from kgart.store import Store
        from kgart.embeddings.job import embed
        store = Store({str(location)!r})
        def progress(done, total):
            if done >= 10:
                os.kill(os.getpid(), signal.SIGKILL)
        embed(store, kinds=["iconclass"], batch_size=5, chunk_size=5, progress=progress)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    with Store(location) as s:
        before = len(stored_hashes(s, MINILM, "text"))
        assert 10 <= before < 25
        report = embed(s, kinds=["iconclass"], batch_size=5)[0]
        assert report.current == before and report.encoded == report.nodes - before
        assert len(stored_hashes(s, MINILM, "text")) == report.nodes
        folder = index_folder(location / "indexes", MINILM, "iconclass", "text")
        assert read_index(folder).manifest.count == report.nodes


def test_exact_index_search_and_subset() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(500, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    iris = [f"urn:x:{i}" for i in range(500)]
    index = build_index("exact", {"model": "m", "kind": "k", "fingerprint": "f"}, iris, matrix)
    q = matrix[42]
    assert index.search(q, k=3)[0] == ("urn:x:42", pytest.approx(1.0, abs=1e-5))
    brute = np.argsort(-(matrix @ q))[:10]
    assert [i for i, _ in index.search(q, k=10)] == [iris[j] for j in brute]
    within = ["urn:x:7", "urn:x:8", "urn:x:9", "urn:x:missing"]
    got = index.search(q, k=2, within=within)
    expected = sorted(within[:3], key=lambda i: -float(matrix[int(i.rsplit(":", 1)[1])] @ q))[:2]
    assert [i for i, _ in got] == expected


def test_hnsw_backend_agrees_with_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(2000, 32)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    iris = [f"urn:x:{i}" for i in range(2000)]
    fields = {"model": "m", "kind": "k", "fingerprint": "f"}
    exact = build_index("exact", fields, iris, matrix)
    hnsw = build_index("hnsw", fields, iris, matrix)
    write_index(hnsw, tmp_path / "hnsw")
    reopened = read_index(tmp_path / "hnsw")
    queries = rng.normal(size=(20, 32)).astype(np.float32)
    agree = sum(exact.search(q, k=1)[0][0] == reopened.search(q, k=1)[0][0] for q in queries)
    assert agree >= 18


def test_index_written_atomically_and_corruption_detected(tmp_path: Path, slice_dir: Path, minilm) -> None:  # noqa: ANN001
    store = Store(tmp_path / "store")
    load_iconclass(store, data_dir=slice_dir)
    embed(store, kinds=["iconclass"], encoder=minilm)
    folder = index_folder(tmp_path / "store" / "indexes", MINILM, "iconclass", "text")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"] == MINILM and manifest["dimension"] == 384 and manifest["count"] > 0
    vectors = folder / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-10] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(StaleIndexError, match="checksum"):
        read_index(folder)
    index = load_index(store, MINILM, "iconclass")  # rebuilt from the store
    assert index.manifest.count == manifest["count"]
    read_index(folder)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_open_clip_text_and_images(tmp_path: Path, tiny_clip: OpenClipEncoder) -> None:
    from PIL import Image

    paths = []
    for i, colour in enumerate(["red", "blue"]):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (40 + i, 30), colour).save(path)
        paths.append(str(path))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    sources = [paths[0], "http://127.0.0.1:9/unreachable.png", str(broken), paths[1].replace("/", "/", 1)]
    vectors, failures = tiny_clip.encode_images(sources)
    assert vectors.shape == (4, 32)
    assert [f.source for f in failures] == sources[1:3]
    assert np.allclose(np.linalg.norm(vectors[[0, 3]], axis=1), 1.0, atol=1e-5)
    assert not vectors[1].any()
    text = tiny_clip.encode_texts(["a red square", "a blue square"])
    assert text.shape == (2, 32)


def test_decompression_bomb_refused(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(path)  # 81 Mpx, compresses to almost nothing
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(str(path))


def test_clip_embeds_artwork_images(tmp_path: Path, tiny_clip: OpenClipEncoder) -> None:
    from PIL import Image

    image = tmp_path / "a.png"
    Image.new("RGB", (32, 32), "green").save(image)
    store = Store()
    store.update(f"""INSERT DATA {{ GRAPH <{graph_iri('test')}> {{
        <https://example.org/a1> a schema:VisualArtwork ; schema:name "Green field"@en ;
            schema:image <{image.as_uri()}> .
        <https://example.org/a2> a schema:VisualArtwork ; schema:name "Lost picture"@en ;
            schema:image <file:///nonexistent/picture.png> . }} }}""")
    reports = {r.modality: r for r in embed(store, kinds=["artwork"], encoder=tiny_clip)}
    assert reports["text"].encoded == 2
    assert reports["image"].encoded == 1 and reports["image"].failed[0][0] == "file:///nonexistent/picture.png"
    assert node_vector(store, tiny_clip.model_id, "https://example.org/a1", "image") is not None


def test_encoder_built_once_when_threads_ask_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server thread and the demo's embedding job may both ask for the model first."""
    import threading
    import time

    from kgart.embeddings import encoders

    builds: list[str] = []

    def slow_build(name: str, device: str | None) -> object:
        builds.append(name)
        time.sleep(0.2)  # long enough for the other thread to arrive while building
        return object()

    monkeypatch.setattr(encoders, "_CACHE", {})
    monkeypatch.setattr(encoders, "_build", slow_build)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(get_encoder("minilm", "cpu"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert builds == ["minilm"] and len(got) == 4 and all(g is got[0] for g in got)
