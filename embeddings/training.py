"""``kgart train encoder``: fine-tune the text encoder on what the graph already says.

Pairs mined from the store (every one a query-like text → the text a concept is embedded
with, the concept's English label):

``label``      a concept's label in another language, or one of its keywords (any language)
               → its label: Iconclass's own wording, and Dutch or German for English
``record``     a catalogued record's title (and description) → the label of each of its
               codes, in any scheme (Iconclass, Tate subjects, …), records held out left out
``rejected``   a record whose code a curator rejected: the rejected code is its hard negative

Every pair carries a hard negative from the hierarchy: a sibling (same parent) of the
positive, else a cousin, never one of the record's own codes. Training is
sentence-transformers' trainer with MultipleNegativesRankingLoss (the other positives in
a batch are negatives too; no duplicate texts in a batch), on CUDA when present.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from kgart.embeddings.texts import artwork_text, read_nodes

from kgart.annotations import Annotations
from kgart.errors import KgartError
from kgart.kinds import Kinds
from kgart.rdf import graph_iri
from kgart.triplestore import TripleStore

ICONCLASS = "iconclass"
GENERIC_KEYWORD = 20
# The base model's vocabulary is English WordPiece: Japanese and Chinese labels come out as
# strings of unknown or single-character tokens, pairs that teach it nothing.
UNREADABLE_LANGUAGES = ("ja", "zh")
MAX_SEQ_LENGTH = 32  # titles and labels are short; longer inputs are cut while training only


@dataclass(frozen=True)
class Pair:
    anchor: str
    positive: str
    negative: str
    source: str
    record: str = ""  # the catalogued record it came from (its source id, else its IRI)


@dataclass
class MinedPairs:
    """Training pairs, and what they came from (for the model's provenance)."""

    pairs: list[Pair] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    records: set[str] = field(default_factory=set)  # source ids (or IRIs) of the records in the pairs
    held_out_found: int = 0
    schemes: list[str] = field(default_factory=list)


@dataclass
class Scheme:
    """One scheme's concepts: their embedded texts and a tree for hard negatives."""

    name: str
    text: dict[str, str]
    parent: dict[str, str]
    children: dict[str, list[str]]

    def negative(self, concept: str, avoid: set[str], rng: random.Random) -> str | None:
        """A sibling of ``concept``, else a cousin, else any concept: never one in ``avoid``."""
        parent = self.parent.get(concept)
        siblings = [c for c in self.children.get(parent, []) if c != concept and c not in avoid] if parent else []
        if not siblings and parent:
            grand = self.parent.get(parent, "")
            cousins = [c for p in self.children.get(grand, []) if p != parent for c in self.children.get(p, [])]
            siblings = [c for c in cousins if c not in avoid]
        if not siblings:
            siblings = [c for c in rng.sample(sorted(self.text), min(5, len(self.text))) if c not in avoid]
        choice = rng.choice(siblings) if siblings else None
        return self.text.get(choice) if choice else None


def read_scheme(store: TripleStore, name: str) -> Scheme:
    text = {str(node.iri): node.text for node in read_nodes(store, name) if node.text}
    kind = Kinds.of(store).get(name, role="concept")
    rows = store.select("SELECT ?node ?p WHERE { $nodes ?node skos:broader ?p }", {"nodes": kind.nodes}).rows
    parent: dict[str, str] = {}
    children: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        c, p = str(r["node"]), str(r["p"])
        if c in text and c not in parent:
            parent[c] = p
            children[p].append(c)
    for siblings in children.values():
        siblings.sort()
    return Scheme(name, text, parent, dict(children))


def mine_pairs(store: TripleStore, *, held_out: set[str], budget: int = 30_000, label_share: float = 0.5,
               seed: int = 0, max_repeat: int = 4, languages: Sequence[str] | None = None,
               record_schemes: Sequence[str] | None = None,
               progress: Callable[[str], None] | None = None) -> MinedPairs:
    """Pairs for fine-tuning, seeded: about ``label_share`` of ``budget`` from Iconclass's labels
    and keywords, the rest from catalogued records (shared evenly between the schemes they use;
    a scheme with few records has its pairs repeated up to ``max_repeat`` times), plus every
    rejection. Records whose source id (``schema:identifier``) or IRI is in ``held_out`` are
    never used. ``languages``: only labels and keywords in these (default: every readable one);
    ``record_schemes``: only records' codes in these schemes (default: all)."""
    rng = random.Random(seed)
    say = progress or (lambda _message: None)
    mined = MinedPairs()
    kinds = Kinds.of(store)
    concept_schemes = kinds.names(role="concept")
    if ICONCLASS not in concept_schemes:
        raise KgartError("no Iconclass in the store: run kgart load iconclass first")
    schemes = {}
    for name in concept_schemes:
        say(f"reading the {name} concepts")
        scheme = read_scheme(store, name)
        if scheme.text:
            schemes[name] = scheme
    mined.schemes = sorted(schemes)
    say("reading Iconclass labels and keywords in every language")
    mined.pairs += label_pairs(store, schemes[ICONCLASS], int(budget * label_share), rng, mined.counts, languages)
    say("reading the catalogued records")
    records = read_records(store)
    coded = read_codes(store, schemes)
    held = {iri for iri, (identifier, _) in records.items() if identifier in held_out or iri in held_out}
    mined.held_out_found = len(held)
    per_scheme: dict[str, list[Pair]] = defaultdict(list)
    for iri, codes in sorted(coded.items()):
        if iri in held or iri not in records:
            continue
        identifier, text = records[iri]
        if not text:
            continue
        for scheme_name, concept in codes:
            if record_schemes is not None and scheme_name not in record_schemes:
                continue
            scheme = schemes[scheme_name]
            avoid = {c for _, c in codes}
            negative = scheme.negative(concept, avoid, rng)
            if negative:
                per_scheme[scheme_name].append(Pair(text, scheme.text[concept], negative, f"record-{scheme_name}",
                                                    identifier or iri))
    share = (budget - len(mined.pairs)) // max(1, len(per_scheme))
    for scheme_name, pairs in sorted(per_scheme.items()):
        rng.shuffle(pairs)
        chosen = pairs[:share] if len(pairs) >= share else pairs * min(max_repeat, max(1, share // len(pairs)))
        mined.pairs += chosen
        mined.counts[f"record-{scheme_name}"] += len(chosen)
    mined.pairs += _rejection_pairs(store, records, coded, schemes, held, rng, mined)
    mined.records = {p.record for p in mined.pairs if p.record}
    rng.shuffle(mined.pairs)
    return mined


def label_pairs(store: TripleStore, iconclass: Scheme, wanted: int, rng: random.Random,
                 counts: Counter[str], languages: Sequence[str] | None = None) -> list[Pair]:
    """Labels in other languages and keywords → the English label. A keyword that many concepts
    share ("vor", "part") says little about any one of them: those on more than
    ``GENERIC_KEYWORD`` concepts are left out, as are keywords under three letters."""
    graph = {"graph": graph_iri(ICONCLASS)}
    rows = store.select("""SELECT ?c ?v ?kind WHERE { GRAPH $graph {
        { ?c skos:prefLabel ?v FILTER(lang(?v) != "en") BIND("label" AS ?kind) }
        UNION { ?c skos:altLabel ?v BIND("keyword" AS ?kind) } } }""", graph).rows
    spread: Counter[tuple[str, str]] = Counter()
    found = []
    for r in rows:
        literal = r.literal("v")
        key = (literal.language or "", r.text("v").casefold())
        if r.text("kind") == "keyword":
            spread[key] += 1
        found.append((str(r["c"]), r.text("v"), key, r.text("kind")))
    candidates = []
    for concept, text, key, kind in found:
        label = iconclass.text.get(concept)
        if not label or not text or text.casefold() == label.casefold():
            continue
        if kind == "keyword" and (spread[key] > GENERIC_KEYWORD or len(text) < 3):
            continue
        language = key[0].split("-")[0]
        if language in UNREADABLE_LANGUAGES or (languages is not None and language not in languages):
            continue
        candidates.append((concept, text, key[0]))
    candidates.sort()
    chosen = rng.sample(candidates, min(wanted, len(candidates)))
    out = []
    for concept, text, language in chosen:
        negative = iconclass.negative(concept, {concept}, rng)
        if negative:
            out.append(Pair(text, iconclass.text[concept], negative, "label"))
            counts[f"label-{language or 'none'}"] += 1
    return out


def read_records(store: TripleStore) -> dict[str, tuple[str, str]]:
    """Every artwork → (its source identifier, its text as a query: titles, then description)."""
    titles: dict[str, list[str]] = defaultdict(list)
    descriptions: dict[str, list[str]] = defaultdict(list)
    identifiers: dict[str, str] = {}
    for r in store.select("""SELECT ?a ?t ?d ?id WHERE { ?a a schema:VisualArtwork .
            OPTIONAL { ?a schema:name ?t } OPTIONAL { ?a schema:description ?d }
            OPTIONAL { ?a schema:identifier ?id } }""").rows:
        a = str(r["a"])
        if "t" in r and r.text("t") not in titles[a]:
            titles[a].append(r.text("t"))
        if "d" in r and r.text("d") not in descriptions[a]:
            descriptions[a].append(r.text("d"))
        if "id" in r:
            identifiers.setdefault(a, r.text("id"))
    every = set(titles) | set(descriptions) | set(identifiers)
    return {a: (identifiers.get(a, ""), artwork_text(sorted(titles.get(a, [])), " ".join(descriptions.get(a, []))))
            for a in every}


def keep_for_ranker(store: TripleStore, *, held_out: set[str], wanted: int, seed: int) -> dict[str, set[str]]:
    """Per scheme, a seeded sample of its coded records (source ids, else IRIs) that the encoder
    leaves out, for ``kgart train ranker`` to learn the blend over the new vectors from
    (:func:`kgart.splits.ranker_share` says how many; none for a scheme with few records)."""
    from kgart.splits import ranker_share

    kept: dict[str, set[str]] = {}
    for kind in Kinds.of(store).schemes():
        rows = store.select("""SELECT DISTINCT ?a ?id WHERE { ?c skos:inScheme $scheme .
            ?a a schema:VisualArtwork ; dcterms:subject ?c .
            FILTER EXISTS { ?a schema:name|schema:description ?text } OPTIONAL { ?a schema:identifier ?id } }""",
                            {"scheme": kind.concept_scheme}).rows
        records = sorted({(r.text("id") if "id" in r else "") or str(r["a"]) for r in rows} - held_out)
        share = ranker_share(len(records), wanted)
        if share:
            kept[kind.name] = set(random.Random(seed).sample(records, share))
    return kept


def read_codes(store: TripleStore, schemes: dict[str, Scheme]) -> dict[str, list[tuple[str, str]]]:
    """Artwork → (scheme, concept) for every code it carries in an embedded scheme."""
    scheme_of = {c: name for name, scheme in schemes.items() for c in scheme.text}
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in store.select("SELECT DISTINCT ?a ?c WHERE { ?a a schema:VisualArtwork ; dcterms:subject ?c }").rows:
        concept = str(r["c"])
        if concept in scheme_of:
            out[str(r["a"])].append((scheme_of[concept], concept))
    return out


def _rejection_pairs(store: TripleStore, records: dict[str, tuple[str, str]], coded: dict[str, list[tuple[str, str]]],
                     schemes: dict[str, Scheme], held: set[str], rng: random.Random, mined: MinedPairs) -> list[Pair]:
    out = []
    for decision in Annotations(store).decisions(status="rejected"):
        artwork, rejected = str(decision.artwork), str(decision.concept)
        if artwork in held or artwork not in records or not records[artwork][1]:
            continue
        for scheme_name, concept in coded.get(artwork, []):
            negative = schemes[scheme_name].text.get(rejected)
            if negative:
                out.append(Pair(records[artwork][1], schemes[scheme_name].text[concept], negative, "rejected",
                                records[artwork][0] or artwork))
                break
    mined.counts["rejected"] += len(out)
    return out


@dataclass(frozen=True)
class Hyperparameters:
    epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    seed: int = 0
    max_seq_length: int = MAX_SEQ_LENGTH


def dev_split(pairs: Sequence[Pair], size: int, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(training pairs, dev pairs): ``size`` pairs kept aside to measure the change on."""
    order = list(range(len(pairs)))
    random.Random(seed + 1).shuffle(order)
    dev = {i for i in order[:size]}
    return [p for i, p in enumerate(pairs) if i not in dev], [p for i, p in enumerate(pairs) if i in dev]


def dev_accuracy(model: Any, dev: Sequence[Pair], distractors: Sequence[str]) -> dict[str, float]:
    """R@1 and R@10 (in %) of each dev anchor finding its positive among every dev positive and
    ``distractors`` (other concepts' texts): the training's own before/after check."""
    corpus = sorted({p.positive for p in dev} | set(distractors))
    where = {text: i for i, text in enumerate(corpus)}
    docs = model.encode(corpus, batch_size=128, normalize_embeddings=True, convert_to_numpy=True,
                        show_progress_bar=False)
    queries = model.encode([p.anchor for p in dev], batch_size=128, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
    sims = queries @ docs.T
    ranks = np.array([(sims[i] > sims[i, where[p.positive]]).sum() for i, p in enumerate(dev)])
    return {"dev_r1": round(100.0 * float((ranks < 1).mean()), 1),
            "dev_r10": round(100.0 * float((ranks < 10).mean()), 1), "dev_pairs": float(len(dev))}


def fine_tune(base_dir: str, pairs: Sequence[Pair], out_dir: Path, params: Hyperparameters, *,
              work_dir: Path, device: str, resume: bool = False) -> Any:
    """Fine-tune the model in ``base_dir`` on ``pairs`` and save it in ``out_dir``; checkpoints in
    ``work_dir`` let an interrupted run resume (``resume``). Returns the trained model."""
    import logging

    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Arguments

    try:  # sentence-transformers 6 moved them
        from sentence_transformers.base.sampler import BatchSamplers
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # pragma: no cover - sentence-transformers 3 to 5
        from sentence_transformers.losses import MultipleNegativesRankingLoss  # type: ignore[no-redef]
        from sentence_transformers.training_args import BatchSamplers  # type: ignore[no-redef]

    for noisy in ("transformers", "sentence_transformers", "datasets"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    model = SentenceTransformer(base_dir, device=device)
    model.max_seq_length = params.max_seq_length
    dataset = Dataset.from_dict({"anchor": [p.anchor for p in pairs], "positive": [p.positive for p in pairs],
                                 "negative": [p.negative for p in pairs]})
    steps = max(1, len(pairs) // params.batch_size)
    args = Arguments(
        output_dir=str(work_dir), num_train_epochs=params.epochs, per_device_train_batch_size=params.batch_size,
        learning_rate=params.learning_rate, warmup_steps=int(params.warmup_ratio * steps * params.epochs),
        seed=params.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="steps", save_steps=max(50, steps // 10),
        save_total_limit=1, logging_steps=max(10, steps // 20), report_to="none", use_cpu=not device.startswith("cuda"),
        dataloader_num_workers=0, disable_tqdm=False)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model))
    checkpoint = resume and any(work_dir.glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if checkpoint else None)
    model.save(str(out_dir))
    return model
