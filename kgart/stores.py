"""Open the store the settings name: a folder, memory, or a remote SPARQL server."""

from __future__ import annotations

from kgart.errors import StoreLockedError
from kgart.remote_store import RemoteStore
from kgart.settings import Config
from kgart.store import Store
from kgart.triplestore import TripleStore


def is_remote(location: str | None) -> bool:
    return bool(location) and str(location).startswith(("http://", "https://"))


def open_store(config: Config, *, write: bool = False, shared: bool = False) -> TripleStore:
    """The configured store. A folder locked by another process opens read-only for
    reading commands; writing commands get :class:`StoreLockedError`. ``shared``: a server
    worker's store, which takes the writer's lock only for each write (see kgart.store)."""
    location = config.store_location
    if is_remote(location):
        assert location is not None
        return RemoteStore(location, query_url=config.store_query_url, update_url=config.store_update_url,
                           gsp_url=config.store_gsp_url, user=config.store_user,
                           password=config.store_password, timeout=config.store_timeout)
    if shared and location:
        return Store(location, shared=True)
    try:
        return Store(location)
    except StoreLockedError:
        if write:
            raise
        return Store(location, read_only=True)
