"""Shapes the API server does not store as written, so `pulumi preview` would show them as a change forever."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.stagehelpers import STAGES


def _empty_maps(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("annotations", "labels") and item == {}:
                yield f"{path}.{key}"
            yield from _empty_maps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _empty_maps(item, f"{path}[{index}]")


def test_the_check_finds_an_empty_annotations_map():
    assert list(_empty_maps({"metadata": {"annotations": {}, "labels": {"a": "b"}}})) == [".metadata.annotations"]


@pytest.mark.parametrize("stage", STAGES)
def test_no_object_declares_an_empty_annotations_or_labels_map(stage, synthesized):
    found = [f"{o['kind']}/{o['metadata']['name']}{where}"
             for o in synthesized(stage).kubernetes_objects() for where in _empty_maps(o)]
    assert found == []
