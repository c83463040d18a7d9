"""Any RDF file, loaded as it is into one named graph.

Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD (format from the file
extension; ``.gz`` allowed). Graph names inside N-Quads/TriG are not kept:
everything goes into the one graph the load names.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kgart.loaders.collection import BaseLoader, LoadReport

from kgart.errors import DataSourceError
from kgart.oxigraph_adapter import parse_rdf, rdf_media_type
from kgart.rdf import Triple
from kgart.triplestore import TripleStore


class RdfLoader(BaseLoader):
    source = "rdf"

    def __init__(self, path: Path, store: TripleStore, report: LoadReport) -> None:
        if path.is_dir():
            raise DataSourceError("give one RDF file (for a folder of Linked Art, use linkedart)", path=str(path))
        super().__init__(path, store, report)
        self.media_type = rdf_media_type(path.name)
        if self.media_type is None:
            raise DataSourceError("unknown RDF file type; use .ttl .nt .nq .trig .rdf .owl .jsonld "
                                  "(optionally .gz)", path=str(path))



    def records(self) -> Iterator[tuple[str, Any]]:
        yield self.path.name, self.path

    def convert(self, where: str, path: Path) -> Iterable[Triple]:
        try:
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        except (OSError, EOFError) as e:
            raise DataSourceError(f"cannot read: {e}", path=str(path)) from e
        assert self.media_type is not None
        # A syntax error anywhere makes the whole file fail: RDF has no records to skip.
        return parse_rdf(data, self.media_type, base_iri=path.resolve().as_uri(), where=str(path))
