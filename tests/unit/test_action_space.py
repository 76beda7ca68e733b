"""The action space (docs/spec.md §2): loaded from data, validated, six dimensions by default."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.core.action_space import ActionSpace, Dimension

SPEC_TABLE = {
    "HOOK_TYPE": ("question", "bold_claim", "relatable_pain", "trendy_topic", "curiosity_gap"),
    "LENGTH": ("short", "medium"),
    "TONE": ("casual", "formal", "humorous", "educational"),
    "CREATIVITY": ("safe", "balanced", "experimental"),
    "TEXT_IN_IMAGE": ("text_in_image", "no_text_in_image"),
    "VISUAL_STYLE": ("abstract", "human_figure"),
}


def space_of(*dimensions: dict[str, Any]) -> ActionSpace:
    return ActionSpace.from_dict({"dimensions": list(dimensions)})


def default_action() -> dict[str, str]:
    return {name: values[0] for name, values in SPEC_TABLE.items()}


def test_the_default_space_has_six_dimensions_and_480_combinations():
    space = ActionSpace.load()
    assert len(space.dimensions) == 6
    assert space.size == 5 * 2 * 4 * 3 * 2 * 2 == 480
    assert {d.name: d.values for d in space.dimensions} == SPEC_TABLE
    assert [d.name for d in space.dimensions] == list(SPEC_TABLE)


def test_the_default_space_has_a_label_for_every_value():
    space = ActionSpace.load()
    for d in space.dimensions:
        assert len(d.labels) == len(d.values)
        assert all(label.strip() for label in d.labels)
    assert space.dimension("HOOK_TYPE").label("question") == "Question"


def test_pairs_list_every_dimension_value_once_in_definition_order():
    space = ActionSpace.load()
    pairs = space.pairs()
    assert len(pairs) == sum(len(v) for v in SPEC_TABLE.values()) == 18
    assert len(set(pairs)) == len(pairs)
    assert pairs[0] == ("HOOK_TYPE", "question")
    assert pairs[-1] == ("VISUAL_STYLE", "human_figure")


def test_values_may_be_plain_strings_whose_labels_are_the_ids():
    space = space_of({"name": "MOOD", "values": ["calm", {"id": "loud"}, {"id": "odd", "label": "Odd one"}]})
    mood = space.dimension("MOOD")
    assert mood.values == ("calm", "loud", "odd")
    assert mood.labels == ("calm", "loud", "Odd one")
    assert mood.index("odd") == 2
    assert space.version == "custom"
    assert space.size == 3


def test_load_reads_a_definition_from_a_file(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"version": "v9", "dimensions": [{"name": "A", "values": ["x", "y"]}]}), "utf-8")
    space = ActionSpace.load(path)
    assert space.version == "v9"
    assert space.pairs() == [("A", "x"), ("A", "y")]


def test_an_unknown_dimension_is_a_key_error():
    with pytest.raises(KeyError):
        ActionSpace.load().dimension("COLOUR")


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param({"dimensions": [{"name": "A", "values": ["x", "x"]}]}, id="duplicate-value"),
        pytest.param({"dimensions": [{"name": "A", "values": ["x", {"id": "x", "label": "X"}]}]}, id="duplicate-id"),
        pytest.param({"dimensions": [{"name": "A", "values": ["x", "BoldClaim"]}]}, id="camel-case-value"),
        pytest.param({"dimensions": [{"name": "A", "values": ["x", "bold-claim"]}]}, id="kebab-case-value"),
        pytest.param({"dimensions": [{"name": "A", "values": ["x", "bold claim"]}]}, id="value-with-space"),
        pytest.param({"dimensions": [{"name": "A", "values": ["x", "1st"]}]}, id="value-starting-with-digit"),
        pytest.param({"dimensions": [{"name": "A", "values": ["x", ""]}]}, id="empty-value"),
        pytest.param({"dimensions": [{"name": "A", "values": ["x", "a" * 65]}]}, id="value-too-long"),
        pytest.param({"dimensions": [{"name": "A", "values": ["only"]}]}, id="one-value"),
        pytest.param({"dimensions": [{"name": "A", "values": []}]}, id="no-values"),
        pytest.param({"dimensions": [{"name": "hook_type", "values": ["x", "y"]}]}, id="lower-case-dimension"),
        pytest.param({"dimensions": [{"name": "HOOK-TYPE", "values": ["x", "y"]}]}, id="kebab-dimension"),
        pytest.param(
            {"dimensions": [{"name": "A", "values": ["x", "y"]}, {"name": "A", "values": ["z", "w"]}]},
            id="duplicate-dimension",
        ),
        pytest.param({"dimensions": []}, id="no-dimensions"),
    ],
)
def test_invalid_definitions_are_rejected(definition):
    with pytest.raises(ValueError):
        ActionSpace.from_dict(definition)


def test_a_dimension_needs_one_label_per_value():
    with pytest.raises(ValueError):
        Dimension(name="A", values=("x", "y"), labels=("X",))


def test_validate_action_accepts_one_value_per_dimension():
    space = ActionSpace.load()
    space.validate_action(default_action())
    space.validate_action({name: values[-1] for name, values in SPEC_TABLE.items()})


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda a: a.pop("TONE"), id="missing-dimension"),
        pytest.param(lambda a: a.update(COLOUR="red"), id="extra-dimension"),
        pytest.param(lambda a: a.update(TONE="sarcastic"), id="unknown-value"),
        pytest.param(lambda a: a.update(TONE="short"), id="value-of-another-dimension"),
        pytest.param(lambda a: a.update(TONE="Casual"), id="label-instead-of-id"),
    ],
)
def test_validate_action_rejects_malformed_actions(change):
    action = default_action()
    change(action)
    with pytest.raises(ValueError):
        ActionSpace.load().validate_action(action)
