"""``kgart train encoder`` (its default method): a linear map learned on top of the frozen encoder.

Why not fine-tune all six layers: on 2 CPU cores that sees about 18,000 pairs in a quarter
of an hour, once each, with a batch's 64 texts as the only negatives. With the encoder
frozen, every training text goes through it once (minutes; the store's vectors are reused
where current) and a 384 × 384 map over its vectors is learned in seconds per epoch, so
every catalogued record counts (all 56,000 Tate records, a catalogue's rows many times
over), and each record is scored against *every* concept of its scheme, the siblings and
cousins the hierarchy gives as hard negatives among them, rather than against a batch.

Examples mined from the store, each a query-like text → the concepts it should find:

``record-SCHEME``  a catalogued record's title (and description) → all its codes in that
                   scheme (records held out never; a scheme with few records repeated)
``label``          a concept's label in another language, or one of its keywords → the concept
``rejected``       a record whose code a curator rejected → its codes, the rejected one
                   pushed down by a margin

Beside the map, each concept learns an offset from its text's vector (``concept_offsets``):
the map can only move all texts alike, while the catalogue says things of single concepts
that no label says (which titles a subject is given to, in words its label never uses). Queries and
artworks go through the map alone; a concept's vector is its text's through the map plus its
offset, normalised.

The map is saved as a sentence-transformers model (the base's modules, then Dense and
Normalize) that ONNX Runtime runs like the default (:func:`kgart.embeddings.encoders.
read_projection`), at the default's speed, and the offsets beside it
(``concept-offsets.npz``); its vectors can be made from the base model's stored vectors
without encoding again (``kgart embed`` adds the offsets either way).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from kgart.embeddings.encoders import MINILM_ID, Encoder, project, with_offsets
from kgart.embeddings.job import current_vectors
from kgart.embeddings.texts import read_nodes
from kgart.embeddings.trained import OFFSETS_FILE
from kgart.embeddings.training import ICONCLASS, Scheme, label_pairs, read_codes, read_records, read_scheme

from kgart.annotations import Annotations
from kgart.errors import KgartError
from kgart.triplestore import TripleStore

Progress = Callable[[str], None]


@dataclass
class Examples:
    """Training examples: a text each, the scheme it is scored in, its concepts' positions in
    that scheme's concept list, and concepts to push down (rejected codes)."""

    texts: list[str] = field(default_factory=list)
    schemes: list[str] = field(default_factory=list)
    targets: list[list[int]] = field(default_factory=list)
    pushed: list[list[int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    records: set[str] = field(default_factory=set)
    held_out_found: int = 0

    def add(self, text: str, scheme: str, targets: list[int], source: str, pushed: list[int] | None = None) -> None:
        self.texts.append(text)
        self.schemes.append(scheme)
        self.targets.append(targets)
        self.pushed.append(pushed or [])
        self.sources.append(source)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: Sequence[int]) -> Examples:
        out = Examples(counts=self.counts, records=self.records, held_out_found=self.held_out_found)
        for i in rows:
            out.add(self.texts[i], self.schemes[i], self.targets[i], self.sources[i], self.pushed[i])
        return out


@dataclass(frozen=True)
class ProjectionParameters:
    epochs: int = 6                # at most: the epoch that did best on the dev examples is kept
    batch_size: int = 512
    learning_rate: float = 1e-3
    scale: float = 20.0            # cosine → logit, as MultipleNegativesRankingLoss
    rejected_margin: float = 1.0   # added to a rejected code's logit while training
    concept_offsets: bool = True   # each concept's own offset from its text's vector, learned beside the map …
    offset_min_records: int = 1000  # … in a scheme with at least this many catalogued records (80 rows
    offset_learning_rate: float = 1e-2  # for 40,000 Iconclass concepts only distort them)
    offset_schemes_move_map: bool = False  # whether a scheme with offsets also trains the shared map
    record_floor: int = 3000       # a scheme's records are repeated until they are about this many …
    max_repeat: int = 30           # … but at most this many times
    seed: int = 0


@dataclass
class Concepts:
    """One scheme's concepts in a fixed order: IRIs and their texts."""

    iris: list[str]
    texts: list[str]
    position: dict[str, int]


def scheme_concepts(scheme: Scheme) -> Concepts:
    iris = sorted(scheme.text)
    return Concepts(iris, [scheme.text[i] for i in iris], {iri: n for n, iri in enumerate(iris)})


def mine_examples(store: TripleStore, *, held_out: set[str], labels: int = 20_000, seed: int = 0,
                  languages: Sequence[str] | None = None, record_schemes: Sequence[str] | None = None,
                  progress: Progress | None = None) -> tuple[Examples, dict[str, Concepts]]:
    """Examples and each scheme's concepts. Records whose source id (``schema:identifier``) or
    IRI is in ``held_out`` are never used; ``labels``: how many Iconclass labels and keywords
    (a seeded sample); ``languages`` and ``record_schemes`` as for :func:`mine_pairs`."""
    say = progress or (lambda _message: None)
    rng = random.Random(seed)
    schemes: dict[str, Scheme] = {}
    from kgart.kinds import Kinds

    for name in Kinds.of(store).names(role="concept"):
        say(f"reading the {name} concepts")
        scheme = read_scheme(store, name)
        if scheme.text:
            schemes[name] = scheme
    if ICONCLASS not in schemes:
        raise KgartError("no Iconclass in the store: run kgart load iconclass first")
    concepts = {name: scheme_concepts(scheme) for name, scheme in schemes.items()}
    examples = Examples()
    if labels:
        say("reading Iconclass labels and keywords in every language")
        by_text: dict[str, list[int]] = defaultdict(list)
        for iri, text in schemes[ICONCLASS].text.items():
            by_text[text].append(concepts[ICONCLASS].position[iri])
        label_counts: Counter[str] = Counter()
        for pair in label_pairs(store, schemes[ICONCLASS], labels, rng, label_counts, languages):
            examples.add(pair.anchor, ICONCLASS, sorted(by_text[pair.positive]), "label")
        examples.counts.update(label_counts)
    say("reading the catalogued records")
    records = read_records(store)
    coded = read_codes(store, schemes)
    held = {iri for iri, (identifier, _) in records.items() if identifier in held_out or iri in held_out}
    examples.held_out_found = len(held)
    per_scheme: dict[str, list[tuple[str, list[int], str]]] = defaultdict(list)
    for iri, codes in sorted(coded.items()):
        if iri in held or iri not in records or not records[iri][1]:
            continue
        identifier, text = records[iri]
        wanted: dict[str, list[int]] = defaultdict(list)
        for scheme_name, concept in codes:
            if record_schemes is None or scheme_name in record_schemes:
                wanted[scheme_name].append(concepts[scheme_name].position[concept])
        for scheme_name, targets in wanted.items():
            per_scheme[scheme_name].append((text, sorted(set(targets)), identifier or iri))
    for scheme_name, rows in sorted(per_scheme.items()):
        for text, targets, record in rows:
            examples.add(text, scheme_name, targets, f"record-{scheme_name}")
            examples.records.add(record)
        examples.counts[f"record-{scheme_name}"] += len(rows)
    _add_rejections(store, records, coded, concepts, held, examples)
    return examples, concepts


def split_dev(examples: Examples, size: int, seed: int) -> tuple[Examples, Examples]:
    """(training, dev): ``size`` examples kept aside to measure the change on, before any
    repetition, so no dev text is trained on."""
    order = list(range(len(examples)))
    random.Random(seed + 1).shuffle(order)
    dev = set(order[:size])
    return (examples.subset([i for i in range(len(examples)) if i not in dev]),
            examples.subset([i for i in range(len(examples)) if i in dev]))


def repeat_records(examples: Examples, params: ProjectionParameters) -> Examples:
    """A scheme with few catalogued records has them repeated, up to ``max_repeat`` times, until
    they are about ``record_floor``: 80 rows of a catalogue would be lost among 20,000 labels."""
    sizes = Counter(s for s in examples.sources if s.startswith("record-"))
    rows: list[int] = []
    for i, source in enumerate(examples.sources):
        times = min(params.max_repeat, max(1, -(-params.record_floor // sizes[source]))) if source in sizes else 1
        rows += [i] * times
    return examples.subset(rows)


def _add_rejections(store: TripleStore, records: dict[str, tuple[str, str]],
                    coded: dict[str, list[tuple[str, str]]], concepts: dict[str, Concepts], held: set[str],
                    examples: Examples) -> None:
    for decision in Annotations(store).decisions(status="rejected"):
        artwork, rejected = str(decision.artwork), str(decision.concept)
        if artwork in held or artwork not in records or not records[artwork][1]:
            continue
        for scheme_name, scheme in concepts.items():
            if rejected not in scheme.position:
                continue
            targets = sorted({scheme.position[c] for s, c in coded.get(artwork, []) if s == scheme_name})
            if targets:
                examples.add(records[artwork][1], scheme_name, targets, "rejected", [scheme.position[rejected]])
                examples.records.add(records[artwork][0] or artwork)
                examples.counts["rejected"] += 1


def frozen_vectors(store: TripleStore, encoder: Encoder, kind: str, texts: Sequence[str], what: str,
                   progress: Progress | None = None) -> np.ndarray:
    """The frozen encoder's vectors of ``texts``, in order: the store's vector of a node of
    ``kind`` embedded with the same text where it is current (a concept's label, a catalogued
    record's title: what its artwork was embedded with), the rest (labels in other languages,
    keywords, nodes not embedded yet) encoded."""
    say = progress or (lambda _message: None)
    by_text: dict[str, np.ndarray] = {}
    if encoder.model_id == MINILM_ID:
        nodes = list(read_nodes(store, kind))
        found = current_vectors(store, MINILM_ID, kind, nodes)
        by_text = {n.text: found[n.iri] for n in nodes if n.iri in found}
    missing = list(dict.fromkeys(t for t in texts if t not in by_text))
    say(f"{sum(t in by_text for t in texts):,} {what} from the store, {len(missing):,} to encode")
    encoded = encode(encoder, missing)
    dimension = encoded.shape[1] if missing else (next(iter(by_text.values())).shape[0] if by_text else 0)
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    row = {text: n for n, text in enumerate(missing)}
    for n, text in enumerate(texts):
        out[n] = encoded[row[text]] if text in row else by_text[text]
    return out


def encode(encoder: Encoder, texts: Sequence[str], chunk: int = 4096) -> np.ndarray:
    """Encode with a progress bar (chunks of distinct texts, in order)."""
    from tqdm import tqdm

    parts = []
    with tqdm(total=len(texts), unit="text", desc="encoding", disable=not texts) as bar:
        for start in range(0, len(texts), chunk):
            parts.append(encoder.encode_texts(list(texts[start:start + chunk])))
            bar.update(len(parts[-1]))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def learn_projection(anchors: np.ndarray, examples: Examples, concept_vectors: dict[str, np.ndarray],
                     params: ProjectionParameters, check: Callable[[Learned], float] | None = None,
                     device: str = "cpu") -> tuple[Learned, list[float], int]:
    """The map W (identity to start), and with ``params.concept_offsets`` an offset per concept
    of each scheme with ``offset_min_records`` catalogued records or more, that rank each
    example's concepts first among all of its scheme's: softmax over every concept, the
    example's codes all right answers. A concept's vector is its text's vector through W, plus
    its offset, normalised: the map carries what all concepts share, the offset what the
    catalogue says of that one concept (which titles it is given to, whatever its label says).
    ``check`` scores a result on examples kept out of training (higher is better): after each
    epoch, and the best epoch's is the one returned. ``device``: where the tensors live (``cuda``
    or ``cpu``; what is returned is NumPy either way). Returns it, each epoch's mean loss and the
    epoch kept (1-based)."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(params.seed)
    on = torch.device(device)
    dimension = anchors.shape[1]
    weight = torch.nn.Parameter(torch.eye(dimension, device=on))
    documents = {name: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)).to(on)
                 for name, v in concept_vectors.items()}
    offsets = {name: torch.nn.Parameter(torch.zeros_like(d)) for name, d in documents.items()
               if params.concept_offsets and examples.counts[f"record-{name}"] >= params.offset_min_records}
    groups: list[dict[str, Any]] = [{"params": [weight], "lr": params.learning_rate}]
    if offsets:
        groups.append({"params": list(offsets.values()), "lr": params.offset_learning_rate})
    optimizer = torch.optim.Adam(groups)
    queries = torch.from_numpy(np.ascontiguousarray(anchors, dtype=np.float32)).to(on)
    rng = np.random.default_rng(params.seed)
    # Batches hold one scheme's examples; in a scheme with offsets labels apart from records: a
    # batch of its records trains only the offsets, a batch of labels the map too.
    groups_of_rows: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for i, (name, source) in enumerate(zip(examples.schemes, examples.sources, strict=True)):
        groups_of_rows[(name, name in offsets and source == "label")].append(i)
    by_group = {key: np.array(rows, dtype=np.int64) for key, rows in groups_of_rows.items()}
    losses = []
    best: tuple[float, int, Learned] | None = None
    for epoch in range(params.epochs):
        batches = [rows[start:start + params.batch_size] for _, rows in sorted(by_group.items())
                   for rows in [rng.permutation(rows)] for start in range(0, len(rows), params.batch_size)]
        order = rng.permutation(len(batches))
        total = 0.0
        for b in tqdm(order, desc=f"epoch {epoch + 1}/{params.epochs}", unit="batch"):
            rows = batches[b]
            scheme, labels = examples.schemes[int(rows[0])], examples.sources[int(rows[0])] == "label"
            # A scheme with offsets says through them what its catalogue needs; the map all
            # schemes share learns from the labels and the other catalogues (Tate's 54,000
            # records pulled it away from what 80 RKD rows need: half 2 R@1 47.1 without them, 45.9 with).
            moves_map = labels or scheme not in offsets or params.offset_schemes_move_map
            shared = weight if moves_map else weight.detach()
            q = torch.nn.functional.normalize(queries[torch.from_numpy(rows).to(on)] @ shared.T, dim=1)
            d = torch.nn.functional.normalize(documents[scheme] @ shared.T, dim=1)
            if scheme in offsets:
                d = torch.nn.functional.normalize(d + offsets[scheme], dim=1)
            logits = params.scale * (q @ d.T)
            right = torch.zeros_like(logits, dtype=torch.bool)
            for r, i in enumerate(rows):
                right[r, examples.targets[int(i)]] = True
                if examples.pushed[int(i)]:
                    logits[r, examples.pushed[int(i)]] += params.rejected_margin
            loss = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~right, -1e9), 1)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.item())
        losses.append(round(total / max(1, len(batches)), 4))
        current = Learned(weight.detach().cpu().numpy().astype(np.float32).copy(),
                          {name: o.detach().cpu().numpy().astype(np.float32).copy() for name, o in offsets.items()})
        score = check(current) if check is not None else float(epoch)
        if best is None or score > best[0]:
            best = (score, epoch + 1, current)
    if best is None:  # no epochs: the identity
        return Learned(np.eye(dimension, dtype=np.float32), {}), losses, 0
    return best[2], losses, best[1]


@dataclass
class Learned:
    """What a projection run learns: the map, and per scheme each concept's offset (rows in
    the order of that scheme's :class:`Concepts`; none without ``concept_offsets``)."""

    weight: np.ndarray
    offsets: dict[str, np.ndarray]

    def concept_matrix(self, scheme: str, base: np.ndarray) -> np.ndarray:
        """A scheme's concept vectors under this model, from the base model's."""
        return with_offsets(project(base, self.weight), self.offsets.get(scheme))


def ranks(anchors: np.ndarray, examples: Examples, concept_vectors: dict[str, np.ndarray],
          learned: Learned | None = None) -> dict[str, float]:
    """R@1 and R@10 (in %) of each example's best-placed concept among all of its scheme's:
    the training's own before/after check on examples kept out of it; over all examples and
    per scheme (``dev_r1_tate`` …)."""
    found: dict[str, list[int]] = {}
    for name, docs in concept_vectors.items():
        rows = [i for i, s in enumerate(examples.schemes) if s == name]
        if not rows:
            continue
        if learned is None:
            scores = anchors[rows] @ docs.T
        else:
            scores = project(anchors[rows], learned.weight) @ learned.concept_matrix(name, docs).T
        for r, i in enumerate(rows):
            best = scores[r, examples.targets[i]].max()
            found.setdefault(name, []).append(int((scores[r] > best).sum()))

    def share(values: list[int], cut: int) -> float:
        return round(100.0 * float((np.array(values) < cut).mean()), 1) if values else 0.0

    every = [rank for values in found.values() for rank in values]
    figures = {"dev_r1": share(every, 1), "dev_r10": share(every, 10), "dev_examples": float(len(every))}
    for name, values in sorted(found.items()):
        figures |= {f"dev_r1_{name}": share(values, 1), f"dev_r10_{name}": share(values, 10)}
    return figures


def dev_schemes(figures: dict[str, float]) -> list[str]:
    """The schemes :func:`ranks` gave figures for."""
    return [key.removeprefix("dev_r1_") for key in figures if key.startswith("dev_r1_")]


def scheme_mean(figures: dict[str, float]) -> float:
    """R@1 + R@10 averaged over the schemes, each alike whatever its number of dev examples:
    the map is chosen for every scheme (by examples, Tate's 54,000 records would outvote the
    Iconclass labels and a catalogue of 80 rows)."""
    schemes = dev_schemes(figures)
    if not schemes:
        return figures["dev_r1"] + figures["dev_r10"]
    return sum(figures[f"dev_r1_{s}"] + figures[f"dev_r10_{s}"] for s in schemes) / len(schemes)


def save_offsets(folder: Path, learned: Learned, concepts: dict[str, Concepts]) -> None:
    """Each scheme's concept offsets beside the encoder (float16: they are small corrections),
    keyed by concept IRI; ``kgart embed`` adds them to the concepts' vectors."""
    arrays: dict[str, np.ndarray] = {}
    for name, matrix in learned.offsets.items():
        # IRIs as one UTF-8 text, a line each (a fixed-width unicode array takes 4 bytes a
        # character of the longest IRI: 60 MB for Iconclass's)
        arrays[f"{name}.iris"] = np.frombuffer("\n".join(concepts[name].iris).encode("utf-8"), dtype=np.uint8)
        arrays[f"{name}.offsets"] = matrix.astype(np.float16)
    if arrays:
        np.savez(folder / OFFSETS_FILE, **arrays)  # type: ignore[arg-type]


def save_projected(base_dir: str, weight: np.ndarray, out_dir: Path) -> Any:
    """The base model with the map as a Dense module and a Normalize after it, saved as a
    sentence-transformers folder (loadable by the library as it is, on CUDA too)."""
    import logging

    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers 6 moved them
        from sentence_transformers.sentence_transformer.modules import Dense, Normalize
    except ImportError:  # pragma: no cover - sentence-transformers 3 to 5
        from sentence_transformers.models import Dense, Normalize  # type: ignore[no-redef]

    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    model = SentenceTransformer(base_dir, device="cpu")
    dimension = weight.shape[1]
    model.append(Dense(dimension, weight.shape[0], bias=False, activation_function=torch.nn.Identity(),
                       init_weight=torch.from_numpy(weight)))
    model.append(Normalize())
    model.save(str(out_dir))
    return model
