"""Shared fixtures: a small Iconclass slice in its real file format, stores, the CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from kgart.loaders import load_iconclass

from kgart import bilingual_dictionaries
from kgart.iconclass import Iconclass
from kgart.store import Store
from tests.iconclass_slice import write_iconclass_slice
from tests.oxigraph_server import OxigraphServer

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# No test sees the bilingual dictionaries this machine happens to have installed: not a server
# started as a process, nor a configuration made with ``env={}`` (which looks in the usual
# folders), nor what a module's fixtures build before the per-test isolation below.
os.environ["KGART_DICTIONARIES"] = "none"
bilingual_dictionaries.SYSTEM_FOLDER = bilingual_dictionaries.USER_FOLDER = Path(__file__).parent / "no-dictionaries"


def run_kgart(args: list[str], usage_counts: str = "") -> str:
    """kgart's CLI run in-process, its output; the test fails on a non-zero exit. No usage counts
    unless given (``KGART_USAGE_COUNTS``), as a store's own training and evaluation tests need."""
    from kgart.cli import main

    result = CliRunner().invoke(main, args, env={"KGART_USAGE_COUNTS": usage_counts}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; the test is skipped when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    return path


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests see kgart's defaults, not the developer's KGART_* variables or kgart.toml."""
    for name in list(os.environ):
        if name.startswith("KGART_") and name != "KGART_FUZZ_EXAMPLES":
            monkeypatch.delenv(name)
    monkeypatch.setenv("KGART_DICTIONARIES", "none")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-user-config"))


@pytest.fixture(scope="session")
def slice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_iconclass_slice(tmp_path_factory.mktemp("iconclass-data"))


@pytest.fixture()
def store() -> Iterator[Store]:
    s = Store()
    yield s
    s.close()


@pytest.fixture()
def slice_store(slice_dir: Path) -> Store:
    s = Store()
    load_iconclass(s, data_dir=slice_dir)
    return s


@pytest.fixture()
def iconclass(slice_store: Store) -> Iconclass:
    return Iconclass(slice_store)


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """One `oxigraph serve` for the session, stopped at the end."""
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph-server")).start()
    yield server
    server.stop()
