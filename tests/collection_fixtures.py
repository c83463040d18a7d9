"""Small collections written in each source's real format, for the loader tests.

Codes refer to the Iconclass slice in ``tests/iconclass_slice.py``.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

RKD_SOLR = {
    "responseHeader": {"status": 0, "QTime": 3},
    "response": {"numFound": 3, "start": 0, "docs": [
        {"priref": "193334", "benaming_kunstwerk": ["Boetvaardige Hiëronymus in zijn studeervertrek"],
         "titel_engels": "Penitent St Jerome in his study",
         "iconclass_code": ["11H(JEROME)362", "31D111(+89)", "99Z9"],
         "toeschrijving": [{"naam_inverted": "Reymerswale, Marinus van", "status": "toegeschreven aan"}],
         "datumlabel": "ca. 1530", "zoekmarge_begindatum": 1535, "zoekmarge_einddatum": 1525,
         "picturae_images": ["35c056b4-46f7-5e3a-6419-2cf541cacd93"],
         "urls": ["https://rkd.nl/explore/images/193334"]},
        {"priref": "198783", "titel_engels": "The crown of thorns",
         "iconclass_code": ["73D82  (CROWN OF THORNS)"], "zoekmarge_begindatum": "1687",
         "zoekmarge_einddatum": "1687"},
        {"benaming_kunstwerk": ["zonder priref"]},
    ]},
}

RKD_COLUMNS = ["Branch", "File Name", "Artist", "Title", "Earliest Date", "Latest Date", "Genre",
               "Image Credits", "Details URL", "Iconclass code", "License", "Description", "Keywords"]
RKD_ROWS = [
    ["ArtHist", "a.jpg", " Cornelis Dusart ", " A woman changing a baby's nappy ", "1687", "1687", "drawing",
     "https://images.rkd.nl/rkd/thumb/650x650/a.jpg", "https://rkd.nl/explore/images/198783",
     "31D111(+89)", "", "", "genre,small child ,cradle "],
    ["ArtHist", "b.jpg", "Meester", " Landscape with Jerome ", "1650", "1600", "painting",
     "https://images.rkd.nl/rkd/thumb/650x650/b.jpg", "https://rkd.nl/explore/images/61636",
     "11H(JEROME)362 St. Jerome as penitent, in his study; 73D99", "Public Domain", "A hermit.", ""],
    ["ArtHist", "c.jpg", "Somebody", "Théière", "1850", "1899", "dessin",
     "https://example.org/c.jpg", "https://www.pop.culture.gouv.fr/notice/joconde/1", "", "", "", ""],
    ["ArtHist", "d.jpg", "Nobody", "", "1700", "1710", "painting", "", "https://rkd.nl/explore/images/1",
     "", "", "", ""],
    ["ArtHist", "e.jpg", "Again", "Duplicate", "1700", "1710", "painting", "",
     "https://rkd.nl/explore/images/61636", "", "", "", ""],
]

TATE_RECORDS = [
    {"acno": "A00001", "title": "A Figure Bowing before a Seated Old Man", "all_artists": "Robert Blake",
     "contributors": [{"fc": "Robert Blake", "id": 38, "role": "artist"}], "dateText": "date not known",
     "dateRange": None, "medium": "Watercolour on paper",
     "thumbnailUrl": "http://www.tate.org.uk/art/images/work/A/A00/A00001_8.jpg",
     "url": "http://www.tate.org.uk/art/artworks/blake-a-figure-a00001",
     "subjects": {"children": [{"id": 91, "name": "people", "children": [
         {"id": 95, "name": "adults", "children": [{"id": 195, "name": "man"}, {"id": 1134, "name": "man, old"}]}]},
         {"id": 132, "name": "religion and belief", "children": [
             {"id": 133, "name": "christianity", "children": [{"id": 5734, "name": "blessing"}]}]}],
         "id": 1, "name": "subject"}},
    {"acno": "N01234", "title": "The Sea", "contributors": [{"fc": "J.M.W. Turner", "id": 558, "role": "artist"}],
     "dateText": "c.1840", "dateRange": {"startYear": 1835, "endYear": 1845, "text": "c.1840"},
     "url": "http://www.tate.org.uk/art/artworks/turner-the-sea-n01234",
     "subjects": {"children": [{"id": 60, "name": "nature", "children": [
         {"id": 71, "name": "water: seascapes and coasts", "children": [{"id": 2199, "name": "sea"}]}]}]}},
]
TATE_LEVELS = {0: {"91": "people", "132": "religion and belief", "60": "nature"},
               1: {"95": "adults", "133": "christianity", "71": "water: seascapes and coasts"},
               2: {"195": "man", "1134": "man, old", "5734": "blessing", "2199": "sea"}}

ARTPEDIA = {
    "0": {"title": "Crucifixion", "year": "1475", "img_url": "https://upload.wikimedia.org/crucifixion.jpg",
          "split": "train",
          "visual_sentences": ["Christ hangs on the cross.", "Saint Jerome kneels to the left."],
          "contextual_sentences": ["It was painted for the Jesuati."]},
    "1": {"title": "Venus", "year": "c. 1485", "img_url": "https://upload.wikimedia.org/venus.jpg",
          "split": "test", "visual_sentences": ["Venus stands on a shell."], "contextual_sentences": []},
}
MELART = {
    "Q3207989": [
        {"text": "Crucifixion is a painting of the Crucifixion of Christ.", "sentence_type": "visual",
         "entities": [{"start": 40, "end": 46, "qid": "Q302", "text": "Christ"}]},
        {"text": "The work's attribution is uncertain.", "sentence_type": "contextual", "entities": []},
    ],
}

LINKED_ART_CONTEXT = {"@context": {
    "crm": "http://www.cidoc-crm.org/cidoc-crm/", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "id": "@id", "type": "@type",
    "HumanMadeObject": "crm:E22_Human-Made_Object", "Name": "crm:E33_E41_Linguistic_Appellation",
    "Identifier": "crm:E42_Identifier", "Type": "crm:E55_Type", "Language": "crm:E56_Language",
    "VisualItem": "crm:E36_Visual_Item", "Production": "crm:E12_Production", "Person": "crm:E21_Person",
    "_label": {"@id": "rdfs:label"},
    "content": {"@id": "crm:P190_has_symbolic_content"},
    "identified_by": {"@id": "crm:P1_is_identified_by", "@container": "@set"},
    "classified_as": {"@id": "crm:P2_has_type", "@type": "@id", "@container": "@set"},
    "language": {"@id": "crm:P72_has_language", "@type": "@id", "@container": "@set"},
    "shows": {"@id": "crm:P65_shows_visual_item", "@type": "@id", "@container": "@set"},
    "represents": {"@id": "crm:P138_represents", "@type": "@id", "@container": "@set"},
    "produced_by": {"@id": "crm:P108i_was_produced_by", "@type": "@id"},
    "carried_out_by": {"@id": "crm:P14_carried_out_by", "@type": "@id", "@container": "@set"},
}}
LINKED_ART_URL = "https://linked.art/ns/v1/linked-art.json"
LINKED_ART_OBJECT = "http://example.org/museum/artwork/1"
LINKED_ART_TITLES = """{
  "@context": "https://linked.art/ns/v1/linked-art.json",
  "id": "http://example.org/museum/artwork/1",
  "type": "HumanMadeObject",
  "identified_by": [{"type": "Name", "content": "View of the Sea",
    "language": [{"id": "http://vocab.getty.edu/aat/300388277", "type": "Language", "_label": "English"}]}],
  "identified_by": [{"type": "Name", "content": "Zeezicht",
    "language": [{"id": "http://vocab.getty.edu/aat/300388256", "type": "Language", "_label": "Dutch"}]},
    {"type": "Identifier", "content": "F21"}],
  "classified_as": [{"id": "http://vocab.getty.edu/aat/300177435", "type": "Type", "_label": "paintings"}],
  "shows": [{"type": "VisualItem", "represents": [{"id": "http://iconclass.org/73D82%28CROWN%20OF%20THORNS%29"}],
             "classified_as": [{"id": "http://vocab.getty.edu/aat/300117546", "type": "Type", "_label": "Seascape"}]}],
  "produced_by": {"type": "Production", "carried_out_by": [
    {"id": "http://vocab.getty.edu/ulan/500115588", "type": "Person", "_label": "Gogh, Vincent van"}]}
}"""
LINKED_ART_TURTLE = """@prefix crm: <http://www.cidoc-crm.org/cidoc-crm/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<http://example.org/museum/artwork/2> a crm:E22_Human-Made_Object ;
    crm:P1_is_identified_by [ a crm:E33_E41_Linguistic_Appellation ;
        crm:P190_has_symbolic_content "Sorrowing old man"@en ] .
