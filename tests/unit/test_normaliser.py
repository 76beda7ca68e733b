"""The context normaliser: centring and whitening of x, fitted on contexts."""

from __future__ import annotations

import numpy as np
import pytest

from shared.normaliser import fit_normaliser


def anisotropic(n: int, seed: int) -> np.ndarray:
    """Contexts that share one dominant direction, with the information in two small ones."""
    rng = np.random.default_rng(seed)
    shared, a, b = (rng.normal(size=768) for _ in range(3))
    return 5.0 * shared + rng.normal(size=(n, 1)) * a * 0.1 + rng.normal(size=(n, 1)) * b * 0.05


def test_whitened_components_have_zero_mean_and_equal_variance():
    xs = anisotropic(500, seed=1)
    norm = fit_normaliser(xs, rank=2)
    comps = norm.components(xs)
    np.testing.assert_allclose(comps.mean(axis=0), 0.0, atol=1e-9)
    # The two informative directions, once tiny, now carry equal variance (1/k each, shrinkage aside).
    np.testing.assert_allclose(comps.var(axis=0, ddof=1), 0.5, rtol=0.05)


def test_the_mean_context_maps_to_the_unit_bias_direction_orthogonal_to_the_basis():
    xs = anisotropic(100, seed=2)
    norm = fit_normaliser(xs, rank=3)
    assert norm.apply(xs[0]).shape == (768,)
    assert norm.apply(xs).shape == (100, 768)
    np.testing.assert_allclose(norm.apply(xs.mean(axis=0)), norm.offset, atol=1e-9)
    assert np.linalg.norm(norm.offset) == pytest.approx(1.0)
    np.testing.assert_allclose(norm.basis @ norm.offset, 0.0, atol=1e-9)


def test_the_version_is_a_content_hash():
    xs = anisotropic(100, seed=3)
    assert fit_normaliser(xs).version == fit_normaliser(xs.copy()).version
    assert fit_normaliser(xs).version != fit_normaliser(xs[:-1]).version


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"rank": 0}, "rank"), ({"rank": 101}, "rank"), ({"shrinkage": 0.0}, "shrinkage")]
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_normaliser(anisotropic(100, seed=4), **kwargs)
