"""Who may write: curators with tokens, kept in a small JSON file beside the store.

Not in the store itself: SPARQL reads are public, and a token's hash has no
business in a public graph. A token is 32 random bytes shown once by
``kgart users add``; only its SHA-256 is kept (a random token needs no slow
password hash: nothing short enough to guess exists to guess). The file is
re-read when it changes, so a running server sees a new user at once; with no
user in it the server stays read-only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kgart.errors import ConfigError, KgartError
from kgart.rdf import IRI, USER_BASE

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
USERS_FILE = "users.json"


@dataclass(frozen=True)
class User:
    name: str
    editor: bool = False  # an editor may change or delete anyone's annotations

    @property
    def iri(self) -> IRI:
        return IRI(USER_BASE + quote(self.name, safe=""))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Users:
    """The accounts of one store; ``Users(None)`` keeps them in memory (tests, ``:memory:`` stores)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self._data: dict[str, Any] = {"users": {}}
        self._stamp: tuple[int, int] | None = None

    # -- reading -----------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if self.path is None:
            return self._data
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._data, self._stamp = {"users": {}}, None
            return self._data
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
                    raise ValueError("no users table")
            except (OSError, ValueError) as e:
                raise ConfigError(f"the users file {self.path} cannot be read ({e}); "
                                  "fix or remove it (kgart users add recreates it)") from e
            self._data, self._stamp = data, stamp
        return self._data

    def all(self) -> list[User]:
        return [User(name, bool(entry.get("editor"))) for name, entry in sorted(self._load()["users"].items())]

    @property
    def configured(self) -> bool:
        """Whether anyone may write (no users: the server is read-only)."""
        return bool(self._load()["users"])

    def by_token(self, token: str) -> User | None:
        """The user a bearer token belongs to (compared in constant time)."""
        if not token or len(token) > 200:
            return None
        wanted = _digest(token)
        found = None
        for name, entry in self._load()["users"].items():
            if hmac.compare_digest(str(entry.get("sha256", "")), wanted):
                found = User(name, bool(entry.get("editor")))
        return found

    def login(self, name: str, token: str) -> User | None:
        """The user when ``token`` is ``name``'s (the login form's check)."""
        user = self.by_token(token)
        return user if user is not None and user.name == name else None

    def get(self, name: str) -> User | None:
        entry = self._load()["users"].get(name)
        return User(name, bool(entry.get("editor"))) if entry is not None else None

    def secret_key(self) -> bytes:
        """The key that signs session cookies: made once and kept in the file, so every
        worker and every restart accepts the same sessions."""
        data = self._load()
        if not data.get("secret"):
            data["secret"] = secrets.token_hex(32)
            self._save(data)
        return bytes.fromhex(data["secret"])

    # -- writing -----------------------------------------------------------------------

    def add(self, name: str, *, editor: bool = False) -> str:
        """Create a user; returns the token (shown once, never stored).

        :raises KgartError: for a bad name or one that is taken.
        """
        if not USER_NAME.match(name):
            raise KgartError(f"a user name is 1–64 letters, digits, '.', '_' or '-', starting with a letter "
                             f"or digit; not {name[:80]!r}")
        data = self._load()
        if name in data["users"]:
            raise KgartError(f"there is already a user {name!r} (kgart users remove {name} first)")
        token = secrets.token_urlsafe(32)
        data["users"][name] = {"sha256": _digest(token), "editor": editor,
                               "created": datetime.now(UTC).isoformat(timespec="seconds")}
        data.setdefault("secret", secrets.token_hex(32))
        self._save(data)
        return token

    def remove(self, name: str) -> bool:
        data = self._load()
        if data["users"].pop(name, None) is None:
            return False
        self._save(data)
        return True

    def _save(self, data: dict[str, Any]) -> None:
        self._data = data
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        stat = self.path.stat()
        self._stamp = (stat.st_mtime_ns, stat.st_size)


def users_path(store_location: str | None, configured: str | None = None) -> Path | None:
    """Where the users of a store live: the ``users_file`` setting, else beside an on-disk
    store; for a remote store, in the user data folder; in memory for ``:memory:``."""
    if configured:
        return Path(configured)
    if store_location is None:
        return None
    if store_location.startswith(("http://", "https://")):
        import platformdirs

        slug = hashlib.sha256(store_location.encode()).hexdigest()[:12]
        return Path(platformdirs.user_data_dir("kgart")) / f"users-{slug}.json"
    return Path(store_location) / USERS_FILE
