"""Wiring: a Retriever over a store, with the configured encoder and its indexes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kgart.embeddings.encoders import get_encoder, model_id_for
from kgart.embeddings.job import load_index

from kgart.keyword_index import KeywordIndex
from kgart.retrieval import BlendConfig, Index, Retriever, load_priors, priors_from_store
from kgart.store import Store


def open_retriever(store: Store, *, model: str = "minilm", device: str | None = None, backend: str = "exact",
                   blend_config: str | Path | None = None, usage_counts: Iterable[str | Path] = (),
                   language: str = "en", priors_from_collections: bool = True,
                   priors: dict[str, float] | None = None) -> Retriever:
    """A Retriever whose indexes load lazily (and rebuild from the store when stale).

    Usage priors are ``priors`` when given, else read from ``usage_counts`` files, else
    (``priors_from_collections``) counted from the codes the loaded collections use.
    """
    model_id = model_id_for(model)
    cache: dict[str, Index] = {}

    def index(kind: str) -> Index:
        if kind not in cache:
            cache[kind] = load_index(store, model_id, kind, "text", backend=backend)
        return cache[kind]

    files = list(usage_counts)
    if priors is None:
        priors = load_priors(files) if files else (priors_from_store(store) if priors_from_collections else {})
    return Retriever(store, get_encoder(model, device), index, keywords=KeywordIndex.for_store(store),
                     priors=priors, config=BlendConfig.load(blend_config), language=language)
