"""Wiring: a Retriever over a store, with the configured encoder and its indexes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kgart.embeddings.encoders import get_encoder, model_id_for
from kgart.embeddings.job import load_index
from kgart.embeddings.trained import models_folder, open_trained, trained_name

from kgart.bilingual_dictionaries import Dictionary
from kgart.keyword_index import KeywordIndex
from kgart.query_translation import Lexicon
from kgart.retrieval import BlendConfig, Index, Retriever, load_priors
from kgart.triplestore import TripleStore


def open_retriever(store: TripleStore, *, model: str = "minilm", device: str | None = None, backend: str = "exact",
                   blend_config: str | Path | None = None, usage_counts: Iterable[str | Path] = (),
                   language: str = "en", priors_from_collections: bool = True,
                   priors: Mapping[str, Mapping[str, float]] | None = None,
                   dictionaries: Sequence[Dictionary] = ()) -> Retriever:
    """A Retriever whose indexes load lazily (and rebuild from the store when stale). With
    ``model = "trained:NAME"``: that model's encoder (or its base) and its learned rankers.

    Usage priors per scheme: ``priors`` when given, else Iconclass's from ``usage_counts``
    files; a scheme with neither is counted in the loaded collections when first needed
    (``priors_from_collections``). ``dictionaries``: bilingual dictionaries for the query lexicon.
    """
    models = models_folder(store)
    model_id = model_id_for(model, models)
    name = trained_name(model)
    rankers = open_trained(models, name).rankers() if name else {}
    cache: dict[str, Index] = {}

    def index(kind: str) -> Index:
        if kind not in cache:
            cache[kind] = load_index(store, model_id, kind, "text", backend=backend)
        return cache[kind]

    files = list(usage_counts)
    if priors is None:
        priors = {"iconclass": load_priors(files)} if files else {}
    return Retriever(store, get_encoder(model, device, models), index, keywords=KeywordIndex.for_store(store),
                     priors=priors, collection_priors=priors_from_collections,
                     config=BlendConfig.load(blend_config), language=language, rankers=rankers,
                     lexicon=lambda: Lexicon.for_store(store, dictionaries))


def similarity_for(retriever: Retriever) -> dict[str, Any]:
    """kgart's SPARQL similarity functions over a retriever's vector indexes and encoder."""
    from kgart.sparql_extensions import similarity_functions

    def vector_of(iri: str) -> Any:
        for kind in ("iconclass", "artwork", "sentence"):
            index = retriever.index(kind)
            if iri in getattr(index, "_row", {}):
                return index.vector(iri)
        return None

    return similarity_functions(vector_of, lambda text: retriever.encoder.encode_texts([text])[0])


def similarity_over_store(store: TripleStore, model: str, device: str | None, backend: str) -> dict[str, Any]:
    """The similarity functions for a query process (kgart.query_worker), over its own store."""
    return similarity_for(open_retriever(store, model=model, device=device, backend=backend))
