"""The notation model: syntax, canonical form, IRIs, strict errors and lenient recovery."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kgart.errors import NotationError
from kgart.notation import Notation, notation_from_iri, notation_iri, parse_lenient, parse_notation


@pytest.mark.parametrize("text, stem, name, tail, key", [
    ("73D82", "73D82", None, "", None),
    ("11H(JEROME)", "11H", "JEROME", "", None),
    ("11HH(MARY MAGDALENE)36", "11HH", "MARY MAGDALENE", "36", None),
    ("25F23(LION)", "25F23", "LION", "", None),
    ("31D111(+89)", "31D111", None, "", "89"),
    ("25F23(LION)(+12)", "25F23", "LION", "", "12"),
    ("11H(...)", "11H", "...", "", None),
    ("83(OVID, Metamorphoses VII:453-500)", "83", "OVID, Metamorphoses VII:453-500", "", None),
    ("61F(KLOSTER MAULBRONN (Maulbronn))", "61F", "KLOSTER MAULBRONN (Maulbronn)", "", None),
    ("0", "0", None, "", None),
    ("140", "140", None, "", None),
])
def test_parse_parts(text: str, stem: str, name: str | None, tail: str, key: str | None) -> None:
    n = parse_notation(text)
    assert not n.is_compound
    assert (n.part.stem, n.part.name, n.part.tail, n.part.key) == (stem, name, tail, key)
    assert str(n) == text


def test_compound_splits_only_outside_brackets() -> None:
    n = parse_notation("61B:31A2212(+1)")
    assert [str(p) for p in n.parts] == ["61B", "31A2212(+1)"]
    assert n.is_compound
    assert [str(p) for p in parse_notation("71Y1(Prov. 20:1):25F").parts] == ["71Y1(Prov. 20:1)", "25F"]


def test_base_and_template() -> None:
    part = parse_notation("11H(JEROME)362(+1)").part
    assert part.base == "11H(JEROME)362"
    assert part.template == "11H(...)362"
    assert parse_notation("11H(...)3").part.template is None


@pytest.mark.parametrize("notation, iri", [
    ("11H(JEROME)362", "http://iconclass.org/11H%28JEROME%29362"),
    ("31D111(+89)", "http://iconclass.org/31D111%28%2B89%29"),
    ("73D82(CROWN OF THORNS)", "http://iconclass.org/73D82%28CROWN%20OF%20THORNS%29"),
    ("61B:31A2212(+1)", "http://iconclass.org/61B%3A31A2212%28%2B1%29"),
    ("73D82", "http://iconclass.org/73D82"),
])
def test_iri_as_iconclass_org_writes_it(notation: str, iri: str) -> None:
    assert notation_iri(notation) == iri
    assert Notation.parse(notation).iri == iri
    assert notation_from_iri(iri) == notation


@pytest.mark.parametrize("text, part, fragment", [
    ("", None, "empty"),
    ("73d82", "letter", "capital"),
    ("73DE2", "letter", "double the first"),
    ("73DDD", "letter", "at most two"),
    ("X73", "division", "expected a digit"),
    ("11H(JEROME", "name", "never closed"),
    ("11H()", "name", "empty name"),
    ("31D111(+8x)", "key", "digits only"),
    ("31D111(+89", "key", "unclosed"),
    ("73D8x", None, "unexpected 'x'"),
    ("11HH(THERESA)(346)", None, "at most one name"),
    ("61B:", None, "empty part"),
    ("11H( JEROME)", "name", "stray spaces"),
])
def test_strict_errors_say_which_part(text: str, part: str | None, fragment: str) -> None:
    with pytest.raises(NotationError) as info:
        parse_notation(text)
    assert fragment in str(info.value)
    assert info.value.part == part
    assert text in str(info.value) or text == ""


@pytest.mark.parametrize("messy, clean, change", [
    ("44G56 pirate, corsair, buccaneer", "44G56", "dropped text"),
    ("73D82  (CROWN OF THORNS)\n", "73D82(CROWN OF THORNS)", "spaces inside"),
    ("95A(PYRAMUS &amp; THISBE)24", "95A(PYRAMUS & THISBE)24", "HTML entities"),
    ("46C1112(+1) · ferry", "46C1112(+1)", "dropped text"),
    ("92D2228 (story of) Dike (Astraea)", "92D2228", "dropped text"),
    ("31D111(+ 89)", "31D111(+89)", "spaces inside"),
    ("73d82", "73D82", "upper-cased"),
    (" 11H(JEROME)362 ", "11H(JEROME)362", "whitespace"),
    ("61B : 31A2212(+1)", "61B:31A2212(+1)", "spaces inside"),
])
def test_lenient_recovers_and_reports(messy: str, clean: str, change: str) -> None:
    result = parse_lenient(messy)
    assert str(result.notation) == clean
    assert any(change in c for c in result.changes), result.changes


def test_lenient_changes_nothing_on_clean_input() -> None:
    assert parse_lenient("11H(JEROME)362").changes == ()


def test_lenient_still_rejects_nonsense() -> None:
    with pytest.raises(NotationError):
        parse_lenient("pirate ship")


@given(st.text(max_size=40))
def test_parser_never_crashes_otherwise(text: str) -> None:
    for parse in (parse_notation, parse_lenient):
        try:
            result = parse(text)
        except NotationError:
            continue
        notation = result if isinstance(result, Notation) else result.notation
        assert str(parse_notation(str(notation))) == str(notation)


_stems = st.from_regex(r"[0-9]{1,2}([A-Z]([A-Z])?[0-9]{0,4})?", fullmatch=True)


# Names as Iconclass writes them: words in capitals, one space apart (the strict parser
# refuses doubled spaces with "stray spaces in the bracketed name").
_names = st.from_regex(r"[A-Z]{1,5}( [A-Z]{1,5}){0,2}", fullmatch=True)


@given(_stems, st.one_of(st.none(), _names),
       st.from_regex(r"[0-9]{0,3}", fullmatch=True), st.one_of(st.none(), st.from_regex(r"[0-9]{1,3}", fullmatch=True)))
def test_round_trip(stem: str, name: str | None, tail: str, key: str | None) -> None:
    if len(stem) > 2 and stem[2:].isalpha() and len(stem) > 3 and stem[2] != stem[3] and stem[3].isalpha():
        return
    text = stem + (f"({name}){tail}" if name else "") + (f"(+{key})" if key else "")
    try:
        n = parse_notation(text)
    except NotationError:
        # Only a mismatched double letter (e.g. 11HK) may be refused.
        assert any(a.isalpha() and b.isalpha() and a != b for a, b in zip(stem, stem[1:], strict=False))
        return
    assert str(n) == text
    assert notation_from_iri(n.iri) == text
