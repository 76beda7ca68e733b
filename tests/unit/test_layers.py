"""The layers' import contract (devtools/layers.py, run by `make lint`)."""

from __future__ import annotations

import pytest

from devtools.layers import breaches, check, check_names, http_functions, name_clashes


def test_the_tree_keeps_its_layers():
    assert [str(b) for b in check()] == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("shared.core.policy", "import psycopg\n"),
        ("shared.core.policy", "from psycopg import sql\n"),
        ("shared.core.reward", "from shared.store.db import Conn\n"),
        ("shared.core.reward", "from shared import store\n"),
        ("shared.presentation.view", "import flask\n"),
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
            "shared.presentation.view",
            "from shared.core.policy import select\nfrom shared.presentation.data import RewardDay\n",
        ),
        ("shared.store.posts", "import psycopg\nfrom shared.core.policy import Selection\n"),
        ("shared.services.rewards", "from shared.store import rewards\nfrom shared.core.tasks import Task\n"),
    ],
)
def test_imports_within_the_rules_pass(module, source):
    assert breaches(source, module) == []


def test_no_module_redefines_an_http_functions_name():
    assert check_names() == []


def test_a_service_named_like_an_http_function_is_a_clash():
    reserved = http_functions()
    assert {"generate_post", "compute_reward", "record_snapshot", "update_policy", "report"} <= reserved
    source = "def generate_post(command):\n    return command\n\ndef create_post(command):\n    return command\n"
    found = name_clashes(source, "shared.services.generation", reserved)
    assert found == ["shared.services.generation:1 defines generate_post, the name of an HTTP function"]
