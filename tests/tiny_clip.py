"""A small randomly initialised open_clip config: it exercises the image and text code paths
without any download. Nothing about retrieval quality can be read from it."""

from __future__ import annotations

import json
from pathlib import Path

CONFIG = {"embed_dim": 32,
          "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
          "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}}


def register_tiny_clip(folder: Path, name: str) -> str:
    """Register the config with open_clip under ``name`` and return the name."""
    import open_clip

    (folder / f"{name}.json").write_text(json.dumps(CONFIG))
    open_clip.add_model_config(folder)
    return name