"""

GENERIC_MAPPING = """id = "Inventory"
title = ["Title EN", "Title NL"]
title_language = "en"
creator = "Maker"
date = "Dated"
image = "Image"
description = "About"
iconclass = "Codes"
iconclass_separator = "|"
keywords = "Tags"
keywords_separator = ";"
"""
GENERIC_COLUMNS = ["Inventory", "Title EN", "Title NL", "Maker", "Dated", "Image", "About", "Codes", "Tags"]
GENERIC_ROWS = [
    ["INV-1", "The penitent Jerome", "", "Anonymous", "circa 1600-1620", "https://example.org/1.jpg",
     "Jerome in his study.", "11H(JEROME)362|25F23(LION)", "saint;study"],
    ["INV-2", "Crown of thorns", "", "Unknown", "1700", "", "", "73D82(CROWN OF THORNS)", ""],
    ["", "No id", "", "", "", "", "", "", ""],
]
ARTUK_COLUMNS = ["title", "artist", "date", "medium", "venue", "accession_number", "url", "image_url",
                 "description"]
ARTUK_ROWS = [
    ["The Fighting Temeraire", "J. M. W. Turner", "1839", "oil on canvas", "The National Gallery",
     "NG524", "https://artuk.org/discover/artworks/the-fighting-temeraire", "https://example.org/temeraire.jpg",
     "A warship towed to be broken up."],
    ["Bad image", "Someone", "1900", "oil", "Somewhere", "X1", "https://artuk.org/x1", "not a url", ""],
]


def write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def write_collections(root: Path) -> dict[str, Path]:
    """Write every fixture under ``root``; returns kind → path."""
    root.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["rkd_json"] = root / "rkd-search.json"
    paths["rkd_json"].write_text(json.dumps(RKD_SOLR, ensure_ascii=False), encoding="utf-8")
    paths["rkd_csv"] = write_csv(root / "metadata.csv", RKD_COLUMNS, RKD_ROWS)

    tate = root / "tate"
    (tate / "subjects").mkdir(parents=True, exist_ok=True)
    paths["tate"] = tate / "artworks.jsonl.gz"
    with gzip.open(paths["tate"], "wt", encoding="utf-8") as f:
        for record in TATE_RECORDS:
            f.write(json.dumps(record) + "\n")
    for level, names in TATE_LEVELS.items():
        (tate / "subjects" / f"level{level}.json").write_text(json.dumps(names), encoding="utf-8")
    folder = root / "tate-files" / "artworks" / "a" / "000"
    folder.mkdir(parents=True, exist_ok=True)
    for record in TATE_RECORDS:
        (folder / f"{record['acno'].lower()}-1.json").write_text(json.dumps(record), encoding="utf-8")
    paths["tate_folder"] = root / "tate-files"

    paths["artpedia"] = root / "artpedia.json"
    paths["artpedia"].write_text(json.dumps(ARTPEDIA), encoding="utf-8")
    paths["melart"] = root / "curated_annotations.json"
    paths["melart"].write_text(json.dumps(MELART), encoding="utf-8")

    la = root / "linkedart"
    (la / "jsonld").mkdir(parents=True, exist_ok=True)
    (la / "ttl").mkdir(parents=True, exist_ok=True)
    (la / "linked-art.json").write_text(json.dumps(LINKED_ART_CONTEXT), encoding="utf-8")
    (la / "jsonld" / "titles.jsonld").write_text(LINKED_ART_TITLES, encoding="utf-8")
    (la / "ttl" / "old-man.ttl").write_text(LINKED_ART_TURTLE, encoding="utf-8")
    paths["linkedart"] = la

    paths["generic_mapping"] = root / "mapping.toml"
    paths["generic_mapping"].write_text(GENERIC_MAPPING, encoding="utf-8")
    paths["generic_csv"] = write_csv(root / "collection.csv", GENERIC_COLUMNS, GENERIC_ROWS)
    paths["generic_jsonl"] = root / "collection.jsonl"
    paths["generic_jsonl"].write_text("\n".join(
        json.dumps(dict(zip(GENERIC_COLUMNS, row, strict=True))) for row in GENERIC_ROWS) + "\n{broken\n",
        encoding="utf-8")
    paths["artuk"] = write_csv(root / "artuk.csv", ARTUK_COLUMNS, ARTUK_ROWS)

    paths["turtle"] = root / "extra.ttl"
    paths["turtle"].write_text(LINKED_ART_TURTLE, encoding="utf-8")
    paths["nquads"] = root / "extra.nq"
    paths["nquads"].write_text('<http://example.org/a> <http://example.org/p> "x" <http://example.org/g1> .\n'
                               '<http://example.org/b> <http://example.org/p> "y" .\n', encoding="utf-8")
    return paths
