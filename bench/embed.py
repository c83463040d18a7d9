"""Benchmark: embedding throughput, agreement with the plain model, index query time, memory.

Prints, from one run on this machine:
- texts/s of kgart's default text encoder (MiniLM on ONNX Runtime) and of plain
  sentence-transformers, over all English Iconclass labels, and the cosine
  agreement of their vectors (min, mean);
- open_clip ViT-B-32 (random weights: speed does not depend on them) images/s
  and texts/s on CPU, and on CUDA when a GPU is present;
- top-10 query latency over 100,000 vectors (exact and HNSW indexes);
- `kgart embed --kind iconclass` end to end (read the texts, encode, write the vectors
  to an on-disk store, build the index) against the same encoder alone on the same
  texts, and the ratio (the target is at least 80%);
- with ``--trained NAME --store S``: a model ``kgart train encoder`` made beside store S
  against the default, texts/s on the same labels (the target: within 10%);
- peak resident memory.

    python bench/embed.py [--limit N] [--images 64] [--skip-clip] [--trained NAME --store S]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np
from kgart.embeddings.encoders import OpenClipEncoder, get_encoder
from kgart.embeddings.index import build_index
from kgart.loaders.iconclass import IconclassSource

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "iconclass-data"


def english_labels(limit: int | None) -> list[str]:
    source = IconclassSource.from_directory(SHARED) if SHARED.exists() else IconclassSource.from_package()
    texts = [text for _, text in source.texts("en")]
    return texts[:limit] if limit else texts


def rate(fn, n: int) -> tuple[float, object]:  # noqa: ANN001
    start = time.perf_counter()
    result = fn()
    return n / (time.perf_counter() - start), result


def bench_text(limit: int | None) -> None:
    texts = english_labels(limit)
    fast, plain = get_encoder("minilm"), get_encoder("minilm-plain")
    fast.encode_texts(texts[:64])
    plain.encode_texts(texts[:64])
    fast_rate, a = rate(lambda: fast.encode_texts(texts), len(texts))
    plain_rate, b = rate(lambda: plain.encode_texts(texts, batch_size=64), len(texts))
    cosine = (np.asarray(a) * np.asarray(b)).sum(axis=1)
    print(f"text, {len(texts):,} English Iconclass labels, 2 cores:")
    print(f"  kgart minilm (ONNX Runtime, length-sorted batches): {fast_rate:8,.0f} texts/s")
    print(f"  sentence-transformers as is (baseline):              {plain_rate:8,.0f} texts/s")
    print(f"  speed-up {fast_rate / plain_rate:.2f}x; cosine to the baseline: min {cosine.min():.6f}, "
          f"mean {cosine.mean():.6f}")


def bench_job(limit: int | None) -> None:
    """The embedding job end to end against its encoder alone, on the same texts, in one run."""
    import tempfile

    from kgart.embeddings.job import embed
    from kgart.embeddings.texts import read_nodes
    from kgart.loaders import load_iconclass

    from kgart.kinds import Kinds
    from kgart.store import Store

    with tempfile.TemporaryDirectory(prefix="kgart-bench-") as tmp:
        store = Store(Path(tmp) / "store")
        load_iconclass(store, data_dir=SHARED if SHARED.exists() else None, languages=["en"])
        texts = [n.text for n in read_nodes(store, Kinds.of(store).get("iconclass"), language="en") if n.text]
        encoder = get_encoder("minilm")
        encoder.encode_texts(texts[:256])
        alone, _ = rate(lambda: encoder.encode_texts(texts, batch_size=64), len(texts))
        start = time.perf_counter()
        [report] = embed(store, kinds=["iconclass"], encoder=encoder)
        job = report.encoded / (time.perf_counter() - start)
        print(f"embedding job, {report.encoded:,} Iconclass concepts (English texts), on-disk store:")
        print(f"  the encoder alone on the same texts (batch 64): {alone:8,.0f} texts/s")
        print(f"  kgart embed end to end:                          {job:8,.0f} texts/s  [{report.summary()}]")
        print(f"  end to end / encoder: {100 * job / alone:.0f}% (target >= 80%)")
        store.close()


def bench_clip(n_images: int, device: str) -> None:
    import torch

    encoder = OpenClipEncoder("ViT-B-32", None, device=device)
    batch = torch.rand(n_images, 3, 224, 224)
    encoder.encode_tensors(batch[:2])
    if device == "cuda":
        torch.cuda.synchronize()
    images_rate, _ = rate(lambda: encoder.encode_tensors(batch), n_images)
    if device == "cuda":
        torch.cuda.synchronize()
    texts = [f"a painting of subject number {i}" for i in range(n_images * 4)]
    texts_rate, _ = rate(lambda: encoder.encode_texts(texts), len(texts))
    precision = "fp16" if device == "cuda" else "fp32"
    print(f"open_clip ViT-B-32 (random weights), {device} {precision}: {images_rate:8,.1f} images/s "
          f"(preprocessed 224x224 tensors, batch {n_images}), {texts_rate:8,.1f} texts/s")


def bench_index() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(100_000, 384)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    iris = [f"urn:x:{i}" for i in range(len(matrix))]
    queries = rng.normal(size=(200, 384)).astype(np.float32)
    for backend in ("exact", "hnsw"):
        index = build_index(backend, {"model": "m", "kind": "k", "fingerprint": "f"}, iris, matrix)
        index.search(queries[0], k=10)
        times = []
        for q in queries:
            start = time.perf_counter()
            index.search(q, k=10)
            times.append(time.perf_counter() - start)
        print(f"top-10 over 100,000 x 384 vectors, {backend:>5}: p50 {statistics.median(times) * 1000:.2f} ms, "
              f"p95 {np.percentile(times, 95) * 1000:.2f} ms")


def bench_trained(name: str, store_path: str, limit: int | None) -> None:
    from kgart.embeddings.trained import models_folder

    from kgart.store import Store

    store = Store(store_path, read_only=True)
    folder = models_folder(store)
    store.close()
    texts = english_labels(limit)
    default, trained = get_encoder("minilm"), get_encoder(f"trained:{name}", models=folder)
    for encoder in (default, trained):
        encoder.encode_texts(texts[:64])
    rates = []
    for _ in range(2):  # alternated, so that neither gets the quieter minute
        rates.append((rate(lambda: default.encode_texts(texts), len(texts))[0],
                      rate(lambda: trained.encode_texts(texts), len(texts))[0]))
    base = max(r[0] for r in rates)
    own = max(r[1] for r in rates)
    print(f"text, {len(texts):,} English Iconclass labels: default minilm {base:,.0f} texts/s, "
          f"trained:{name} {own:,.0f} texts/s ({own / base:.0%} of the default)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N labels")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--skip-clip", action="store_true")
    parser.add_argument("--only-job", action="store_true", help="only the end-to-end embedding job")
    parser.add_argument("--trained", metavar="NAME", help="only: a trained model's texts/s against the default")
    parser.add_argument("--store", help="the store the trained model was made beside (with --trained)")
    args = parser.parse_args()
    if args.trained:
        if not args.store:
            parser.error("--trained needs --store")
        bench_trained(args.trained, args.store, args.limit)
        return
    bench_job(args.limit)
    if args.only_job:
        return
    bench_text(args.limit)
    bench_index()
    if not args.skip_clip:
        import torch

        bench_clip(args.images, "cpu")
        if torch.cuda.is_available():
            bench_clip(max(args.images, 1024), "cuda")
        else:
            print("no CUDA device here: GPU figures not measured")
    print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
