import numpy as np

from shared.core.action_space import ActionSpace
from shared.core.policy import LoggedUpdate, PolicyParams, gradient, select, summed_step


def _updates(n: int) -> list[LoggedUpdate]:
    space = ActionSpace.load()
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        x = rng.normal(size=768)
        sel = select(space, {}, {}, x, PolicyParams(), seed=i)
        out.append(LoggedUpdate(("x", "linkedin")[i % 2], "morning", sel.choices, x, float(rng.normal())))
    return out


def test_the_summed_step_equals_applying_each_update_in_turn():
    params = PolicyParams()
    updates = _updates(7)
    dh, dtheta = summed_step(updates, params)
    h: dict[tuple[str, str, str, str], float] = {}
    theta: dict[tuple[str, str], np.ndarray] = {}
    for u in updates:
        for d in gradient(u.choices, u.advantage, params):
            key = (u.platform, u.time_bucket, d.dimension, d.value)
            h[key] = h.get(key, 0.0) + d.dh
            theta[(d.dimension, d.value)] = theta.get((d.dimension, d.value), 0.0) + d.coef * u.x
    assert dh.keys() == h.keys() and dtheta.keys() == theta.keys()
    assert all(abs(dh[k] - h[k]) < 1e-12 for k in h)
    assert all(np.allclose(dtheta[k], theta[k]) for k in theta)


def test_the_summed_step_does_not_depend_on_the_order():
    params = PolicyParams()
    updates = _updates(5)
    a_h, a_t = summed_step(updates, params)
    b_h, b_t = summed_step(list(reversed(updates)), params)
    assert all(abs(a_h[k] - b_h[k]) < 1e-12 for k in a_h)
    assert all(np.allclose(a_t[k], b_t[k]) for k in a_t)


def test_an_update_without_theta_moves_h_only():
    from dataclasses import replace

    params = PolicyParams()
    updates = _updates(6)
    h_only = [replace(u, theta=False) if i % 2 else u for i, u in enumerate(updates)]
    dh, dtheta = summed_step(h_only, params)
    all_h, _ = summed_step(updates, params)
    _, theta_of_kept = summed_step(updates[::2], params)
    assert dh.keys() == all_h.keys() and all(abs(dh[k] - all_h[k]) < 1e-12 for k in dh)
    assert dtheta.keys() == theta_of_kept.keys()
    assert all(np.array_equal(dtheta[k], theta_of_kept[k]) for k in dtheta)
    assert summed_step([replace(u, theta=False) for u in updates], params)[1] == {}
