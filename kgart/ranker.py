"""A learned blend: one weight per feature, learned from catalogued records (``kgart train ranker``).

The features are the blend's components (``vector`` … ``maker``, unweighted) and
what the hand-set blend cannot see: the concept's depth and number of children, its
label's length, the query's length with the components it makes more or less reliable,
and the prior, the neighbours' and the maker's votes scaled by how well the concept matches
the query.
A linear score keeps ``--explain`` honest: each feature's contribution is its weight
times its value, and they sum to the score. A scheme without a ranker (too few
coded records to learn from) uses ``kgart/blend.toml``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

COMPONENT_FEATURES = ("vector", "keyword", "children", "branch", "parent", "prior", "neighbours", "nearest", "maker")
CONCEPT_FEATURES = ("depth", "child_count", "label_words")
QUERY_FEATURES = ("vector_by_query_words", "prior_by_query_words", "prior_by_vector", "neighbours_by_vector",
                  "maker_by_vector")
FEATURES = COMPONENT_FEATURES + CONCEPT_FEATURES + QUERY_FEATURES


def query_words_scale(words: int) -> float:
    """A query's length as a feature scale: 0 for one word, 1 at about 20.

    >>> round(query_words_scale(1), 2), round(query_words_scale(20), 2)
    (0.0, 1.0)
    """
    return math.log(max(words, 1)) / math.log(20)


def concept_features(depth: np.ndarray, child_counts: np.ndarray, label_words: np.ndarray) -> dict[str, np.ndarray]:
    """The query-independent features of every concept of a scheme, each scaled to about 0–1."""
    most = float(child_counts.max()) if child_counts.size else 0.0
    return {"depth": depth.astype(np.float32) / 10.0,
            "child_count": (np.log1p(child_counts) / math.log1p(most) if most else child_counts).astype(np.float32),
            "label_words": (np.log1p(label_words) / math.log(20)).astype(np.float32)}


def query_features(components: Mapping[str, np.ndarray], words: int) -> dict[str, np.ndarray]:
    """Components as the query changes them: by its length, and the popular or voted-for codes
    only as far as they match the query (an additive prior lifts a common code above unrelated
    queries)."""
    scale = query_words_scale(words)
    zero = np.zeros_like(components["vector"])
    match = np.maximum(components["vector"], 0.0)
    return {"vector_by_query_words": components["vector"] * scale,
            "prior_by_query_words": components.get("prior", zero) * scale,
            "prior_by_vector": components.get("prior", zero) * match,
            "neighbours_by_vector": components.get("neighbours", zero) * match,
            "maker_by_vector": components.get("maker", zero) * match}


@dataclass(frozen=True)
class LinearRanker:
    """Weights per feature for one scheme and one model's vectors, with what they were learned from."""

    scheme: str
    model_id: str
    weights: dict[str, float]
    trained_records: int = 0
    figures: dict[str, float] = field(default_factory=dict)

    def score(self, features: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The score of every concept and each feature's contribution (weight × value)."""
        parts = {name: self.weights[name] * features[name] for name in FEATURES
                 if self.weights.get(name) and name in features}
        size = len(next(iter(features.values())))
        total = np.sum(list(parts.values()), axis=0) if parts else np.zeros(size, np.float32)
        return total, parts

    def as_json(self) -> dict[str, object]:
        return {"scheme": self.scheme, "model_id": self.model_id, "weights": self.weights,
                "trained_records": self.trained_records, "figures": self.figures}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LinearRanker:
        weights = data.get("weights")
        figures = data.get("figures")
        return cls(str(data["scheme"]), str(data["model_id"]),
                   {str(k): float(v) for k, v in (weights.items() if isinstance(weights, dict) else [])},
                   int(data.get("trained_records") or 0),  # type: ignore[call-overload]
                   {str(k): float(v) for k, v in (figures.items() if isinstance(figures, dict) else [])})
