"""Reading input files, with errors that name the file and the line.

Streams where the format allows (CSV, JSON Lines, gzip) so memory does not
grow with the input; whole-file JSON is capped in size.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from kgart.loaders.collection import RecordError

from kgart.errors import DataSourceError
from kgart.notation import split_codes  # noqa: F401  (re-exported for loaders)

MAX_JSON_BYTES = 1 << 30
"""Whole-file JSON (not JSON Lines) larger than this is refused rather than read into memory."""

csv.field_size_limit(16 * 1024 * 1024)


def open_text(path: Path) -> IO[str]:
    """A text stream over a file, gunzipped when it ends in ``.gz``; UTF-8 (BOM allowed)."""
    try:
        raw: IO[bytes] = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # type: ignore[assignment]  # noqa: SIM115,E501
    except OSError as e:
        raise DataSourceError(f"cannot open: {e.strerror or e}", path=str(path)) from e
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _decode_error(path: Path, e: UnicodeDecodeError, line: int | None = None) -> DataSourceError:
    """Decoding runs ahead in chunks, so find the real line by scanning the bytes."""
    found = _first_undecodable_line(path)
    return DataSourceError(f"not UTF-8 text ({e.reason}); convert the file to UTF-8",
                           path=str(path), line=found or line)


def _first_undecodable_line(path: Path) -> int | None:
    try:
        raw: IO[bytes] = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # type: ignore[assignment]  # noqa: SIM115,E501
        with raw:
            for number, line in enumerate(raw, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return number
    except (OSError, EOFError):
        return None
    return None


def csv_rows(path: Path, *, delimiter: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of a CSV file with a header row."""
    with open_text(path) as f:
        try:
            sample = f.read(64 * 1024)
        except UnicodeDecodeError as e:
            raise _decode_error(path, e, 1) from e
        except (OSError, EOFError) as e:
            raise DataSourceError(f"cannot read: {e}", path=str(path)) from e
        if not sample.strip():
            raise DataSourceError("the file is empty", path=str(path))
        if delimiter is None:
            delimiter = "\t" if sample.split("\n", 1)[0].count("\t") > sample.split("\n", 1)[0].count(",") else ","
        f.seek(0)
        reader = csv.DictReader(f, delimiter=delimiter)
        try:
            header = reader.fieldnames
            if not header or all(not (h or "").strip() for h in header):
                raise DataSourceError("no header row", path=str(path), line=1)
            duplicates = sorted({h for h in header if header.count(h) > 1})
            if duplicates:
                raise DataSourceError(f"duplicate column(s) {', '.join(duplicates)}", path=str(path), line=1)
            for row in reader:
                yield reader.line_num, {k: v for k, v in row.items() if k is not None} | (
                    {"__extra__": "1"} if None in row else {})
        except UnicodeDecodeError as e:
            raise _decode_error(path, e, reader.line_num + 1) from e
        except csv.Error as e:
            raise DataSourceError(f"malformed CSV: {e}", path=str(path), line=reader.line_num) from e
        except (OSError, EOFError) as e:
            raise DataSourceError(f"cannot read: {e}", path=str(path)) from e


def json_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line of a JSON Lines file (``.gz`` too)."""
    with open_text(path) as f:
        number = 0
        try:
            for number, line in enumerate(f, start=1):  # noqa: B007
                if line.strip():
                    yield number, line
        except UnicodeDecodeError as e:
            raise _decode_error(path, e, number + 1) from e
        except (OSError, EOFError) as e:
            raise DataSourceError(f"cannot read (truncated or corrupt file?): {e}", path=str(path),
                                  line=number + 1) from e


def json_document(path: Path, *, object_pairs_hook: Any = None) -> Any:
    """A whole JSON file, parsed; malformed JSON names the line and column."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise DataSourceError(f"cannot open: {e.strerror or e}", path=str(path)) from e
    if size > MAX_JSON_BYTES:
        raise DataSourceError(f"{size:,} bytes is too large for a whole-file JSON document; "
                              "use JSON Lines (one record a line)", path=str(path))
    with open_text(path) as f:
        try:
            return json.load(f, object_pairs_hook=object_pairs_hook)
        except json.JSONDecodeError as e:
            raise DataSourceError(f"malformed JSON: {e.msg} (column {e.colno})", path=str(path),
                                  line=e.lineno) from e
        except UnicodeDecodeError as e:
            raise _decode_error(path, e, None) from e
        except (OSError, EOFError) as e:
            raise DataSourceError(f"cannot read: {e}", path=str(path)) from e


def parse_json_record(text: str) -> Any:
    """One JSON Lines record; a malformed one is a record problem, not a file problem."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordError(f"malformed JSON: {e.msg} (column {e.colno})") from e


def split_list(value: str, separator: str = ",") -> list[str]:
    """Split a cell holding a list of words or phrases."""
    return [p.strip() for p in value.split(separator) if p.strip()]


def existing_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataSourceError("no such file or folder", path=str(p))
    return p
