"""The context normaliser: whitened components, a bias and the platform, laid out in x'."""

from __future__ import annotations

import numpy as np
import pytest

from shared.core.normaliser import fit_normaliser


def anisotropic(n: int, seed: int) -> np.ndarray:
    """Contexts that share one dominant direction, with the information in two small ones."""
    rng = np.random.default_rng(seed)
    shared, a, b = (rng.normal(size=768) for _ in range(3))
    return 5.0 * shared + rng.normal(size=(n, 1)) * a * 0.1 + rng.normal(size=(n, 1)) * b * 0.05


def test_whitened_components_have_zero_mean_and_unit_variance():
    xs = anisotropic(500, seed=1)
    norm = fit_normaliser(xs, rank=2, shrinkage=1e-9)
    comps = norm.components(xs)
    np.testing.assert_allclose(comps.mean(axis=0), 0.0, atol=1e-9)
    # The two informative directions, once tiny beside the shared one, now weigh alike.
    np.testing.assert_allclose(comps.var(axis=0, ddof=1), 1.0, rtol=1e-6)


def test_the_directions_are_the_principal_ones_of_the_data_each_with_a_fixed_sign():
    # More rows than the covariance sums per block, so the blocks are exercised.
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(2500, 768)) * np.linspace(2.0, 0.1, 768) + rng.normal(size=768)
    norm = fit_normaliser(xs, rank=8, shrinkage=1e-3)
    centred = xs - xs.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)  # the textbook definition
    for direction, reference in zip(norm.basis, vt[:8], strict=True):
        assert abs(direction @ reference) == pytest.approx(1.0, abs=1e-6)
        assert direction[np.argmax(np.abs(direction))] > 0
    np.testing.assert_allclose(norm.scale, 1.0 / np.sqrt(s[:8] ** 2 / (len(xs) - 1) + 1e-3), rtol=1e-8)


def test_x_prime_holds_the_components_the_bias_and_the_platform_and_zeros_after():
    xs = anisotropic(100, seed=2)
    norm = fit_normaliser(xs, rank=3, platform_weight=2.0)
    out = norm.apply(xs[0], "linkedin")
    assert out.shape == (768,)
    np.testing.assert_allclose(out[:3], norm.components(xs[0]))
    assert out[3] == 1.0
    assert out[4:8].tolist() == [0.0, 0.0, 2.0, 0.0]  # instagram, x, linkedin, facebook
    assert not np.any(out[8:])
    np.testing.assert_allclose(norm.apply(xs.mean(axis=0), "x")[:3], 0.0, atol=1e-9)


def test_the_version_is_a_content_hash():
    xs = anisotropic(100, seed=3)
    assert fit_normaliser(xs).version == fit_normaliser(xs.copy()).version
    assert fit_normaliser(xs).version != fit_normaliser(xs[:-1]).version
    assert fit_normaliser(xs).version != fit_normaliser(xs, platform_weight=1.0).version


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rank": 0}, "rank"),
        ({"rank": 101}, "rank"),
        ({"shrinkage": 0.0}, "shrinkage"),
        ({"platform_weight": -1.0}, "platform_weight"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_normaliser(anisotropic(100, seed=4), **kwargs)
