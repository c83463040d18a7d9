"""A SKOS vocabulary (any RDF file): loaded as it is, checked to be one.

The file must hold a ``skos:ConceptScheme``; concepts that name no scheme are put
in the file's one scheme (``skos:inScheme``) when it has only one. Once loaded,
the scheme is a kind of its own (:mod:`kgart.kinds`): ``kgart embed --kind NAME``,
``search``/``suggest --scheme NAME``, the tree browser, priors and neighbours work
for it. Its name is its ``dcterms:identifier``, else its ``skos:notation``, else
the last segment of its IRI.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kgart.loaders.rdf import RdfLoader

from kgart.errors import DataSourceError
from kgart.rdf import IRI, RDF, SKOS, Triple


class SkosLoader(RdfLoader):
    source = "skos"

    def convert(self, where: str, path: Path) -> Iterable[Triple]:
        triples = list(super().convert(where, path))
        schemes = {s for s, p, o in triples if p == RDF.type and o == SKOS.ConceptScheme and isinstance(s, IRI)}
        if not schemes:
            raise DataSourceError("no skos:ConceptScheme in this file; a vocabulary names its scheme "
                                  "(<scheme> a skos:ConceptScheme), or load it with `kgart load rdf`", path=str(path))
        concepts = {s for s, p, o in triples if p == RDF.type and o == SKOS.Concept}
        placed = {s for s, p, _ in triples if p == SKOS.inScheme}
        if len(schemes) == 1:
            scheme = next(iter(schemes))
            triples += [(c, SKOS.inScheme, scheme) for c in sorted(concepts - placed, key=str)]
        self.report.note("concept schemes", len(schemes))
        self.report.note("concepts", len(concepts))
        return triples
