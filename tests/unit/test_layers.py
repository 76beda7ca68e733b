"""The layers' import contract (devtools/layers.py, run by `make lint`)."""

from __future__ import annotations

import pytest

from devtools.layers import breaches, check


def test_the_tree_keeps_its_layers():
    assert [str(b) for b in check()] == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("shared.core.policy", "import psycopg\n"),
        ("shared.core.policy", "from psycopg import sql\n"),
        ("shared.core.reward", "from shared.store.db import Conn\n"),
        ("shared.core.reward", "from shared import store\n"),
        ("shared.dashboard.view", "import flask\n"),
        ("shared.store.posts", "from shared.services import rewards\n"),
        ("shared.store.posts", "from shared.tasks.cloud import CloudTasksSink\n"),
        ("shared.services.rewards", "import functions.compute_reward\n"),
    ],
)
def test_an_import_across_the_layers_is_a_breach(module, source):
    found = breaches(source, module)
    assert len(found) == 1 and found[0].module == module


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("shared.core.policy", "import math\nimport numpy as np\nfrom numpy.typing import NDArray\n"),
        ("shared.core.policy", "from shared.core.context import FloatArray\nfrom shared.core import reward\n"),
        (
            "shared.dashboard.view",
            "from shared.core.policy import select\nfrom shared.dashboard.data import RewardDay\n",
        ),
        ("shared.store.posts", "import psycopg\nfrom shared.core.policy import Selection\n"),
        ("shared.services.rewards", "from shared.store import rewards\nfrom shared.tasks.model import Task\n"),
    ],
)
def test_imports_within_the_rules_pass(module, source):
    assert breaches(source, module) == []
