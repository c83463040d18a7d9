"""kgart: a linked-data knowledge-graph retrieval server for art history.

The library is importable on its own; the CLI (``kgart``) and the web app are
thin layers over it::

    from kgart.store import Store
    from kgart.loaders import load_iconclass
    from kgart.iconclass import Iconclass

    store = Store("my-store")
    load_iconclass(store)
    Iconclass(store).label("11H(JEROME)362", "de")
"""

__version__ = "0.1.0"
