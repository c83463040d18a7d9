"""Settings, declared once: name, default, help.

Precedence, lowest first: the defaults here < a TOML file (``--config``,
``KGART_CONFIG``, or ``kgart.toml`` in the user config folder) < ``KGART_*``
environment variables < command-line flags. ``kgart settings`` lists them all
with their current values and where each came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from kgart.errors import ConfigError

APP_NAME = "kgart"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str

    @property
    def env_var(self) -> str:
        return "KGART_" + self.name.upper()


def default_store_path() -> str:
    return str(Path(platformdirs.user_data_dir(APP_NAME)) / "store")


SETTINGS: tuple[Setting, ...] = (
    Setting("store", None,
            "Folder of the on-disk store (created when missing), or ':memory:'. "
            "Default: 'store' in the user data folder."),
    Setting("store_url", None,
            "Base URL of a remote SPARQL 1.1 server to use as the store instead of a folder "
            "(`--store http://…` does the same); e.g. http://127.0.0.1:7878 for `oxigraph serve`."),
    Setting("store_query_url", None, "SPARQL query endpoint of the remote store (default: {store_url}/query)."),
    Setting("store_update_url", None, "SPARQL update endpoint of the remote store (default: {store_url}/update)."),
    Setting("store_gsp_url", None,
            "Graph Store Protocol endpoint of the remote store (default: {store_url}/store)."),
    Setting("store_user", None, "User name for the remote store (HTTP basic auth)."),
    Setting("store_password", None, "Password for the remote store."),
    Setting("store_timeout", 60.0, "Seconds to wait for the remote store before giving up.", float),
    Setting("iconclass_data_dir", None,
            "A checkout of iconclass/data (13 languages) to load instead of the "
            "data shipped in the iconclass package (6 languages)."),
    Setting("languages", None,
            "Comma-separated languages to load Iconclass labels for; all available when unset."),
    Setting("dictionaries", None,
            "Bilingual dictionaries for queries in other languages: FreeDict dictd index files "
            "(freedict-nld-eng.index, …) or folders of them, comma-separated, or 'none'. Unset: those "
            "installed in /usr/share/dictd (apt install dict-freedict-nld-eng) or in 'dictionaries' of "
            "the user data folder."),
    Setting("label_language", "en", "Language of labels shown by commands when none is asked for."),
    Setting("model", "minilm",
            "Encoder: minilm (default, offline), minilm-plain, st:NAME_OR_PATH (sentence-transformers), "
            "clip:ARCH[:PRETRAINED_TAG_OR_CHECKPOINT] (open_clip) or trained:NAME (made by kgart train, "
            "with its learned rankers)."),
    Setting("device", None, "Where models run: cpu or cuda; CUDA when present if unset."),
    Setting("index_backend", "exact",
            "Vector index: exact (brute force over a memory-mapped matrix) or hnsw (FAISS, approximate; "
            "for collections past a million vectors)."),
    Setting("batch_size", 64, "Items encoded per batch by `kgart embed`.", int),
    Setting("blend_config", None,
            "TOML file of retrieval blend weights, over the packaged defaults (kgart/blend.toml)."),
    Setting("users_file", None,
            "JSON file of the users who may write (kgart users add); default: users.json in the store folder."),
    Setting("usage_counts", None,
            "Comma-separated notation,count CSV files for usage priors; counted from the loaded "
            "collections when unset."),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """Resolved settings; ``origin`` says where each value came from."""

    values: Mapping[str, Any]
    origin: Mapping[str, str]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def usage_count_files(self) -> list[str]:
        """The ``usage_counts`` setting as a list of CSV paths."""
        return [p.strip() for p in (self.values.get("usage_counts") or "").split(",") if p.strip()]

    @property
    def store_location(self) -> str | None:
        """The store folder or server URL, or ``None`` for an in-memory store."""
        if self.values.get("store_url") and not self.values.get("store"):
            return str(self.values["store_url"])
        store = self.values["store"]
        if store == ":memory:":
            return None
        return str(store) if store else default_store_path()


def config_file_path(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    if explicit:
        return Path(explicit)
    if env.get("KGART_CONFIG"):
        return Path(env["KGART_CONFIG"])
    candidate = Path(platformdirs.user_config_dir(APP_NAME)) / "kgart.toml"
    return candidate if candidate.exists() else None


def load_config(overrides: Mapping[str, Any] | None = None, *, config_file: str | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Resolve every setting from defaults, file, environment and ``overrides``.

    >>> load_config({"store": ":memory:"}, env={}).store_location is None
    True

    :raises ConfigError: for an unreadable file or an unknown setting in it.
    """
    env = os.environ if env is None else env
    values = {s.name: s.default for s in SETTINGS}
    origin = {s.name: "default" for s in SETTINGS}
    path = config_file_path(config_file, env)
    if path is not None:
        for name, value in _read_toml(path).items():
            values[name] = value
            origin[name] = str(path)
    for s in SETTINGS:
        if s.env_var in env and env[s.env_var] != "":
            values[s.name] = _coerce(s, env[s.env_var], s.env_var)
            origin[s.name] = s.env_var
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = _coerce(_BY_NAME[name], value, f"--{name.replace('_', '-')}")
            origin[name] = "command line"
    return Config(values, origin)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from e
    section = data.get("kgart", data)
    unknown = sorted(set(section) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(_BY_NAME)}")
    return {k: _coerce(_BY_NAME[k], v, f"{path}: {k}") for k, v in section.items()}


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    if setting.kind is str:
        return str(value)
    try:
        return setting.kind(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {value!r} is not a valid {setting.kind.__name__}") from e
