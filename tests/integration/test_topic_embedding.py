"""generate_post computes missing embeddings with the runtime's embedder; given vectors win."""

from __future__ import annotations

import dataclasses

import numpy as np

from shared.bootstrap import use_runtime
from shared.core.context import unit
from shared.minilm import LazyEmbedder
from tests.support.functions import decision_of, embedding, generate


def test_the_runtime_embeds_with_the_onnx_minilm_model(runtime):
    # Built by build_runtime from the default settings (EMBEDDER=auto) in conftest.
    assert type(runtime.embedder).__name__ == "MiniLMEmbedder"


def test_a_topic_without_a_vector_is_embedded_from_its_text(runtime, functions, make_profile):
    business = make_profile()
    answer = generate(functions, business, "topic-text")
    assert answer["context_fallback"] is False
    x = decision_of(runtime, answer["post_id"])["x"]
    np.testing.assert_allclose(x[384:], unit(runtime.embedder.embed("AI tooling")), atol=1e-12)


def test_a_vector_given_by_the_caller_is_used_as_is(runtime, functions, make_profile):
    business = make_profile()
    given = embedding(42)
    answer = generate(functions, business, "topic-vector", topic_embedding=given)
    x = decision_of(runtime, answer["post_id"])["x"]
    np.testing.assert_allclose(x[384:], unit(np.asarray(given)), atol=1e-12)


def test_a_profile_without_an_embedding_is_embedded_from_its_text(runtime, functions, make_profile):
    business = make_profile(embedding=None, description="Dashboards for small teams")
    answer = generate(functions, business, "profile-text")
    assert answer["context_fallback"] is False
    x = decision_of(runtime, answer["post_id"])["x"]
    expected = runtime.embedder.embed("Acme Analytics. Technology, B2B. Software. Dashboards for small teams")
    np.testing.assert_allclose(x[:384], unit(expected), atol=1e-12)


def test_the_embedder_loads_only_when_a_function_embeds(runtime, functions, make_profile):
    lazy = LazyEmbedder("auto")
    rt = dataclasses.replace(runtime, embedders=lazy)
    use_runtime(rt)
    try:
        business = make_profile()
        # compute_reward, update_policy, record_snapshot and report never embed: MiniLM stays unloaded.
        assert functions.post("compute_reward", {"sweep": True})[0] == 200
        generate(functions, business, "with-vectors", topic_embedding=embedding(3))  # everything given
        assert not lazy.loaded
        generate(functions, business, "from-text")  # a topic without a vector: now it loads
        assert lazy.loaded and type(rt.embedder).__name__ == "MiniLMEmbedder"
    finally:
        use_runtime(runtime)
