"""generate_post computes missing embeddings with the runtime's embedder; given vectors win."""

from __future__ import annotations

import dataclasses
import uuid

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


def test_a_profile_saved_without_an_embedding_gets_its_texts_and_decisions_use_it(runtime, functions):
    from shared.core.profile import Profile
    from shared.services.profiles import save_profiles
    from shared.store.profiles import get_profile

    plain = Profile(business_id=uuid.uuid4(), name="Acme Analytics", description="Dashboards for small teams")
    given = dataclasses.replace(plain, business_id=uuid.uuid4(), embedding=np.asarray(embedding(7)))
    unembedded = dataclasses.replace(plain, business_id=uuid.uuid4())
    save_profiles(runtime.db, [plain, given], runtime.embedders)
    save_profiles(runtime.db, [unembedded])  # no embedder at hand: stored without, embedded at decision time
    with runtime.db.statement() as conn:
        stored = {p.name + str(i): get_profile(conn, p.business_id) for i, p in enumerate((plain, given, unembedded))}
    expected = runtime.embedder.embed("Acme Analytics. Dashboards for small teams")
    first, kept, later = stored.values()
    assert first is not None and kept is not None and later is not None and first.embedding is not None
    np.testing.assert_allclose(first.embedding, expected, atol=1e-12)
    np.testing.assert_array_equal(kept.embedding, given.embedding)  # a given vector is kept
    assert later.embedding is None
    xs = [
        decision_of(runtime, generate(functions, p.business_id, f"saved-{i}")["post_id"])["x"][:384]
        for i, p in enumerate((plain, unembedded))
    ]
    np.testing.assert_allclose(xs[0], unit(expected), atol=1e-12)
    np.testing.assert_allclose(xs[1], xs[0], atol=1e-12)  # the same text, embedded at decision time
